"""Source guard (anti-spoofing) on real agents driven by a controller, as in the demo: a
network policy lets network web reach network red over TCP port 80 only. A hostile workload
forges other workloads' source addresses (IPv4 and IPv6; TCP, UDP, ICMP) and sends forged
ARP and neighbour advertisements; everything forged is dropped at its own port before any
policy decision (counted as drop_src_spoof / drop_neigh_spoof), never seen at the target
(tcpdump there), and no neighbour cache is poisoned. Positive controls: DHCP, DHCPv6 (from
the link-local address, after DAD), own-address traffic; an allowed address pair is
accepted and policy treats it as the port's; the guard's map entries go when ports go.

usage: test_source_guard.py VR_AGENT VRCTL VR_CONTROLLER
"""
import json
import os
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("VRFABRIC_NS_PREFIX", "h2")
import packets as P  # noqa: E402
import test_end_to_end as e2e  # noqa: E402
from harness import IP, sh, wait_for  # noqa: E402

D = "default-domain"
ROUTER_MAC = "00:00:5e:00:01:00"
PAIR = "10.62.0.200"
# name: (network, host, v4, v6). r1, r2, w1 share host 1; r3 is on host 2 (the demo's red-3).
WORKLOADS = {"r1": ("red", 1, "10.61.0.11", "fd00:61::11"), "r2": ("red", 1, "10.61.0.12", "fd00:61::12"),
             "r3": ("red", 2, "10.61.0.13", "fd00:61::13"), "w1": ("web", 1, "10.62.0.11", None)}
SUBNETS = {"red": ("10.61.0.0/24", "fd00:61::/64"), "web": ("10.62.0.0/24",)}
mac = {}


def documents(p):
    docs = [f"kind: project\nfq_name: {D}:{p}", f"kind: network-ipam\nfq_name: {D}:{p}:ipam\nipam_method: dhcp",
            f"kind: network-policy\nfq_name: {D}:{p}:web-to-red\nrules:\n  - direction: \">\"\n    protocol: tcp\n"
            f"    src_networks: [{D}:{p}:web]\n    dst_networks: [{D}:{p}:red]\n"
            f"    dst_ports: [{{start_port: 80, end_port: 80}}]\n    action: pass"]
    for net, cidrs in SUBNETS.items():
        subnets = "".join(f"\n        - subnet: {c}" for c in cidrs)
        docs.append(f"kind: virtual-network\nfq_name: {D}:{p}:{net}\nnetwork_ipam_refs:\n  - to: {D}:{p}:ipam\n"
                    f"    attr:\n      ipam_subnets:{subnets}\n"
                    f"network_policy_refs: [{{to: {D}:{p}:web-to-red, attr: {{sequence: \"1.0\"}}}}]")
    for name, (net, host, v4, v6) in WORKLOADS.items():
        docs += e2e.workload_documents(p, name, net, host, [a for a in (v4, v6) if a])
    return "\n---\n".join(docs) + "\n"


def host(n):
    return e2e.fabric.hosts[n - 1]


def inject(name, *frames):
    sh("python3", os.path.join(HERE, "inject.py"), "eth0", *(f.hex() for f in frames), ns=e2e.ns(name))


