"""New flows set up per second: the vrfabric XDP flow table deciding each flow's first packet
from compiled policy, versus the Linux kernel's conntrack with an equivalent nftables rule
set, between workloads (namespaces) on one host, with the same generator (vr-trafficgen
new-flows: every packet has another UDP port pair, so every packet is a new flow), and the
rule set padded to N rules. Counts what the receiving workload got.

usage: flow_setup.py BUILD_DIR [PACKETS]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from harness import IP, Fabric, Workload, sh  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
PACKETS = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
GEN = f"{BUILD}/bench/forwarder/vr-trafficgen"
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def rx(ns):
    return int(sh("cat", "/sys/class/net/eth0/statistics/rx_packets", ns=ns).stdout)


def blast(src_ns, dst_mac, src_mac, src_ip, dst_ip, dst_ns):
    before = rx(dst_ns)
    sent, secs = sh(GEN, src_ns, "eth0", dst_mac, src_mac, src_ip, dst_ip, PACKETS, "new-flows", timeout=600).stdout.split()
    sh("sleep", "0.5")
    return int(sent), rx(dst_ns) - before, float(secs)


def ours(n):
    with Fabric(2, agent_bin=f"{BUILD}/daemon/vr-agent", direct=True) as f:
        h = f.hosts[0]
        h.api("vrf.add", name="red", vni=100)
        w1 = Workload(h, "red", "a", A, ["10.1.1.10/24"])
        w2 = Workload(h, "red", "b", B, ["10.1.1.11/24"])
        rules = [{"src_epg": 1, "dst_epg": 2, "proto": 17, "port": 10000, "port_len": 12, "action": "pass", "rule_id": 1}]
        rules += [{"src_epg": 100 + i % 97, "dst_epg": 200 + i // 97, "proto": 17, "port": 1 + i, "port_len": 16,
                   "action": "pass", "rule_id": i + 2} for i in range(n - 1)]
        h.api("policy.apply", policy={"epgs": [{"vrf": "red", "prefix": "10.1.1.10/32", "epg": 1},
                                              {"vrf": "red", "prefix": "10.1.1.11/32", "epg": 2}], "rules": rules})
        result = blast(w1.ns, B, A, "10.1.1.10", "10.1.1.11", w2.ns)
        c = h.counters()
        assert c["flow_new"] >= result[1] * 0.9, f"the packets were not new flows: {c}"
        return result


def kernel(n):
    with Fabric(2, direct=True) as f:
        h = f.hosts[0]
        nss = []
        for i, (mac, addr, gw) in enumerate(((A, "10.1.1.10/24", "10.1.1.1"), (B, "10.1.2.11/24", "10.1.2.1"))):
            ns = f"{f.prefix}-k{i}"
            f.track_ns(ns)
            sh(IP, "netns", "add", ns)
            sh(IP, "link", "add", f"wl{i}", "type", "veth", "peer", "name", "eth0", "netns", ns, ns=h.name)
            sh(IP, "addr", "add", gw + "/24", "dev", f"wl{i}", ns=h.name)
            sh(IP, "link", "set", f"wl{i}", "up", ns=h.name)
            sh("ethtool", "-K", f"wl{i}", "gro", "on", ns=h.name)  # takes the generator's XDP_TX frames
            sh(IP, "link", "set", "eth0", "address", mac, "up", ns=ns)
            sh(IP, "addr", "add", addr, "dev", "eth0", ns=ns)
            sh(IP, "route", "add", "default", "via", gw, ns=ns)
            nss.append(ns)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=h.name)
        # The burst is over before ARP would finish: resolve the receiver beforehand.
        sh(IP, "neigh", "replace", "10.1.2.11", "lladdr", B, "dev", "wl1", "nud", "permanent", ns=h.name)
        fillers = "\n".join(f"    ip saddr 172.16.{i // 250}.{i % 250 + 1} udp dport {1 + i} accept" for i in range(n - 1))
        ruleset = f"""table inet vrbench {{
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
{fillers}
    ip saddr 10.1.1.10 ip daddr 10.1.2.11 udp dport 10000-10015 ct state new accept
  }}
}}
"""
        path = os.path.join(f.tmp, "rules.nft")
        with open(path, "w") as fh:
            fh.write(ruleset)
        sh("nft", "-f", path, ns=h.name)
        gw_mac = sh("cat", "/sys/class/net/wl0/address", ns=h.name).stdout.strip()
        result = blast(nss[0], gw_mac, A, "10.1.1.10", "10.1.2.11", nss[1])
        count = int(sh("cat", "/proc/sys/net/netfilter/nf_conntrack_count", ns=h.name).stdout)
        assert count >= result[1] * 0.5, f"conntrack did not track the flows ({count})"
        return result


def main():
    print(f"\nNew flows per second, {PACKETS} packets that are each a new UDP flow, one sender core")
    print(f"{'rules':>6} {'vrfabric flows/s':>17} {'delivered':>10} {'kernel conntrack+nft flows/s':>29} {'delivered':>10} {'ratio':>6}")
    for n in (10, 1000, 10000):
        s1, g1, t1 = ours(n)
        s2, g2, t2 = kernel(n)
        print(f"{n:>6} {g1 / t1:>17,.0f} {g1:>10} {g2 / t2:>29,.0f} {g2:>10} {(g1 / t1) / (g2 / t2):>5.1f}x")


if __name__ == "__main__":
    main()
