"""Network policy between virtual networks, applied with vrctl and enforced with real TCP over
IPv4 and IPv6. A policy attached to both "front" and "back" passes TCP from front to back on
port 8080: the two networks' routes are leaked into each other's VRF (as in Tungsten
Fabric), so front reaches back on that port, across hosts and on the same host, and the
replies come back; other ports, the reverse direction and a third, unconnected network are
refused. Traffic inside a network is not touched by the policy. Then the rule is changed to
mirror what it passes to an analyzer workload: existing flows are decided again, and the
analyzer receives copies of both directions (checked with tcpdump and tshark), also of flows
that never touch its host (relayed by the agents), while traffic the rule does not decide is
not copied.

usage: test_network_policy.py VR_AGENT VRCTL VR_CONTROLLER
"""
import os
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_end_to_end as e2e  # noqa: E402  (controller and agent set-up)
from harness import IP, sh, wait_for  # noqa: E402

NETS = {"front": ("10.31.0.0/24", "fd00:31::/64"), "back": ("10.32.0.0/24", "fd00:32::/64"),
        "other": ("10.33.0.0/24", "fd00:33::/64")}
# name: (network, host, IPv4, IPv6). f1 and b2 share host 1: routed between VRFs without a tunnel.
WORKLOADS = {"f1": ("front", 1, "10.31.0.10", "fd00:31::10"), "f2": ("front", 2, "10.31.0.11", "fd00:31::11"),
             "b1": ("back", 2, "10.32.0.20", "fd00:32::20"), "b2": ("back", 1, "10.32.0.21", "fd00:32::21"),
             "o1": ("other", 1, "10.33.0.30", "fd00:33::30"), "an": ("other", 1, "10.33.0.40", "fd00:33::40")}
PORTS = (22, 8080)
GATEWAY_LL = "fe80::200:5eff:fe00:100"  # the distributed gateway's link-local address


def documents(p, mirror=False):
    policy = f"default-domain:{p}:front-to-back"
    analyzer = f"\n    mirror_to: default-domain:{p}:an-eth0" if mirror else ""
    docs = [f"kind: project\nfq_name: default-domain:{p}",
            f"kind: network-ipam\nfq_name: default-domain:{p}:ipam\nipam_method: dhcp",
            f"kind: network-policy\nfq_name: {policy}\nrules:\n"
            f"  - direction: \">\"\n    protocol: tcp\n    src_networks: [default-domain:{p}:front]\n"
            f"    dst_networks: [default-domain:{p}:back]\n    dst_ports: [{{start_port: 8080, end_port: 8080}}]\n"
            f"    action: pass{analyzer}"]
    for net, (v4, v6) in NETS.items():
        refs = (f"\nnetwork_policy_refs:\n  - to: {policy}\n    attr: {{sequence: \"1.0\"}}"
                if net != "other" else "")
        docs.append(f"kind: virtual-network\nfq_name: default-domain:{p}:{net}\nnetwork_ipam_refs:\n"
                    f"  - to: default-domain:{p}:ipam\n    attr:\n      ipam_subnets:\n"
                    f"        - subnet: {v4}\n        - subnet: {v6}{refs}")
    for name, (net, host, v4, v6) in WORKLOADS.items():
        docs += e2e.workload_documents(p, name, net, host, (v4, v6))
    return "\n---\n".join(docs) + "\n"


def setUpModule():
    e2e.WORKLOADS = [(n, net, h) for n, (net, h, _, _) in WORKLOADS.items()]
    e2e.setUpModule()


def tearDownModule():
    e2e.tearDownModule()


def routes(host, net):
    return {r["prefix"] for r in host.api("route.list", vrf=f"default-domain:{e2e.fabric.prefix}:{net}")}


def connects(src, dst, port, v6=False):
    return e2e.connects(src, WORKLOADS[dst][3 if v6 else 2], port)


