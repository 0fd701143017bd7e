"""Bad input on real interfaces: malformed and unknown tunnel packets arriving on the fabric,
junk from a workload, bad local-API requests and vrctl arguments. Each is dropped or
refused with a specific reason, and the agent keeps forwarding. Then SIGTERM: the agent
removes everything it attached and created.

usage: test_bad_input.py VR_AGENT VRCTL
"""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packets as P  # noqa: E402
from harness import IP, Fabric, Workload, sh  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT, VRCTL = sys.argv[1], sys.argv[2]
ROUTER_MAC = "00:00:5e:00:01:00"

fabric = None
w1 = w2 = None


def setUpModule():
    global fabric, w1, w2
    fabric = Fabric(2, agent_bin=AGENT, vrctl_bin=VRCTL)
    h1, h2 = fabric.hosts
    for h in fabric.hosts:
        h.api("vrf.add", name="red", vni=100)
        h.api("route.add", vrf="red", prefix="10.1.1.1/32", nexthop="receive")
    w1 = Workload(h1, "red", "w1", "02:00:00:00:00:01", ["10.1.1.2/24"], ["10.1.1.1"])
    w2 = Workload(h2, "red", "w2", "02:00:00:00:00:02", ["10.1.1.3/24"], ["10.1.1.1"])
    h1.api("endpoint.add", vrf="red", mac=w2.mac, ips=["10.1.1.3"], remote=h2.fabric_ip, label=w2.label)
    h2.api("endpoint.add", vrf="red", mac=w1.mac, ips=["10.1.1.2"], remote=h1.fabric_ip, label=w1.label)


def tearDownModule():
    fabric.close()


def link_mac(ns, ifname):
    return open_in(ns, f"/sys/class/net/{ifname}/address").strip()


def open_in(ns, path):
    return sh("cat", path, ns=ns).stdout


def inject(ns, ifname, frames):
    sh(sys.executable, os.path.join(HERE, "inject.py"), ifname, *[f.hex() for f in frames], ns=ns)


