"""Two hosts, two virtual networks (red, blue) that use the same subnet, MACs and addresses,
two workloads per network per host, plus a second red subnet. Real XDP forwarders, real
veths, real packets; tshark on the underlay switch decodes what we put on the wire.

usage: test_overlay.py VR_AGENT VRCTL
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Fabric, Workload, sh  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT, VRCTL = sys.argv[1], sys.argv[2]
ENCAPS = ("mplsudp", "mplsgre", "vxlan")
VNI = {"red": 100, "blue": 200}
ROUTER_MAC = "00:00:5e:00:01:00"

# name -> (host index, vrf, mac, addresses, gateways); blue mirrors red's MACs and IPs.
WORKLOADS = {}
for vrf in ("red", "blue"):
    c = vrf[0]
    WORKLOADS[f"{c}11"] = (1, vrf, "02:00:00:00:01:03", ["10.1.1.3/24", "fd00:1::3/64"], ["10.1.1.1", "fd00:1::1"])
    WORKLOADS[f"{c}12"] = (1, vrf, "02:00:00:00:01:04", ["10.1.1.4/24"], ["10.1.1.1"])
    WORKLOADS[f"{c}21"] = (2, vrf, "02:00:00:00:01:05", ["10.1.1.5/24", "fd00:1::5/64"], ["10.1.1.1", "fd00:1::1"])
    WORKLOADS[f"{c}22"] = (2, vrf, "02:00:00:00:01:06", ["10.1.1.6/24"], ["10.1.1.1"])
WORKLOADS["r23"] = (2, "red", "02:00:00:00:02:07", ["10.1.2.7/24", "fd00:2::7/64"], ["10.1.2.1", "fd00:2::1"])
GATEWAYS = {"red": ["10.1.1.1/32", "10.1.2.1/32", "fd00:1::1/128", "fd00:2::1/128"],
            "blue": ["10.1.1.1/32", "fd00:1::1/128"]}

fabric = None
w = {}


def program_endpoints(encap):
    """Tells every host where the other host's workloads are, as EVPN type-2 routes would."""
    for name, wl in w.items():
        for h in fabric.hosts:
            if h is wl.host:
                continue
            label = VNI[wl.vrf] if encap == "vxlan" else wl.label
            h.api("endpoint.add", vrf=wl.vrf, mac=wl.mac, ips=[a.split("/")[0] for a in wl.ips],
                  remote=wl.host.fabric_ip, encap=encap, label=label)


def setUpModule():
    global fabric
    fabric = Fabric(2, agent_bin=AGENT, vrctl_bin=VRCTL)
    for h in fabric.hosts:
        for vrf, gws in GATEWAYS.items():
            h.api("vrf.add", name=vrf, vni=VNI[vrf])
            for gw in gws:
                h.api("route.add", vrf=vrf, prefix=gw, nexthop="receive")
    for name, (hi, vrf, mac, ips, gws) in WORKLOADS.items():
        w[name] = Workload(fabric.hosts[hi - 1], vrf, name, mac, ips, gws)


def tearDownModule():
    fabric.close()


def counters_delta(host, before):
    after = host.counters()
    return {k: after[k] - before[k] for k in after}


