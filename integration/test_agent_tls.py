"""An agent following its host's config from a controller that serves TLS: the controller's
agent API on the fabric (in the underlay namespace) with a throwaway CA's certificate
(subjectAltName IP 192.0.2.1), the agent started with --controller https://... and
--controller-ca. With the right CA the host's network arrives as a VRF; with another CA
the agent refuses the controller (log says why) and gets nothing; plain http:// to the
TLS port gets nothing either.

usage: test_agent_tls.py VR_AGENT VR_CONTROLLER
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "controller"))
from harness import IP, Fabric, sh, wait_for  # noqa: E402
from test_tls import make_ca, make_server_cert  # noqa: E402

AGENT, CONTROLLER = sys.argv[1], sys.argv[2]
FABRIC_CTL = "192.0.2.1"


def read(path):
    with open(path) as f:
        return f.read()


class AgentTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fabric = Fabric(1)
        try:
            cls.start_controller()
        except BaseException:
            if getattr(cls, "ctl", None):
                cls.ctl.kill()
                cls.ctl.wait()
            cls.fabric.close()
            raise

    @classmethod
    def start_controller(cls):
        f = cls.fabric
        sh(IP, "addr", "add", f"{FABRIC_CTL}/24", "dev", "br0", ns=f.underlay)
        cls.ca = make_ca(f.tmp, "h5-agent-ca")
        cls.other_ca = make_ca(f.tmp, "h5-agent-other-ca")
        cert, key = make_server_cert(f.tmp, "h5-agent-ca", "h5-agent-controller", f"IP:{FABRIC_CTL},IP:127.0.0.1")
        cls.token_file = os.path.join(f.tmp, "admin.token")
        port_file = os.path.join(f.tmp, "port")
        cls.log = open(os.path.join(f.tmp, "controller.log"), "w")
        cls.ctl = subprocess.Popen(
            [CONTROLLER, "--listen", "127.0.0.1:0", "--port-file", port_file, "--db", os.path.join(f.tmp, "ctl.db"),
             "--admin-token-file", cls.token_file, "--tls-cert", cert, "--tls-key", key,
             "--fabric-netns", f.underlay, "--agent-listen", f"{FABRIC_CTL}:8082"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        wait_for("the controller", lambda: os.path.exists(port_file) and read(port_file).strip(), 20)
        cls.port = int(read(port_file))
        cls.token = read(cls.token_file).strip()

    @classmethod
    def tearDownClass(cls):
        cls.fabric.close()
        cls.ctl.terminate()
        cls.ctl.wait(10)
        cls.log.close()

    def rest(self, method, path, body=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                        context=ssl.create_default_context(cafile=self.ca))
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = c.getresponse()
        data = json.loads(r.read() or b"null")
        c.close()
        self.assertIn(r.status, (200, 201), data)
        return data

    def vrfs(self, h):
        return [v["name"] for v in h.api("vrf.list")]

    def start_agent(self, url, *extra):
        h = self.fabric.hosts[0]
        h.stop_agent()
        open(h.log, "w").close()
        self.fabric.agent_bin = AGENT
        h.start_agent("--controller", url, "--token-file", self.token_file, "--host", "h5-node-1", *extra)
        return h

    def test_agent_follows_a_tls_controller(self):
        d = "default-domain"
        self.rest("POST", "/projects", {"project": {"fq_name": [d, "h5tls"]}})
        self.rest("POST", "/network-ipams", {"network-ipam": {"fq_name": [d, "h5tls", "ipam"]}})
        self.rest("POST", "/virtual-networks", {"virtual-network": {
            "fq_name": [d, "h5tls", "red"],
            "network_ipam_refs": [{"to": [d, "h5tls", "ipam"], "attr": {"ipam_subnets": [{"subnet": "10.5.1.0/24"}]}}]}})
        self.rest("POST", "/virtual-machine-interfaces", {"virtual-machine-interface": {
            "fq_name": [d, "h5tls", "w1-eth0"], "host_id": "h5-node-1",
            "virtual_network_refs": [{"to": [d, "h5tls", "red"]}]}})
        vrf = "default-domain:h5tls:red"

        # another CA: the agent refuses the controller and says why
        h = self.start_agent(f"https://{FABRIC_CTL}:8082", "--controller-ca", self.other_ca)
        wait_for("the agent's verification error",
                 lambda: "TLS certificate verification failed" in read(h.log), 15)
        self.assertNotIn(vrf, self.vrfs(h))

        # plain http to the TLS port: nothing arrives either
        h = self.start_agent(f"http://{FABRIC_CTL}:8082")
        wait_for("the agent's registration error", lambda: "speaks HTTPS" in read(h.log), 15)
        self.assertNotIn(vrf, self.vrfs(h))

        # the right CA: the host's network arrives over the TLS stream
        h = self.start_agent(f"https://{FABRIC_CTL}:8082", "--controller-ca", self.ca)
        wait_for("the VRF from the controller", lambda: vrf in self.vrfs(h), 20)

        # an agent refuses --controller-ca with an http:// controller at start
        p = subprocess.run([IP, "netns", "exec", h.name, AGENT, "--fabric", "fab0", "--socket",
                            os.path.join(self.fabric.tmp, "x.sock"), "--controller", f"http://{FABRIC_CTL}:8082",
                            "--controller-ca", self.ca], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--controller-ca needs an https://", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
