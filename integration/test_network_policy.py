"""Network policy between virtual networks, applied with vrctl and enforced with real TCP over
IPv4 and IPv6. A policy attached to both "front" and "back" passes TCP from front to back on
port 8080: the two networks' routes are leaked into each other's VRF (as in Tungsten
Fabric), so front reaches back on that port, across hosts and on the same host, and the
replies come back; other ports, the reverse direction and a third, unconnected network are
refused. Traffic inside a network is not touched by the policy.

usage: test_network_policy.py VR_AGENT VRCTL VR_CONTROLLER
"""
import os
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
             "o1": ("other", 1, "10.33.0.30", "fd00:33::30")}
PORTS = (22, 8080)


def documents(p):
    policy = f"default-domain:{p}:front-to-back"
    docs = [f"kind: project\nfq_name: default-domain:{p}",
            f"kind: network-ipam\nfq_name: default-domain:{p}:ipam\nipam_method: dhcp",
            f"kind: network-policy\nfq_name: {policy}\nrules:\n"
            f"  - direction: \">\"\n    protocol: tcp\n    src_networks: [default-domain:{p}:front]\n"
            f"    dst_networks: [default-domain:{p}:back]\n    dst_ports: [{{start_port: 8080, end_port: 8080}}]\n"
            f"    action: pass"]
    for net, (v4, v6) in NETS.items():
        refs = (f"\nnetwork_policy_refs:\n  - to: {policy}\n    attr: {{sequence: \"1.0\"}}"
                if net != "other" else "")
        docs.append(f"kind: virtual-network\nfq_name: default-domain:{p}:{net}\nnetwork_ipam_refs:\n"
                    f"  - to: default-domain:{p}:ipam\n    attr:\n      ipam_subnets:\n"
                    f"        - subnet: {v4}\n        - subnet: {v6}{refs}")
    for name, (net, host, v4, v6) in WORKLOADS.items():
        docs.append(f"kind: virtual-machine\nfq_name: default-domain:{p}:{p}-{name}")
        docs.append(f"kind: virtual-machine-interface\nfq_name: default-domain:{p}:{name}-eth0\nhost_id: node-{host}\n"
                    f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                    f"virtual_machine_refs: [{{to: default-domain:{p}:{p}-{name}}}]")
        for fam, a in (("v4", v4), ("v6", v6)):
            docs.append(f"kind: instance-ip\nfq_name: default-domain:{p}:{name}-{fam}\ninstance_ip_address: \"{a}\"\n"
                        f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                        f"virtual_machine_interface_refs: [{{to: default-domain:{p}:{name}-eth0}}]")
    return "\n---\n".join(docs) + "\n"


def setUpModule():
    e2e.WORKLOADS = [(n, net, h) for n, (net, h, _, _) in WORKLOADS.items()]
    e2e.setUpModule()


def tearDownModule():
    e2e.tearDownModule()


def routes(host, net):
    return {r["prefix"] for r in host.api("route.list", vrf=f"default-domain:{e2e.fabric.prefix}:{net}")}


def connects(src, dst, port, v6=False):
    return sh("nc", "-z", "-w", "1", WORKLOADS[dst][3 if v6 else 2], port, ns=e2e.ns(src), check=False).returncode == 0


class NetworkPolicy(unittest.TestCase):
    def test_policy_connects_two_networks_on_its_port_only(self):
        fabric = e2e.fabric
        e2e.apply_yaml(documents(fabric.prefix), "netpolicy.yaml")
        for name, (net, _, v4, v6) in WORKLOADS.items():
            e2e.wait_for_interface(name)
            self.assertEqual(e2e.dhcp(name), v4)  # the lease's router is the network's gateway
            # No router advertisements yet: the IPv6 default route is set by hand.
            gw6 = NETS[net][1].split("/")[0] + "1"
            sh(IP, "-6", "addr", "add", f"{v6}/64", "dev", "eth0", "nodad", ns=e2e.ns(name))
            sh(IP, "-6", "route", "add", "default", "via", gw6, "dev", "eth0", ns=e2e.ns(name))
            for port in PORTS:
                for fam in ("-4", "-6"):
                    e2e.listen(name, port, fam)
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
        # The same-host flow was decided in front's VRF; its return entry waits in back's,
        # where b2's replies are looked up.
        p = f"default-domain:{fabric.prefix}:"
        b2 = f"{WORKLOADS['b2'][2]}:8080"
        flows = h1.api("flow.list", address=WORKLOADS["b2"][2])
        self.assertTrue(any(f["vrf"] == p + "front" and f["dst"] == b2 and f["direction"] == "forward"
                            and f["action"] == "pass" for f in flows), flows)
        self.assertTrue(any(f["vrf"] == p + "back" and f["src"] == b2 and f["direction"] == "reverse"
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


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
