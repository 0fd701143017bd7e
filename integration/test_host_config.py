"""Agents driven by whole-host snapshots (what the controller's per-host config stream sends)
and BGP EVPN through a route reflector: namespaces and veths appear, workloads take their
addresses over DHCP, routes move between hosts; re-applying a snapshot changes nothing; an
object dropped from the snapshot goes away everywhere; an agent killed with SIGKILL leaves
forwarding running and rebuilds its state, adopting the workloads' interfaces, on restart.

usage: test_host_config.py VR_AGENT VRCTL VR_BGPD
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, close_with_reflector, fabric_with_reflector, sh, wait_for  # noqa: E402

AGENT, VRCTL, BGPD = sys.argv[1], sys.argv[2], sys.argv[3]
RR = "192.0.2.1"
fabric = rr = None
ns = {}


def snapshot(host_index, names):
    """The config of one host: network 'red' and the named workloads placed on it."""
    p = fabric.prefix
    ifs = []
    for n in names:
        i = int(n[1:])
        ifs.append({"name": f"tap{fabric.short}{n}", "uuid": port_uuid(n), "vrf": "red",
                    "mac": f"02:00:00:00:00:{i:02x}", "dhcp": {"address": f"10.1.1.{i}/24", "gateway": "10.1.1.1",
                                                                "dns": ["10.1.1.2"]}})
    return {"revision": 1, "vrfs": [{"name": "red", "vni": 100, "route_target": "64512:100", "encap": "mplsudp",
                                      "gateways": ["10.1.1.1"]}], "interfaces": ifs}


def port_uuid(name):
    return f"00000000-0000-4000-8000-{int(name[1:]):012x}"


def make_workload(host, name):
    """What a workload runtime does: the namespace, then the port's uuid attached to it."""
    n = f"{fabric.prefix}-{name}"
    fabric.track_ns(n)
    sh(IP, "netns", "add", n)
    sh(IP, "link", "set", "lo", "up", ns=n)
    host.vrctl("port", "attach", port_uuid(name), "--netns", n)


def dhcp(name):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udhcpc-script.sh")
    sh("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-s", script,
       ns=f"{fabric.prefix}-{name}", timeout=30)


def ping(src, dst, count=2):
    return sh("ping", "-c", count, "-i", "0.2", "-W", "1", dst, ns=f"{fabric.prefix}-{src}", check=False).returncode == 0


def setUpModule():
    global fabric, rr
    fabric, rr = fabric_with_reflector(2, AGENT, VRCTL, BGPD, RR)


def tearDownModule():
    close_with_reflector(fabric, rr)