class BadInput(unittest.TestCase):
    def assert_dropped(self, host, sender_ns, ifname, frame, reason, what):
        before = host.counters()
        inject(sender_ns, ifname, [frame] * 3)
        # The frames are forwarded by a bridge first; give them a moment.
        for _ in range(50):
            if host.counters()[reason] - before[reason] >= 3:
                break
            sh("sleep", "0.05")
        after = host.counters()
        self.assertEqual(after[reason] - before[reason], 3, f"{what}: expected 3 drops counted as {reason}")
        self.assertEqual(after["fwd_local"], before["fwd_local"], f"{what}: something was delivered")

    def test_1_malformed_tunnel_packets_from_the_fabric(self):
        h1, h2 = fabric.hosts
        dst, src = link_mac(h1.name, "fab0"), link_mac(h2.name, "fab0")
        inner = P.eth(w1.mac, w2.mac, 0x0800) + P.ipv4("10.1.1.3", "10.1.1.2", 1, P.icmp_echo())

        def outer(proto, l4):
            return P.eth(dst, src, 0x0800) + P.ipv4(h2.fabric_ip, h1.fabric_ip, proto, l4)

        cases = [
            ("unknown VNI", outer(17, P.udp(50000, 4789, P.vxlan(4242, inner))), "drop_unknown_vni"),
            ("VXLAN without I flag", outer(17, P.udp(50000, 4789, P.vxlan(100, inner, flags=0))), "drop_bad_vxlan"),
            ("VXLAN truncated", outer(17, P.udp(50000, 4789, b"\x08\x00\x00")), "drop_truncated"),
            ("unknown MPLS label", outer(17, P.udp(50000, 6635, P.mpls(999, inner))), "drop_unknown_label"),
            ("MPLS not bottom of stack", outer(17, P.udp(50000, 6635, P.mpls(w1.label, inner, bos=False))),
             "drop_bad_mpls"),
            ("GRE with checksum flag", outer(47, P.gre(0x8847, P.mpls(w1.label, inner), flags=0x8000)), "drop_bad_gre"),
            ("MPLSoGRE without inner frame", outer(47, P.gre(0x8847, P.mpls(w1.label, b"\x00" * 6))), "drop_truncated"),
        ]
        for what, frame, reason in cases:
            with self.subTest(what):
                self.assert_dropped(h1, h2.name, "fab0", frame, reason, what)

    def test_2_junk_from_a_workload(self):
        h1 = fabric.hosts[0]
        cases = [
            ("non-IP ethertype", P.eth(w2.mac, w1.mac, 0x88B5) + b"\x00" * 46, "drop_bad_ethertype"),
            ("spoofed source MAC", P.eth(w2.mac, "02:00:00:00:00:99", 0x0800) + b"\x45" + b"\x00" * 45, "drop_spoof"),
            ("truncated IPv4 to the gateway", P.eth(ROUTER_MAC, w1.mac, 0x0800) + b"\x45\x00\x00", "drop_truncated"),
            ("IPv4 with a bad version", P.eth(ROUTER_MAC, w1.mac, 0x0800) + b"\x55" + b"\x00" * 45, "drop_bad_ip"),
            ("routed with TTL 1", P.eth(ROUTER_MAC, w1.mac, 0x0800) + P.ipv4("10.1.1.2", "10.1.1.3", 1, P.icmp_echo(), ttl=1),
             "drop_ttl"),
            ("no route", P.eth(ROUTER_MAC, w1.mac, 0x0800) + P.ipv4("10.1.1.2", "172.16.0.1", 1, P.icmp_echo()),
             "drop_no_route"),
        ]
        for what, frame, reason in cases:
            with self.subTest(what):
                self.assert_dropped(h1, w1.ns, "eth0", frame, reason, what)

    def test_3_bad_local_api_requests(self):
        h1 = fabric.hosts[0]
        cases = [
            (["vrf", "add"], "field 'name' is required"),
            (["vrf", "add", "red"], "VRF 'red' already exists"),
            (["vrf", "del", "red"], "VRF 'red' is still used by: interface"),
            (["route", "add", "10.0.0.0/8", "--vrf", "red", "--nexthop", "bogus"], "field 'nexthop'"),
            (["route", "add", "10.0.0.0/99", "--vrf", "red", "--nexthop", "discard"], "invalid prefix length"),
            (["route", "del", "10.1.1.2/32", "--vrf", "red"], "belongs to interface"),
            (["endpoint", "add", "--vrf", "red", "--mac", "02:00:00:00:00:07", "--remote", "192.0.2.99", "--label", "40"],
             "cannot resolve underlay neighbour 192.0.2.99"),
            (["interface", "add", "x", "--vrf", "red", "--mac", "02:00:00:00:00:09", "--netns", "missing-ns"],
             "network namespace 'missing-ns' does not exist"),
            (["raw", "{broken"], "not valid JSON"),
            (["raw", '{"op": "vrf.add", "name": "x", "vni": "ten"}'], "field 'vni' must be a non-negative integer"),
            (["vni", "add", "ten", "--vrf", "red"], "--vni wants a number"),
            (["raw", '{"op": "vrf.add", "name": "y", "imports": "64512:1"}'], "field 'imports' must be a list of route targets"),
            (["raw", '{"op": "vrf.add", "name": "y", "imports": ["64512"]}'], '"64512" is not a route target'),
            (["raw", '{"op": "policy.apply", "policy": {"analyzers": {"first": "tap1"}}}'],
             "policy.analyzers: 'first' -> \"tap1\" is not a rule id and an interface name"),
            (["raw", '{"op": "policy.apply", "policy": {"interfaces": "tap1"}}'],
             "field 'policy.interfaces' must be a list of interface names"),
            (["raw", '{"op": "policy.apply", "policy": {"rules": [{"src_epg": 1, "dst_epg": 2, "proto": 6, "port": 80, '
                     '"port_len": 16, "action": "copy", "rule_id": 1}]}}'], "action 'copy' is not pass, deny or mirror"),
            (["show", "everything"], "show what?"),
            (["show", "flows", "--action", "allow"], "field 'action': 'allow' is not pass, deny or mirror"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = h1.vrctl(*args, check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(message, r.stderr)
        r = sh(VRCTL, "agent", "--socket", "/nonexistent/agent.sock", "show", "vrfs", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach the agent", r.stderr)
        # Junk and half requests on the socket itself.
        for junk in (b"\x00\xff\xfe garbage\n", b'{"op": "vrf.list"', b"\n\n"):
            s = socket.socket(socket.AF_UNIX)
            s.connect(h1.socket)
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
            s.close()
        self.assertIsNone(h1.proc.poll(), "the agent died")
        self.assertEqual([v["name"] for v in h1.api("vrf.list")], ["red"], "a bad request changed state")
        self.assertTrue(w1.ping("10.1.1.3"), "forwarding stopped after bad input")

    def test_4_sigterm_removes_everything_the_agent_made(self):
        h1 = fabric.hosts[0]
        self.assertIn("xdp", sh(IP, "-d", "link", "show", "fab0", ns=h1.name).stdout)
        h1.stop_agent()
        self.assertNotIn("xdp", sh(IP, "-d", "link", "show", "fab0", ns=h1.name).stdout)
        self.assertNotIn(w1.ifname, sh(IP, "link", "show", ns=h1.name).stdout)
        self.assertNotIn("eth0", sh(IP, "link", "show", ns=w1.ns).stdout)
        self.assertFalse(os.path.exists(h1.socket))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