def tcp_packets(pcap):
    """(src, dst, sport, dport, syn, ack) of each TCP packet in the capture, decoded by tshark."""
    out = set()
    for line in sh("tshark", "-r", pcap, "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ipv6.src",
                   "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags.syn",
                   "-e", "tcp.flags.ack", "-Y", "tcp").stdout.split():
        s4, s6, d4, d6, sport, dport, syn_flag, ack = line.split(",")
        out.add((s4 or s6, d4 or d6, int(sport), int(dport), syn_flag in ("1", "True"), ack in ("1", "True")))
    return out


def syn(seen, src, dst, v6=False):
    a, b = WORKLOADS[src][3 if v6 else 2], WORKLOADS[dst][3 if v6 else 2]
    return any(s == a and d == b and dp == 8080 and sy and not ak for s, d, _, dp, sy, ak in seen)


def syn_ack(seen, src, dst):
    a, b = WORKLOADS[src][2], WORKLOADS[dst][2]
    return any(s == a and d == b and sp == 8080 and sy and ak for s, d, sp, _, sy, ak in seen)


class NetworkPolicy(unittest.TestCase):
    def test_1_policy_connects_two_networks_on_its_port_only(self):
        fabric = e2e.fabric
        e2e.apply_yaml(documents(fabric.prefix), "netpolicy.yaml")
        for name, (net, _, v4, v6) in WORKLOADS.items():
            e2e.wait_for_interface(name)
            self.assertEqual(e2e.dhcp(name), v4)  # the lease's router is the network's gateway
            sh(IP, "-6", "addr", "add", f"{v6}/64", "dev", "eth0", "nodad", ns=e2e.ns(name))
            for port in PORTS:
                for fam in ("-4", "-6"):
                    e2e.listen(name, port, fam)
        # The IPv6 default route comes from the agent's router advertisements.
        wait_for("IPv6 default routes", lambda: all(f"via {GATEWAY_LL} dev eth0" in sh(
            IP, "-6", "route", "show", "default", ns=e2e.ns(n)).stdout for n in WORKLOADS))
        wait_for("the listeners", lambda: all(
            sh("ss", "-ltn", ns=e2e.ns(n)).stdout.count(":8080") >= 2 for n in WORKLOADS))
        h1 = fabric.hosts[0]
        back = {f"{a}/{32 if ':' not in a else 128}" for n, (net, _, *addrs) in WORKLOADS.items()
                if net == "back" for a in addrs}
        front = {f"{a}/{32 if ':' not in a else 128}" for n, (net, _, *addrs) in WORKLOADS.items()
                 if net == "front" for a in addrs}
        # Leaked routes: back's workloads (local b2 and remote b1) in front's VRF, and back.
        wait_for("back's routes in front's VRF", lambda: back <= routes(h1, "front"))
        wait_for("front's routes in back's VRF", lambda: front <= routes(h1, "back"))
        self.assertFalse((back | front) & routes(h1, "other"), "the unconnected network learnt routes")

        self.assertTrue(connects("f1", "b2", 8080))
        # The same-host flow was decided in front's VRF; its second entry waits in back's,
        # where b2's replies are looked up.
        p = f"default-domain:{fabric.prefix}:"
        b2 = f"{WORKLOADS['b2'][2]}:8080"
        flows = h1.api("flow.list", address=WORKLOADS["b2"][2])
        self.assertTrue(any(f["vrf"] == p + "front" and f["dst"] == b2 and f["other_vrf"] == p + "back"
                            and f["action"] == "pass" for f in flows), flows)
        self.assertTrue(any(f["vrf"] == p + "back" and f["dst"] == b2 and f["other_vrf"] == p + "front"
                            and f["action"] == "pass" for f in flows), flows)

        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            self.assertTrue(connects("f1", "b1", 8080, v6), f"{fam}: front reaches back across hosts")
            self.assertTrue(connects("f1", "b2", 8080, v6), f"{fam}: front reaches back on the same host")
            self.assertTrue(connects("f2", "b2", 8080, v6), f"{fam}: front reaches back from the other host")
            self.assertFalse(connects("f1", "b1", 22, v6), f"{fam}: but not on another port")
            self.assertFalse(connects("f1", "b2", 22, v6), f"{fam}: nor on the same host")
            self.assertFalse(connects("b1", "f2", 8080, v6), f"{fam}: back does not open flows to front")
            self.assertFalse(connects("b2", "f1", 8080, v6), f"{fam}: nor on the same host")
            self.assertFalse(connects("o1", "b2", 8080, v6), f"{fam}: the unconnected network has no way in")
            self.assertTrue(connects("f1", "f2", 22, v6), f"{fam}: inside a network, the policy does not apply")
        self.assertGreater(sum(h.counters()["drop_policy"] for h in fabric.hosts), 0)
        # "other" has no policy of its own: its interfaces skip the flow table.
        self.assertEqual(sh("ping", "-c1", "-W1", WORKLOADS["an"][2], ns=e2e.ns("o1"), check=False).returncode, 0)
        self.assertEqual(h1.api("flow.list", address=WORKLOADS["o1"][2]), [], "o1 went through the flow table")
        # Each agent holds only what its own networks need; host 3 has no workload and no policy.
        shown = [h.api("policy.show") for h in fabric.hosts]
        self.assertEqual([len(p["interfaces_under_policy"].split()) for p in shown[:2]], [2, 2], shown)
        self.assertLess(shown[1]["endpoint_groups"], shown[0]["endpoint_groups"], "host 2 got other's groups")
        self.assertEqual(shown[2]["interfaces_under_policy"], "none", shown)
        self.assertIn("endpoint_groups", fabric.hosts[0].vrctl("show", "policy").stdout)

    def test_2_mirror_copies_what_the_rule_passes_to_the_analyzer(self):
        fabric = e2e.fabric
        h1 = fabric.hosts[0]
        e2e.apply_yaml(documents(fabric.prefix, mirror=True), "netpolicy-mirror.yaml")
        b2 = WORKLOADS["b2"][2]
        wait_for("flows to be mirrored", lambda: connects("f1", "b2", 8080) and any(
            f["action"] == "mirror" and "mirrored to an-eth0" in f["decided_by"]
            for f in h1.api("flow.list", address=b2)))
        pcap = os.path.join(fabric.tmp, "analyzer.pcap")
        cap = subprocess.Popen([IP, "netns", "exec", e2e.ns("an"), "tcpdump", "-i", "eth0", "--immediate-mode", "-U",
                                "-n", "-w", pcap, "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for("tcpdump", lambda: os.path.exists(pcap) and os.path.getsize(pcap) > 0)
            before = h1.counters()["mirrored"]
            for src, dst, port, v6 in (("f1", "b2", 8080, False), ("f1", "b2", 8080, True), ("f1", "b1", 8080, False),
                                       ("f2", "b2", 8080, False), ("f2", "b1", 8080, False), ("f1", "f2", 22, False)):
                self.assertTrue(connects(src, dst, port, v6), f"{src} -> {dst}:{port}")
            wait_for("copies at the analyzer", lambda: all(
                syn(tcp_packets(pcap), src, dst) for src, dst in (("f1", "b2"), ("f1", "b1"), ("f2", "b2"), ("f2", "b1"))))
        finally:
            cap.send_signal(signal.SIGINT)
            cap.wait(10)
        self.assertGreater(h1.counters()["mirrored"] - before, 0)
        seen = tcp_packets(pcap)
        self.assertTrue(syn(seen, "f1", "b2"), f"same host: the SYN was copied: {sorted(seen)}")
        self.assertTrue(syn_ack(seen, "b2", "f1"), "and the reply, from the return entry")
        self.assertTrue(syn(seen, "f1", "b2", v6=True), "IPv6 too")
        self.assertTrue(syn(seen, "f1", "b1"), "leaving for another host: copied where it entered")
        self.assertTrue(syn(seen, "f2", "b2"), "arriving from another host: copied where it is delivered")
        self.assertTrue(syn(seen, "f2", "b1"), "all on host 2: copied there and relayed to the analyzer's host")
        self.assertFalse(any(dp == 22 or sp == 22 for _, _, sp, dp, _, _ in seen), "a flow the rule does not decide was copied")

if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
