#!/bin/sh
# udhcpc hook for test workloads: configure eth0 from the lease inside the namespace only,
# and record the DNS servers in $DNS_FILE (never the machine's /etc/resolv.conf).
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}"
    [ -n "$DNS_FILE" ] && echo "$dns" > "$DNS_FILE"
    ;;
esac
exit 0
