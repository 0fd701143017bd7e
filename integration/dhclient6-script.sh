#!/bin/sh
# dhclient -6 hook for test workloads: put the leased address on the interface, inside the
# namespace only (never the machine's resolv.conf).
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    ip -6 addr replace "$new_ip6_address/64" dev "$interface" nodad ;;
esac
exit 0