class HostConfig(unittest.TestCase):
    def test_1_snapshots_build_hosts_and_routes_move(self):
        h1, h2 = fabric.hosts
        early = h1.api("config.apply", snapshot=snapshot(1, ["w3", "w4"]))
        self.assertEqual((early["added"], early["failed"]), (0, 2), "the runtime has not attached the ports yet")
        self.assertIn("waiting for the host's runtime to attach it", early["errors"][0])
        # Attached to a namespace that is not there yet: tried again at the next snapshot.
        h1.api("port.attach", uuid=port_uuid("w3"), netns=f"{fabric.prefix}-w3")
        early = h1.api("config.apply", snapshot=snapshot(1, ["w3"]))
        self.assertIn("does not exist", early["errors"][0])
        for h, n in ((h1, "w3"), (h1, "w4"), (h2, "w5")):
            make_workload(h, n)
        r1 = h1.api("config.apply", snapshot=snapshot(1, ["w3", "w4"]))
        r2 = h2.api("config.apply", snapshot=snapshot(2, ["w5"]))
        self.assertEqual((r1["added"], r1["failed"], r2["added"], r2["failed"]), (2, 0, 1, 0), (r1, r2))
        for n in ("w3", "w4", "w5"):
            dhcp(n)
        wait_for("h1 to learn w5", lambda: any(r["prefix"] == "10.1.1.5/32" for r in h1.api("route.list", vrf="red")))
        self.assertTrue(ping("w3", "10.1.1.5"))
        self.assertTrue(ping("w5", "10.1.1.4"))
        again = h1.api("config.apply", snapshot=snapshot(1, ["w3", "w4"]))
        self.assertEqual((again["added"], again["removed"]), (0, 0), "re-applying a snapshot must change nothing")

    def test_2_dropped_from_the_snapshot_is_removed_everywhere(self):
        h1, h2 = fabric.hosts
        r = h1.api("config.apply", snapshot=snapshot(1, ["w3"]))
        self.assertEqual(r["removed"], 1)
        wait_for("h2 to forget w4", lambda: all(x["prefix"] != "10.1.1.4/32" for x in h2.api("route.list", vrf="red")))
        self.assertFalse(ping("w5", "10.1.1.4", count=1))

    def test_3b_nothing_in_a_snapshot_steers_a_port_into_another_namespace(self):
        h1 = fabric.hosts[0]
        steer = snapshot(1, ["w3", "w4"])
        steer["interfaces"][1]["netns"] = f"{fabric.prefix}-w3"  # a tenant-chosen name, as the old controller sent
        r = h1.api("config.apply", snapshot=steer)
        self.assertEqual(r["failed"], 0, r)
        ifs = {i["name"]: i["netns"] for i in h1.api("interface.list")}
        self.assertEqual(ifs[f"tap{fabric.short}w4"], f"{fabric.prefix}-w4", "the runtime's binding decides")
        # The runtime itself cannot put a second port's eth0 into a namespace holding one.
        r = h1.api.call("port.attach", uuid=port_uuid("w9"), netns=f"{fabric.prefix}-w3")
        self.assertFalse(r["ok"])
        self.assertIn("already holds eth0 of another port", r["error"])
        for bad, why in ((dict(uuid="../etc", netns="x"), "not a port uuid"),
                         (dict(uuid=port_uuid("w9"), netns="../../proc/1/ns/net"), "not a valid name")):
            r = h1.api.call("port.attach", **bad)
            self.assertIn(why, r.get("error", ""), r)
        self.assertEqual(h1.api("config.apply", snapshot=snapshot(1, ["w3"]))["removed"], 1)

    def test_3_bad_snapshots_are_refused_whole(self):
        h1 = fabric.hosts[0]
        bad = snapshot(1, ["w3"])
        bad["interfaces"][0]["vrf"] = "green"
        r = h1.api.call("config.apply", snapshot=bad)
        self.assertFalse(r["ok"])
        self.assertIn("interfaces[0]: VRF 'green' is not in the snapshot", r["error"])
        bad = snapshot(1, ["w3"])
        bad["interfaces"][0]["mac"] = "nonsense"
        self.assertIn("interfaces[0]: field 'mac'", h1.api.call("config.apply", snapshot=bad)["error"])
        self.assertEqual(len(h1.api("interface.list")), 1, "a refused snapshot must change nothing")

    def test_4_sigkilled_agent_keeps_forwarding_and_rebuilds(self):
        h1, h2 = fabric.hosts
        h1.proc.send_signal(signal.SIGKILL)
        h1.proc.wait()
        self.assertTrue(ping("w3", "10.1.1.5"), "the forwarder must keep forwarding without its agent")
        h1.start_agent("--controller-bgp", RR)
        r = h1.api("config.apply", snapshot=snapshot(1, ["w3"]))
        self.assertEqual(r["failed"], 0, "the runtime's attachments survive the restart: %s" % r)
        self.assertIn("10.1.1.3", sh(IP, "addr", "show", "eth0", ns=f"{fabric.prefix}-w3").stdout,
                      "the workload's interface (and its DHCP address) must survive an agent restart")
        wait_for("h1 to relearn w5", lambda: any(x["prefix"] == "10.1.1.5/32" for x in h1.api("route.list", vrf="red")))
        self.assertTrue(ping("w3", "10.1.1.5"))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