class Capture:
    """tcpdump on a workload's eth0 for the duration of a with block."""

    def __init__(self, name):
        self.name, self.file = name, os.path.join(e2e.fabric.tmp, f"{name}-{time.monotonic_ns()}.pcap")

    def __enter__(self):
        self.proc = subprocess.Popen([IP, "netns", "exec", e2e.ns(self.name), "tcpdump", "-i", "eth0", "-Q", "in", "-n", "-U",
                                      "-w", self.file], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for("tcpdump to listen", lambda: "listening" in (self.proc.stderr.readline() or ""), 10)
        return self

    def __exit__(self, *exc):
        time.sleep(1)
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stderr.close()

    def count(self, bpf_filter):
        r = sh("tcpdump", "-n", "-r", self.file, bpf_filter, check=False)
        return len([line for line in r.stdout.splitlines() if line.strip()])


def eui64_link_local(m):
    b = P.mac_bytes(m)
    iid = bytes([b[0] ^ 2, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])
    return socket.inet_ntop(socket.AF_INET6, bytes([0xFE, 0x80]) + bytes(6) + iid)


def counters_delta(h, fn):
    before = h.counters()
    fn()
    time.sleep(0.3)
    after = h.counters()
    return {k: after[k] - before.get(k, 0) for k in after}


def setUpModule():
    e2e.WORKLOADS = [(name, net, h) for name, (net, h, _, _) in WORKLOADS.items()]
    e2e.setUpModule(hosts=2)


def tearDownModule():
    e2e.tearDownModule()


def set_pairs(name, pairs):
    uuid, _ = e2e.port_of(name)
    return e2e.rest("PUT", f"/virtual-machine-interface/{uuid}",
                    {"virtual-machine-interface": {"virtual_machine_interface_allowed_address_pairs": pairs}})


class SourceGuard(unittest.TestCase):
    def test_1_dhcp_dad_link_local_and_own_addresses_work(self):
        e2e.apply_yaml(documents(e2e.fabric.prefix))
        for name in WORKLOADS:
            e2e.wait_for_interface(name)
            mac[name] = json.loads(sh(IP, "-j", "link", "show", "eth0", ns=e2e.ns(name)).stdout)[0]["address"]
        for name, (_, _, v4, v6) in WORKLOADS.items():
            self.assertEqual(e2e.dhcp(name), v4, f"{name}'s DHCP (from 0.0.0.0)")
            if v6:  # dhclient -6 sends from the link-local address, once DAD (from ::) passed
                self.assertEqual(e2e.dhcp6(name), v6, f"{name}'s DHCPv6")
        wait_for("host 1 to learn r3", lambda: "10.61.0.13/32" in e2e.host_routes(host(1), f"{D}:{e2e.fabric.prefix}:red"))
        self.assertTrue(e2e.ping("r1", "10.61.0.13"), "own IPv4 address")
        self.assertTrue(e2e.ping("r1", "fd00:61::13"), "own IPv6 address")
        e2e.listen("r3", 80)
        e2e.listen("r2", 80)
        wait_for("web -> red:80 (the policy's pass)", lambda: e2e.connects("w1", "10.61.0.13", 80), 30)
        self.assertFalse(e2e.ping("w1", "10.61.0.13", count=1), "web -> red ICMP is not passed")
        self.assertEqual(host(1).api("guard.show"), {"addresses": 5, "allowed_pairs": 0})

    def test_2_forged_sources_are_dropped_before_policy(self):
        # The demo's attack: web's workload sends as red's r2 to red's r3, which policy
        # would pass (red to red); and r1 forging r2 inside red, over IPv6.
        frames = [P.eth(ROUTER_MAC, mac["w1"], 0x0800) + P.ipv4("10.61.0.12", "10.61.0.13", 1, P.icmp_echo(ident=7)),
                  P.eth(ROUTER_MAC, mac["w1"], 0x0800) + P.ipv4("10.61.0.12", "10.61.0.13", 17,
                                                               P.udp(4000, 5000, b"forged")),
                  P.eth(ROUTER_MAC, mac["w1"], 0x0800) + P.ipv4("10.61.0.12", "10.61.0.13", 6, P.tcp_syn(4001, 22)),
                  P.eth(ROUTER_MAC, mac["r1"], 0x86dd) + P.ipv6("fd00:61::12", "fd00:61::13", 58,
                                                               P.icmp6_echo("fd00:61::12", "fd00:61::13")),
                  P.eth(mac["r3"], mac["r1"], 0x86dd) + P.ipv6("fd00:61::12", "fd00:61::13", 17,
                                                              P.udp(4000, 5000, b"forged")),
                  P.eth(mac["r3"], mac["r1"], 0x86dd) + P.ipv6("fd00:61::12", "fd00:61::13", 6, P.tcp_syn(4001, 22))]
        with Capture("r3") as cap:
            delta = counters_delta(host(1), lambda: (inject("w1", *frames[:3]), inject("r1", *frames[3:])))
            # Positive control in the same capture: r1's own packets arrive.
            self.assertTrue(e2e.ping("r1", "10.61.0.13", count=1))
        self.assertEqual(delta["drop_src_spoof"], len(frames), delta)
        self.assertEqual(delta["drop_policy"], 0, "decided by the guard, not by policy")
        self.assertEqual(delta["flow_new"], 0, "no flow was set up for a forged packet")
        self.assertEqual(cap.count("src host 10.61.0.12 or src host fd00:61::12"), 0, "a forged packet arrived at r3")
        self.assertGreater(cap.count("src host 10.61.0.11"), 0, "the capture saw nothing at all")

    def test_3_forged_arp_and_neighbour_advertisements_are_dropped(self):
        # r3 knows r2's IPv6 address at r2's MAC; r1 then claims it (unsolicited NA with
        # override, unicast to r3) and claims r2's IPv4 address in ARP.
        self.assertTrue(e2e.ping("r3", "fd00:61::12", count=1))
        neigh = lambda: sh(IP, "-6", "neigh", "show", "fd00:61::12", "dev", "eth0", ns=e2e.ns("r3")).stdout
        self.assertIn(mac["r2"], neigh())
        na = P.eth(mac["r3"], mac["r1"], 0x86dd) + P.ipv6(
            "fd00:61::11", "fd00:61::13", 58, P.neighbor_advert("fd00:61::11", "fd00:61::13", "fd00:61::12", mac["r1"]),
            hops=255)
        ll = eui64_link_local(mac["r1"])
        na_mcast = P.eth("33:33:00:00:00:01", mac["r1"], 0x86dd) + P.ipv6(
            ll, "ff02::1", 58, P.neighbor_advert(ll, "ff02::1", "fd00:61::12", mac["r1"]), hops=255)
        garp = P.eth("ff:ff:ff:ff:ff:ff", mac["r1"], 0x0806) + P.arp(1, mac["r1"], "10.61.0.12", "00:00:00:00:00:00",
                                                                   "10.61.0.13")
        with Capture("r3") as cap:
            delta = counters_delta(host(1), lambda: inject("r1", na, na_mcast, garp))
        self.assertEqual(delta["drop_neigh_spoof"], 3, delta)
        self.assertEqual(cap.count(f"ether src {mac['r1']}"), 0, "a forged claim reached r3")
        self.assertIn(mac["r2"], neigh(), "r3's neighbour cache was poisoned")
        self.assertNotIn(mac["r1"], neigh())
        # r1's own claims still work: its ARP for r3 is answered.
        sh(IP, "neigh", "flush", "dev", "eth0", ns=e2e.ns("r1"))
        self.assertTrue(e2e.ping("r1", "10.61.0.13", count=1))

    def test_4_allowed_pairs_are_validated(self):
        for pairs, field, what in [
            ([{"ip": {"ip_prefix": "10.62.0.200", "ip_prefix_len": 33}}], "[0].ip", "exceeds"),
            ([{"ip": {"ip_prefix": "10.62.0.201", "ip_prefix_len": 24}}], "[0].ip", "host bits"),
            ([{"ip": {"ip_prefix": "10.61.0.12", "ip_prefix_len": 32}}], "[0].ip", "not inside a subnet"),
            ([{"ip": {"ip_prefix": PAIR, "ip_prefix_len": 32}, "mac": "01:00:5e:00:00:01"}], "[0].mac", "multicast"),
            ([{"ip": {"ip_prefix": PAIR, "ip_prefix_len": 32}, "mac": "zz"}], "[0].mac", "not a MAC"),
            ([{"ip": {"ip_prefix": "bogus", "ip_prefix_len": 32}}], "[0].ip.ip_prefix", "not an IPv4 or IPv6"),
        ]:
            with self.subTest(what):
                status, body = set_pairs("w1", pairs)
                self.assertEqual(status, 400, body)
                self.assertIn("virtual_machine_interface_allowed_address_pairs" + field, str(body))
                self.assertIn(what, str(body))

    def test_5_an_allowed_pair_is_the_port_s_own_for_the_guard_and_policy(self):
        status, body = set_pairs("w1", [{"ip": {"ip_prefix": PAIR, "ip_prefix_len": 32},
                                         "address_mode": "active-standby"}])
        self.assertEqual(status, 200, body)
        wait_for("the pair on host 1", lambda: host(1).api("guard.show")["allowed_pairs"] == 1)
        sh(IP, "addr", "add", f"{PAIR}/32", "dev", "eth0", ns=e2e.ns("w1"))
        # From the pair: web's rule applies (TCP 80 to red passes, ICMP does not) as from the port.
        wait_for("TCP 80 from the pair", lambda: sh("nc", "-z", "-w", "1", "-s", PAIR, "10.61.0.12", "80",
                                                     ns=e2e.ns("w1"), check=False).returncode == 0, 30)
        delta = counters_delta(host(1), lambda: self.assertFalse(
            sh("ping", "-c", "1", "-W", "1", "-I", PAIR, "10.61.0.12", ns=e2e.ns("w1"), check=False).returncode == 0))
        self.assertGreater(delta["drop_policy"], 0, delta)
        self.assertEqual(delta["drop_src_spoof"], 0, delta)
        # An address next to the pair is still a forgery.
        delta = counters_delta(host(1), lambda: inject("w1", P.eth(ROUTER_MAC, mac["w1"], 0x0800) + P.ipv4(
            "10.62.0.201", "10.61.0.12", 6, P.tcp_syn(4000, 80))))
        self.assertEqual(delta["drop_src_spoof"], 1, delta)

    def test_6_guard_entries_leave_with_their_ports(self):
        self.assertEqual(host(1).api("guard.show"), {"addresses": 5, "allowed_pairs": 1})
        p = e2e.fabric.prefix
        for name, (net, h, v4, v6) in WORKLOADS.items():
            if h != 1:
                continue
            e2e.vrctl("delete", "instance-ip", *[f"{D}:{p}:{name}-{'v6' if ':' in a else 'v4'}" for a in (v4, v6) if a])
            e2e.vrctl("delete", "virtual-machine-interface", f"{D}:{p}:{name}-eth0")
        wait_for("host 1's ports to go", lambda: host(1).api("interface.list") == [], 30)
        self.assertEqual(host(1).api("guard.show"), {"addresses": 0, "allowed_pairs": 0})
        self.assertEqual(host(2).api("guard.show"), {"addresses": 2, "allowed_pairs": 0})


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