def tcp_exchange(client, server, dst, size=2_000_000, port=5001):
    """Sends size random bytes; returns (what the client sent, what the server says it got)."""
    bind = {"BIND": "::"} if ":" in dst else {}
    srv = subprocess.Popen([IP, "netns", "exec", server.ns, "env", *[f"{k}={v}" for k, v in bind.items()],
                            sys.executable, os.path.join(HERE, "tcp_echo.py"), "serve", str(port), server.vrf],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "listening"
        out = client.run(sys.executable, os.path.join(HERE, "tcp_echo.py"), "send", dst, port, size,
                         timeout=40).stdout.split()
    finally:
        srv.wait(10)
        srv.stdout.close()
    return out


class Overlay(unittest.TestCase):
    def test_1_same_network_across_hosts_each_encapsulation(self):
        for encap in ENCAPS:
            with self.subTest(encap=encap):
                program_endpoints(encap)
                b1, b2 = fabric.hosts[0].counters(), fabric.hosts[1].counters()
                self.assertTrue(w["r11"].ping("10.1.1.5"), f"red ping across hosts over {encap}")
                self.assertTrue(w["b11"].ping("10.1.1.5"), f"blue ping across hosts over {encap}")
                self.assertTrue(w["r11"].ping("fd00:1::5"), f"red IPv6 ping across hosts over {encap}")
                d1, d2 = counters_delta(fabric.hosts[0], b1), counters_delta(fabric.hosts[1], b2)
                self.assertGreaterEqual(d1[f"encap_{encap}"], 6)
                self.assertGreaterEqual(d2[f"decap_{encap}"], 6)
                # The same address in both networks: each client reaches its own network's server.
                for vrf in ("r", "b"):
                    sent, name, got = tcp_exchange(w[f"{vrf}12"], w[f"{vrf}22"], "10.1.1.6")
                    self.assertEqual(name, w[f"{vrf}22"].vrf, "TCP reached the other network's workload")
                    self.assertEqual(sent, got, f"TCP payload corrupted over {encap}")

    def test_2_networks_do_not_cross(self):
        program_endpoints("mplsudp")
        # 10.1.2.7 exists only in red: blue has no route to it.
        before = fabric.hosts[0].counters()
        self.assertFalse(w["b11"].ping("10.1.2.7", count=1))
        self.assertGreaterEqual(counters_delta(fabric.hosts[0], before)["drop_no_route"], 1)
        # Red traffic to the shared address never lands on blue's workload: capture ICMP there.
        pcap = os.path.join(fabric.tmp, "b21.pcap")
        cap = subprocess.Popen([IP, "netns", "exec", w["b21"].ns, "tcpdump", "-i", "eth0", "-n", "-U", "-w", pcap, "icmp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        self.assertTrue(w["r11"].ping("10.1.1.5", count=5))
        self.assertTrue(w["b11"].ping("10.1.1.5", count=2))  # the capture's positive control
        time.sleep(0.5)
        cap.terminate()
        cap.wait(10)
        seen = sh("tcpdump", "-r", pcap, "-n").stdout
        requests = seen.count("10.1.1.3 > 10.1.1.5: ICMP echo request")
        self.assertIn(requests, (1, 2), f"blue's workload must see blue's pings and none of red's 5:\n{seen}")

    def test_3_routing_between_subnets_via_distributed_gateway(self):
        for encap in ("mplsudp", "vxlan"):
            with self.subTest(encap=encap):
                program_endpoints(encap)
                out = w["r11"].run("ping", "-c", "2", "-i", "0.2", "-W", "1", "10.1.2.7", check=False)
                self.assertEqual(out.returncode, 0, out.stdout)
                self.assertIn("ttl=63", out.stdout, "one routed hop decrements the TTL once")
                self.assertTrue(w["r23"].ping("10.1.1.4"), "routed back from the other subnet")
                self.assertTrue(w["r11"].ping("fd00:2::7"), "IPv6 routed across subnets")
                sent, name, got = tcp_exchange(w["r11"], w["r23"], "10.1.2.7", port=5003)
                self.assertEqual(sent, got)
        # Each host answers for the gateway with the same MAC: the gateway is distributed.
        for name in ("r11", "r23"):
            neigh = w[name].run(IP, "neigh", "show").stdout
            self.assertIn(ROUTER_MAC, neigh)

    def test_4_bridging_on_one_host_and_gateway_ping(self):
        self.assertTrue(w["r11"].ping("10.1.1.4"))
        self.assertTrue(w["b12"].ping("10.1.1.3"))
        before = fabric.hosts[0].counters()
        self.assertTrue(w["r11"].ping("10.1.1.1"))
        self.assertGreaterEqual(counters_delta(fabric.hosts[0], before)["gw_echo_reply"], 2)

    def test_5_arp_and_nd_answered_never_flooded(self):
        before = fabric.hosts[0].counters()
        self.assertFalse(w["r11"].ping("10.1.1.99", count=1), "nobody has 10.1.1.99")
        self.assertTrue(w["r11"].ping("10.1.1.4", count=1))
        d = counters_delta(fabric.hosts[0], before)
        self.assertGreaterEqual(d["drop_arp_unknown"], 1)
        self.assertEqual(d["encap_mplsudp"] + d["encap_vxlan"] + d["encap_mplsgre"], 0,
                         "an ARP or a ping to a local workload went onto the fabric")
        w["r11"].run(IP, "-6", "neigh", "flush", "all")
        before = fabric.hosts[0].counters()
        self.assertTrue(w["r11"].ping("fd00:1::5", count=1))
        self.assertGreaterEqual(counters_delta(fabric.hosts[0], before)["nd_reply"], 1)

    def test_6_tshark_decodes_what_we_send(self):
        ul = fabric.underlay
        for encap in ENCAPS:
            with self.subTest(encap=encap):
                program_endpoints(encap)
                pcap = os.path.join(fabric.tmp, f"{encap}.pcap")
                cap = subprocess.Popen([IP, "netns", "exec", ul, "tshark", "-q", "-i", "p1", "-c", "2", "-w", pcap,
                                        "-f", "ip proto 17 or ip proto 47"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.5)  # dumpcap needs a moment before it captures
                w["r11"].ping("10.1.1.5", count=3)
                cap.wait(20)
                label = w["r21"].label
                fields = ["ip.src", "ip.dst", "eth.dst", "vxlan.vni", "mpls.label", "mpls.bottom", "udp.dstport",
                          "gre.proto", "ip.checksum.status"]
                out = sh("tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE",
                         "-d", f"mpls.label=={label},pwethnocw", "-T", "fields",
                         "-E", "separator=|", *sum((["-e", f] for f in fields), [])).stdout
                rows = [dict(zip(fields, line.split("|"))) for line in out.strip().splitlines()]
                self.assertTrue(rows, "nothing captured")
                r = rows[0]
                print(f"\n    tshark {encap}: {r}", file=sys.stderr)
                self.assertEqual(r["ip.src"], "192.0.2.11,10.1.1.3", r)  # outer, then inner
                self.assertEqual(r["ip.dst"], "192.0.2.12,10.1.1.5", r)
                self.assertIn("02:00:00:00:01:05", r["eth.dst"], r)  # the inner frame is for r21
                self.assertEqual(r["ip.checksum.status"].split(",")[0], "1", "outer IPv4 checksum is not good")
                if encap == "vxlan":
                    self.assertEqual((r["udp.dstport"], r["vxlan.vni"]), ("4789", "100"), r)
                elif encap == "mplsudp":
                    self.assertEqual((r["udp.dstport"], r["mpls.label"], r["mpls.bottom"]), ("6635", str(label), "1"), r)
                else:
                    self.assertEqual((r["gre.proto"], r["mpls.label"]), ("0x8847", str(label)), r)

    def test_7_dhcp_from_the_agent(self):
        h1, h2 = fabric.hosts
        lease = {"address": "10.1.1.8/24", "gateway": "10.1.1.1", "dns": ["10.1.1.2"], "mtu": 1450}
        wl = Workload(h1, "red", "r13", "02:00:00:00:01:08", [], dhcp=lease)
        h2.api("endpoint.add", vrf="red", mac=wl.mac, ips=["10.1.1.8"], remote=h1.fabric_ip, encap="vxlan", label=100)
        program_endpoints("vxlan")
        dns_file = os.path.join(fabric.tmp, "r13.dns")
        log = wl.dhcp_client(dns_file)
        self.assertIn("10.1.1.8", wl.run(IP, "-4", "addr", "show", "eth0").stdout, log)
        self.assertIn("default via 10.1.1.1", wl.run(IP, "route").stdout)
        with open(dns_file) as f:
            self.assertEqual(f.read().strip(), "10.1.1.2")
        self.assertTrue(wl.ping("10.1.1.5"), "the DHCP-configured workload reaches another host")
        self.assertTrue(wl.ping("10.1.2.7"), "and routes through the gateway it was given")

    def test_8_vrctl_shows_tables_and_counters(self):
        h1 = fabric.hosts[0]
        routes = h1.vrctl("show", "routes", "--vrf", "red").stdout
        self.assertIn("10.1.1.5/32", routes)
        self.assertIn("tunnel", routes)
        self.assertIn("receive", routes)
        self.assertNotIn("blue", routes)
        self.assertIn("rx_workload", h1.vrctl("show", "counters").stdout)
        self.assertIn("v", h1.vrctl("show", "interfaces").stdout)
        self.assertIn("192.0.2.12", h1.vrctl("show", "tunnels").stdout)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
