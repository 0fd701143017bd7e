"""Flow-based enforcement in the datapath, with compiled tables handed to the agents as the
controller does: real TCP/UDP/ICMP between namespaces across two hosts, IPv4 and IPv6.
Only what a rule passes gets through; return traffic of an allowed flow passes; flows are
listed with the rule that decided them; a policy change re-decides existing flows.

usage: test_policy_flows.py VR_AGENT VRCTL
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Fabric, Workload, sh  # noqa: E402

AGENT, VRCTL = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
fabric = None
w = {}
WEB, DB = 1, 2  # endpoint groups


def policy(rules):
    epgs = []
    for name, epg in (("web", WEB), ("db", DB)):
        for a in w[name].ips:
            addr = a.split("/")[0]
            epgs.append({"vrf": "red", "prefix": addr + ("/128" if ":" in addr else "/32"), "epg": epg})
    return {"epgs": epgs, "rules": rules,
            "descriptions": {"7": "firewall-rule web-to-db-5432", "8": "firewall-rule web-to-db-icmp"}}


def tcp_port(port, proto=6, rule_id=7, src=WEB, dst=DB, port_len=16):
    return {"src_epg": src, "dst_epg": dst, "proto": proto, "port": port, "port_len": port_len, "action": "pass",
            "rule_id": rule_id}


def apply(rules):
    for h in fabric.hosts:
        h.api("policy.apply", policy=policy(rules))


def connect(src, dst, port, timeout=2):
    """A real TCP connection from src to dst:port (nc listens on the other side)."""
    family = "-6" if ":" in dst else "-4"
    srv = subprocess.Popen([IP, "netns", "exec", w["db" if src == "web" else "web"].ns, "nc", family, "-l", "-p", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        r = sh("sh", "-c", f"echo hello | nc -w {timeout} -N {dst} {port}", ns=w[src].ns, check=False, timeout=10)
        return r.returncode == 0 and srv.wait(3) == 0 and srv.stdout.read().strip() == b"hello"
    except subprocess.TimeoutExpired:
        return False
    finally:
        srv.kill()
        srv.wait()
        srv.stdout.close()


def setUpModule():
    global fabric
    fabric = Fabric(2, agent_bin=AGENT, vrctl_bin=VRCTL)
    h1, h2 = fabric.hosts
    for h in fabric.hosts:
        h.api("vrf.add", name="red", vni=100)
        h.api("route.add", vrf="red", prefix="10.1.1.1/32", nexthop="receive")
    w["web"] = Workload(h1, "red", "web", "02:00:00:00:00:0a", ["10.1.1.10/24", "fd00::10/64"])
    w["db"] = Workload(h2, "red", "db", "02:00:00:00:00:0b", ["10.1.1.11/24", "fd00::11/64"])
    for wl, h in ((w["web"], h2), (w["db"], h1)):
        h.api("endpoint.add", vrf="red", mac=wl.mac, ips=[a.split("/")[0] for a in wl.ips], remote=wl.host.fabric_ip,
              encap="mplsudp", label=wl.label)


def tearDownModule():
    fabric.close()


class PolicyFlows(unittest.TestCase):
    def test_1_without_policy_everything_in_the_network_passes(self):
        self.assertTrue(w["web"].ping("10.1.1.11"))
        self.assertTrue(connect("web", "10.1.1.11", 5432))
        self.assertEqual(fabric.hosts[0].counters()["flow_new"], 0, "no policy: no flow table")

    def test_2_only_what_a_rule_passes(self):
        apply([tcp_port(5432)])
        self.assertTrue(connect("web", "10.1.1.11", 5432), "web -> db:5432 is allowed")
        self.assertTrue(connect("web", "fd00::11", 5432), "and over IPv6")
        self.assertFalse(connect("web", "10.1.1.11", 22), "web -> db:22 is not")
        self.assertFalse(connect("db", "10.1.1.10", 5432), "db may not open connections to web")
        self.assertFalse(w["web"].ping("10.1.1.11", count=1), "no rule for ICMP")
        c = fabric.hosts[0].counters()
        self.assertGreater(c["drop_policy"], 0)
        self.assertGreater(c["flow_hit"], 0, "established flows skip policy")

    def test_3_flows_are_listed_with_the_rule_that_decided(self):
        apply([tcp_port(5432)])
        self.assertTrue(connect("web", "10.1.1.11", 5432))
        flows = fabric.hosts[0].api("flow.list", vrf="red", address="10.1.1.11")
        fwd = [f for f in flows if f["dst"] == "10.1.1.11:5432" and f["src"].startswith("10.1.1.10:")]
        self.assertTrue(fwd, flows)
        self.assertEqual((fwd[0]["action"], fwd[0]["decided_by"]), ("pass", "firewall-rule web-to-db-5432"))
        # One entry carries both directions: the handshake's packets both ways are counted on it.
        self.assertGreaterEqual(fwd[0]["packets"], 3, fwd[0])
        self.assertFalse(any(f["src"].startswith("10.1.1.11:5432") for f in flows), "a second entry for the reply")
        denied = fabric.hosts[0].api("flow.list", address="10.1.1.11")
        self.assertTrue(any(f["action"] == "deny" and f["dst"].endswith(":22") for f in denied), denied)
        table = fabric.hosts[0].vrctl("show", "flows", "--vrf", "red").stdout
        self.assertIn("firewall-rule web-to-db-5432", table)
        only = fabric.hosts[0].api("flow.list", action="deny")
        self.assertTrue(only and all(f["action"] == "deny" for f in only), only)
        self.assertNotIn("web-to-db-5432", fabric.hosts[0].vrctl("show", "flows", "--action", "deny").stdout)

    def test_4_policy_change_re_decides_existing_flows(self):
        apply([tcp_port(5432), tcp_port(0, proto=1, rule_id=8, port_len=0)])  # ICMP: any type
        self.assertTrue(w["web"].ping("10.1.1.11", count=1))
        # An ICMP "flow" with one identifier stays in the table; removing the rule must stop it.
        pinger = subprocess.Popen([IP, "netns", "exec", w["web"].ns, "ping", "-i", "0.1", "-c", "40", "10.1.1.11"],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        apply([tcp_port(5432)])
        out = pinger.communicate(timeout=20)[0]
        received = int(out.split(" received")[0].split()[-1])
        self.assertTrue(5 < received < 35, f"replies before and none after the change: {out}")

    def test_5_policy_change_keeps_allowed_replies_flowing(self):
        """After a change, a stale flow may first be seen in its reply direction (here the
        server pushes data, the client only acknowledges): it is decided again as the packet
        that opened it, so a flow the new policy still allows is not cut."""
        apply([tcp_port(5432)])
        server = subprocess.Popen([IP, "netns", "exec", w["db"].ns, "python3", "-c", (
            "import socket, time\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('10.1.1.11', 5432)); s.listen(1); c, _ = s.accept()\n"
            "for _ in range(40):\n    c.sendall(b'x'); time.sleep(0.1)\n"
            "c.close()\n")])
        time.sleep(0.5)
        client = subprocess.Popen([IP, "netns", "exec", w["web"].ns, "python3", "-c", (
            "import socket\n"
            "c = socket.create_connection(('10.1.1.11', 5432), timeout=8); n = 0\n"
            "while True:\n    d = c.recv(100)\n    n += len(d)\n    if not d: break\n"
            "print(n)\n")], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            apply([tcp_port(5432), tcp_port(80, rule_id=9)])  # another rule: every flow is re-decided
            out = client.communicate(timeout=20)[0]
        finally:
            for p in (client, server):
                p.kill()
                p.wait()
        self.assertEqual(out.strip(), "40", "the server's data after the change reached the client")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
