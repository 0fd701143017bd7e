"""Three hosts whose agents learn each other's workloads over BGP EVPN through a route
reflector (vr-bgpd, our BGP library), with no endpoint configured by hand: type-2 routes
become forwarder entries, withdraws remove them.

usage: test_evpn_agents.py VR_AGENT VRCTL VR_BGPD
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Workload, close_with_reflector, fabric_with_reflector, sh, wait_for  # noqa: E402

AGENT, VRCTL, BGPD = sys.argv[1], sys.argv[2], sys.argv[3]
RR = "192.0.2.1"
NETS = {"red": dict(vni=100, route_target="64512:100", encap="mplsudp"),
        "blue": dict(vni=200, route_target="64512:200", encap="vxlan")}

fabric = None
rr = None
w = {}


def routes(host, vrf):
    return {r["prefix"]: r for r in host.api("route.list", vrf=vrf)}


def setUpModule():
    global fabric, rr
    fabric, rr = fabric_with_reflector(3, AGENT, VRCTL, BGPD, RR)
    for h in fabric.hosts:
        for name, cfg in NETS.items():
            h.api("vrf.add", name=name, **cfg)
            h.api("route.add", vrf=name, prefix="10.1.1.1/32", nexthop="receive")
    for i, h in enumerate(fabric.hosts, start=1):
        for name in NETS:
            wid = f"{name[0]}{i}"
            w[wid] = Workload(h, name, wid, f"02:00:00:00:0{i}:0{i}", [f"10.1.1.{10 + i}/24"], ["10.1.1.1"])


def tearDownModule():
    close_with_reflector(fabric, rr)


class EvpnAgents(unittest.TestCase):
    def test_1_routes_learnt_over_bgp_make_workloads_reachable(self):
        for h in fabric.hosts:
            for vrf in NETS:
                wait_for(f"{h.name} to learn {vrf}", lambda: {"10.1.1.11/32", "10.1.1.12/32", "10.1.1.13/32"}
                         <= set(routes(h, vrf)))
        r = routes(fabric.hosts[0], "red")["10.1.1.12/32"]
        self.assertEqual((r["type"], r["remote"], r["encap"], r["label"]), ("tunnel", "192.0.2.12", "mplsudp", w["r2"].label))
        b = routes(fabric.hosts[0], "blue")["10.1.1.13/32"]
        self.assertEqual((b["type"], b["remote"], b["encap"], b["label"]), ("tunnel", "192.0.2.13", "vxlan", 200))
        for src, dst in (("r1", "10.1.1.12"), ("r1", "10.1.1.13"), ("r3", "10.1.1.11"), ("b2", "10.1.1.13")):
            self.assertTrue(w[src].ping(dst), f"{src} -> {dst}")

    def test_2_deleting_a_workload_withdraws_it_everywhere(self):
        fabric.hosts[2].api("interface.del", name=w["r3"].ifname)
        for h in fabric.hosts[:2]:
            wait_for(f"{h.name} to forget 10.1.1.13", lambda: "10.1.1.13/32" not in routes(h, "red"))
            self.assertIn("10.1.1.13/32", routes(h, "blue"), "blue's workload at the same address must stay")
        self.assertFalse(w["r1"].ping("10.1.1.13", count=1))
        self.assertTrue(w["b1"].ping("10.1.1.13", count=1))

    def test_3_agent_restart_relearns(self):
        h = fabric.hosts[1]
        h.stop_agent()
        h.start_agent("--controller-bgp", RR)
        h.api("vrf.add", name="red", **NETS["red"])
        wait_for("the restarted agent to relearn red", lambda: "10.1.1.11/32" in routes(h, "red"))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
