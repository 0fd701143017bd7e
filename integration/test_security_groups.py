"""Security groups from the controller, enforced by the forwarders with real TCP over IPv4
and IPv6: a database port admits its client's address only, on its port only; the client
itself has no security group (everything it sends is allowed by its side).

usage: test_security_groups.py VR_AGENT VRCTL VR_CONTROLLER
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_end_to_end as e2e  # noqa: E402  (controller and agent set-up)
from harness import IP, sh, wait_for  # noqa: E402

WORKLOADS = {"client": ("10.20.0.10", "fd00:20::10", 1), "intruder": ("10.20.0.11", "fd00:20::11", 1),
             "db": ("10.20.0.20", "fd00:20::20", 2)}


def documents(p):
    docs = [f"kind: project\nfq_name: default-domain:{p}",
            f"kind: network-ipam\nfq_name: default-domain:{p}:ipam\nipam_method: dhcp",
            f"kind: virtual-network\nfq_name: default-domain:{p}:net\nnetwork_ipam_refs:\n  - to: default-domain:{p}:ipam\n"
            f"    attr:\n      ipam_subnets:\n        - subnet: 10.20.0.0/24\n        - subnet: fd00:20::/64",
            f"kind: security-group\nfq_name: default-domain:{p}:db-sg\nrules:\n"
            f"  - {{direction: ingress, ethertype: IPv4, protocol: tcp, remote_cidr: 10.20.0.10/32, "
            f"ports: [{{start_port: 5432, end_port: 5432}}]}}\n"
            f"  - {{direction: ingress, ethertype: IPv6, protocol: tcp, remote_cidr: fd00:20::10/128, "
            f"ports: [{{start_port: 5432, end_port: 5432}}]}}\n"
            f"  - {{direction: egress, ethertype: IPv4, protocol: any, remote_cidr: 0.0.0.0/0}}\n"
            f"  - {{direction: egress, ethertype: IPv6, protocol: any, remote_cidr: ::/0}}"]
    for name, (v4, v6, host) in WORKLOADS.items():
        sg = f"\nsecurity_group_refs: [{{to: default-domain:{p}:db-sg}}]" if name == "db" else ""
        docs += e2e.workload_documents(p, name, "net", host, (v4, v6), sg)
    return "\n---\n".join(docs) + "\n"


def setUpModule():
    e2e.WORKLOADS = [(n, "net", h) for n, (_, _, h) in WORKLOADS.items()]
    e2e.setUpModule()


def tearDownModule():
    e2e.tearDownModule()


class SecurityGroups(unittest.TestCase):
    def test_db_admits_its_client_on_its_port_only(self):
        fabric = e2e.fabric
        e2e.apply_yaml(documents(fabric.prefix), "sg.yaml")
        for name, (v4, v6, _) in WORKLOADS.items():
            e2e.wait_for_interface(name)
            self.assertEqual(e2e.dhcp(name), v4)
            sh(IP, "-6", "addr", "add", f"{v6}/64", "dev", "eth0", "nodad", ns=e2e.ns(name))
            for port in (22, 5432):
                for fam in ("-4", "-6"):
                    e2e.listen(name, port, fam)
        wait_for("the listeners", lambda: all(sh("ss", "-ltn", ns=e2e.ns(n)).stdout.count(":5432") >= 2 for n in WORKLOADS))
        wait_for("routes", lambda: len(fabric.hosts[0].api("route.list", vrf=f"default-domain:{fabric.prefix}:net")) >= 7)

        def connects(src, dst, port, v6=False):
            return e2e.connects(src, WORKLOADS[dst][1 if v6 else 0], port)

        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            self.assertTrue(connects("client", "db", 5432, v6), f"{fam}: the client reaches the database port")
            self.assertFalse(connects("client", "db", 22, v6), f"{fam}: but no other port")
            self.assertFalse(connects("intruder", "db", 5432, v6), f"{fam}: another address does not get in")
            self.assertTrue(connects("db", "client", 22, v6), f"{fam}: the database's egress is open")
        self.assertGreater(sum(h.counters()["drop_policy"] for h in fabric.hosts), 0)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
