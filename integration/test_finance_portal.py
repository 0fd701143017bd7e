"""The whitepaper's FinancePortal, from examples/finance-portal.yaml, enforced end to end:
controller (policy compiled from tags, firewall rules, service groups and the application
policy set), two hosts, six workloads (web/app/db in dev and prod). Real TCP connections
between every pair: only web->app on 8080 and app->db on 1521/1630 within one deployment
get through.

Each tier has its own network; the example's network policy connects them (routes leaked
between their VRFs) and the tag-based firewall policy decides.

usage: test_finance_portal.py VR_AGENT VRCTL VR_CONTROLLER
"""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_end_to_end as e2e  # noqa: E402  (controller and agent set-up)
from harness import IP, sh  # noqa: E402

EXAMPLE = os.path.join(HERE, "..", "examples", "finance-portal.yaml")
TIERS, DEPLOYMENTS = ("web", "app", "db"), ("dev", "prod")
WORKLOADS = [f"{t}-{d}" for d in DEPLOYMENTS for t in TIERS]
PORT_OF = {"app": 8080, "db": 1521}


def portal_yaml(p):
    with open(EXAMPLE) as f:
        text = f.read().replace("default-domain:finance", f"default-domain:{p}")
    # Virtual machines are named after the namespaces their workloads run in.
    text = re.sub(rf"default-domain:{p}:((?:web|app|db)-(?:dev|prod))(?![-\w])", rf"default-domain:{p}:{p}-\1", text)
    for i, w in enumerate(WORKLOADS):
        text = text.replace(f"fq_name: default-domain:{p}:{w}-eth0\n",
                            f"fq_name: default-domain:{p}:{w}-eth0\nhost_id: node-{i % 2 + 1}\n")
    return text


def ns(w):
    return f"{e2e.fabric.prefix}-{w}"


def setUpModule():
    e2e.WORKLOADS = [(w, None, None) for w in WORKLOADS]
    e2e.setUpModule(hosts=2)


def tearDownModule():
    e2e.tearDownModule()


class FinancePortal(unittest.TestCase):
    def test_only_the_three_tier_flows_within_a_deployment(self):
        fabric = e2e.fabric
        e2e.apply_yaml(portal_yaml(fabric.prefix), "portal.yaml")
        addr = {}
        for w in WORKLOADS:
            e2e.wait_for_interface(w)
            addr[w] = e2e.dhcp(w)
        for w in WORKLOADS:
            for port in (22, 8080, 1521, 1630):
                e2e.listen(w, port)
        # Every tier network's VRF routes to all six workloads (plus its gateway) on both hosts.
        e2e.wait_for("routes", lambda: all(
            len(h.api("route.list", vrf=f"default-domain:{fabric.prefix}:{t}-net")) >= 7
            for h in fabric.hosts for t in TIERS))
        e2e.wait_for("the listeners", lambda: all(
            str(port) in sh("ss", "-ltn", ns=ns(w)).stdout for w in WORKLOADS for port in (22, 8080, 1521, 1630)))

        def connects(src, dst, port):
            return e2e.connects(src, addr[dst], port)

        results = []
        for src in WORKLOADS:
            for dst in WORKLOADS:
                if src == dst:
                    continue
                (st, sd), (dt, dd) = src.split("-"), dst.split("-")
                for port in sorted({PORT_OF.get(dt, 8080), 1630 if dt == "db" else 22}):
                    allowed = sd == dd and ((st, dt, port) in {("web", "app", 8080), ("app", "db", 1521), ("app", "db", 1630)})
                    got = connects(src, dst, port)
                    results.append((src, dst, port, allowed, got))
        wrong = [r for r in results if r[3] != r[4]]
        self.assertEqual(wrong, [], f"(src, dst, port, expected, got) mismatches out of {len(results)}")
        self.assertEqual(sum(r[3] for r in results), 6, "web->app:8080 and app->db:1521/1630 in each deployment")
        # A connection that stays open shows in the flow table with the rule that allowed it.
        held = subprocess.Popen([IP, "netns", "exec", ns("web-dev"), "sh", "-c", f"sleep 2 | nc -N -w 3 {addr['app-dev']} 8080"])
        try:
            e2e.wait_for("the held flow", lambda: any(
                f["dst"] == f"{addr['app-dev']}:8080" and f["action"] == "pass" and "web-to-app" in f["decided_by"]
                for f in fabric.hosts[0].api("flow.list", address=addr["app-dev"])), 5)
        finally:
            held.kill()
            held.wait()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
