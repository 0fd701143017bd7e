"""Per-host agent credentials: a token made with {"agent_host": H} (global admin only)
may register H and read H's config snapshot and stream, and nothing else: another host's
config or stream, registering as another host, every REST object route, /watch,
/tokens and /policy-status are 403. The global admin token keeps working for agents.
usage: python3 test_agent_tokens.py PATH/TO/vr-controller PATH/TO/vrctl"""
import http.client
import json
import os
import subprocess
import sys
import unittest

from ctlharness import Controller, network

BINARY = VRCTL = None
D = "default-domain"


def stream_head(port, path, token):
    """Status of a streaming GET and its first event (or None), without waiting for the end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        if r.status != 200:
            return r.status, json.loads(r.read())
        event = b""
        while not event.endswith(b"\n\n"):
            event += r.fp.readline()
        return r.status, event.decode()
    finally:
        conn.close()


class AgentTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ctl = Controller(BINARY).start()
        c = cls.admin = cls.ctl.client()
        vn = network(c, "agt", "net", ["10.77.0.0/24"])
        for name, host in (("p1", "h1"), ("p2", "h2")):
            c.must(c.create("virtual-machine-interface", "virtual-machine-interfaces",
                            {"fq_name": [D, "agt", name], "virtual_network_refs": [{"uuid": vn}], "host_id": host},
                            "?allocate_ip=v4"))
        cls.h1_token = c.must(c.post("/tokens", {"agent_host": "h1"}))["token"]
        cls.h1 = cls.ctl.client(cls.h1_token)

    @classmethod
    def tearDownClass(cls):
        cls.ctl.cleanup()

    def forbidden(self, resp, *fragments):
        status, body = resp
        self.assertEqual(status, 403, body)
        for f in fragments:
            self.assertIn(f, body["error"]["message"])

    def test_own_host_config_and_stream(self):
        snap = self.h1.must(self.h1.get("/agents/h1/config"))
        self.assertEqual([i["uuid"] for i in snap["interfaces"]],
                         [self.admin.must(self.admin.get("/virtual-machine-interfaces?fq_name=default-domain:agt:p1"))
                          ["virtual-machine-interfaces"][0]["uuid"]])
        self.assertEqual(len(snap["vrfs"]), 1)
        status, event = stream_head(self.ctl.port, "/agents/h1/watch", self.h1_token)
        self.assertEqual(status, 200)
        self.assertIn("event: config", event)
        self.assertIn(snap["interfaces"][0]["uuid"], event)
        reg = self.h1.must(self.h1.post("/agents/register", {"host": "h1", "fabric_ip": "192.0.2.11"}))
        self.assertEqual(reg["host"], "h1")

    def test_other_hosts_refused(self):
        self.forbidden(self.h1.get("/agents/h2/config"), "for host 'h1', not 'h2'")
        status, body = stream_head(self.ctl.port, "/agents/h2/watch", self.h1_token)
        self.assertEqual(status, 403, body)
        self.forbidden(self.h1.post("/agents/register", {"host": "h5", "fabric_ip": "192.0.2.15"}), "not 'h5'")
        self.forbidden(self.h1.get("/agents"), "global admin only")
        self.forbidden(self.h1.get("/agents/bgp"), "global admin only")
        agents = self.admin.must(self.admin.get("/agents"))["agents"]
        self.assertNotIn("h5", [a["host"] for a in agents])  # the refused registration left nothing

    def test_rest_routes_refused(self):
        for path in ("/virtual-networks", "/virtual-machine-interfaces", "/projects", "/global-system-configs",
                     "/tokens", "/policy-status"):
            self.forbidden(self.h1.get(path), "agent token")
        vn = self.admin.must(self.admin.get("/virtual-networks?fq_name=default-domain:agt:net"))["virtual-networks"][0]
        self.forbidden(self.h1.get("/virtual-network/" + vn["uuid"]), "agent token")
        self.forbidden(self.h1.raw("DELETE", "/virtual-network/" + vn["uuid"]), "agent token")
        self.forbidden(self.h1.create("virtual-network", "virtual-networks", {"fq_name": [D, "agt", "evil"]}))
        self.forbidden(self.h1.post("/tokens", {"agent_host": "h2"}))
        self.forbidden(self.h1.post("/fqname-to-id", {"type": "virtual-network", "fq_name": [D, "agt", "net"]}))
        status, body = stream_head(self.ctl.port, "/watch?since=0", self.h1_token)
        self.assertEqual(status, 403, body)
        self.assertEqual(self.admin.get("/virtual-network/" + vn["uuid"])[0], 200)  # not deleted

    def test_who_may_create_agent_tokens(self):
        c = self.admin
        network(c, "agt2", "n", ["10.78.0.0/24"])
        padmin = self.ctl.client(c.token_for("default-domain:agt2", "admin"))
        self.forbidden(padmin.post("/tokens", {"agent_host": "h3"}), "only the global admin")
        for bad in ({"agent_host": ""}, {"agent_host": "h1:admin"}, {"agent_host": 7},
                    {"agent_host": "h1", "role": "admin"}):
            status, body = c.post("/tokens", bad)
            self.assertEqual(status, 400, (bad, body))
            self.assertIn(body["error"]["field"], ("agent_host", "role"))
        listed = c.must(c.get("/tokens"))["tokens"]
        self.assertIn("agent:h1", [t["role"] for t in listed])

    def test_admin_token_still_works_for_agents(self):
        snap = self.admin.must(self.admin.get("/agents/h2/config"))
        self.assertEqual(len(snap["interfaces"]), 1)
        self.assertEqual(stream_head(self.ctl.port, "/agents/h2/watch", self.ctl.admin)[0], 200)
        self.admin.must(self.admin.post("/agents/register", {"host": "h2", "fabric_ip": "192.0.2.12"}))

    def test_vrctl_creates_agent_tokens(self):
        env = dict(os.environ, VRCTL_SERVER=self.ctl.url(), VRCTL_TOKEN=self.ctl.admin, HOME=self.ctl.dir)
        out = subprocess.run([VRCTL, "token", "create", "--agent-host", "h9"], capture_output=True, text=True,
                             env=env, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.strip()
        h9 = self.ctl.client(token)
        self.assertEqual(h9.get("/agents/h9/config")[0], 200)
        self.forbidden(h9.get("/agents/h1/config"))
        bad = subprocess.run([VRCTL, "token", "create", "--agent-host", "h9", "--role", "admin"], capture_output=True,
                             text=True, env=env, timeout=30)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--agent-host takes neither", bad.stderr)


if __name__ == "__main__":
    BINARY, VRCTL = sys.argv.pop(1), sys.argv.pop(1)
    unittest.main(verbosity=2)
