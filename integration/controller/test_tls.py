"""vr-controller with TLS (--tls-cert/--tls-key) against vrctl, Python's ssl module and
`openssl s_client`: a throwaway CA and server certificate (subjectAltName IP 127.0.0.1)
made with the openssl CLI in a temporary directory. Checks verification in vrctl (--ca,
none, a wrong CA, --insecure, a name the certificate does not carry), plain HTTP on the
TLS port, clients that never finish a handshake (they hold no worker and are dropped at
the deadline), protocol versions and ciphers, the agent API over TLS, and the refusal of
a private key that group or others can read.
usage: python3 test_tls.py PATH/TO/vr-controller PATH/TO/vrctl"""
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from ctlharness import Controller

CONTROLLER = VRCTL = None
HANDSHAKE_TIMEOUT_MS = 2000
HEADER_TIMEOUT_MS = 2000


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)


def openssl(*args, cwd):
    p = run(["openssl"] + list(args), cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr))


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=%s" % name, cwd=d)
    return os.path.join(d, name + ".pem")


def make_server_cert(d, ca, name, san):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
            "-out", name + ".csr", "-subj", "/CN=%s" % name, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
            "-days", "2", "-out", name + ".pem", "-extfile", name + ".ext", cwd=d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="h5-tls-")
        cls.ca = make_ca(cls.dir, "h5-ca")
        cls.other_ca = make_ca(cls.dir, "h5-other-ca")
        cls.cert, cls.key = make_server_cert(cls.dir, "h5-ca", "h5-controller", "IP:127.0.0.1")
        cls.agent_port = free_port()
        cls.ctl = Controller(CONTROLLER, extra_args=[
            "--tls-cert", cls.cert, "--tls-key", cls.key,
            "--tls-handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS), "--header-timeout-ms", str(HEADER_TIMEOUT_MS),
            "--agent-listen", "127.0.0.1:%d" % cls.agent_port]).start()
        cls.url = "https://127.0.0.1:%d" % cls.ctl.port
        cls.home = os.path.join(cls.dir, "home")
        os.mkdir(cls.home)
        cls.env = dict(os.environ, HOME=cls.home, VRCTL_SERVER=cls.url, VRCTL_TOKEN=cls.ctl.admin)
        for k in ("XDG_CONFIG_HOME", "VRCTL_PROJECT", "VRCTL_CA"):
            cls.env.pop(k, None)

    @classmethod
    def tearDownClass(cls):
        cls.ctl.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def vrctl(self, *args, expect=0, env=None):
        p = run([VRCTL] + list(args), env=env or self.env)
        if expect is not None:
            self.assertEqual(p.returncode, expect, "vrctl %s\nstdout: %s\nstderr: %s" % (args, p.stdout, p.stderr))
        return p

    def https(self, port=None, cafile=None):
        ctx = ssl.create_default_context(cafile=cafile or self.ca)
        return http.client.HTTPSConnection("127.0.0.1", port or self.ctl.port, context=ctx, timeout=10)

    def request(self, method, path, body=None, port=None, token=None):
        c = self.https(port)
        try:
            h = {"Authorization": "Bearer " + (token or self.ctl.admin), "Content-Type": "application/json"}
            c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, json.loads(data) if data else None
        finally:
            c.close()

    def healthz(self):
        start = time.monotonic()
        status, body = self.request("GET", "/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        return time.monotonic() - start

    def metric(self, name):
        c = self.https()
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        m = re.search(r"^vrf_controller_%s (\S+)$" % name, text, re.M)
        self.assertIsNotNone(m, name + " missing from /metrics")
        return float(m.group(1))

    # ------------------------------------------------------------------ vrctl
    def test_1_vrctl_with_ca_creates_and_lists(self):
        self.vrctl("create", "virtual-network", "h5-tls-net", "--ca", self.ca)
        out = self.vrctl("get", "virtual-networks", "--ca", self.ca).stdout
        self.assertIn("default-domain:default-project:h5-tls-net", out)
        got = json.loads(self.vrctl("get", "vn", "h5-tls-net", "-o", "json", "--ca", self.ca).stdout)
        self.assertEqual(got[0]["fq_name"][-1], "h5-tls-net")
        # the CA from the environment works the same
        self.vrctl("get", "projects", env=dict(self.env, VRCTL_CA=self.ca))
        self.vrctl("delete", "virtual-network", "h5-tls-net", "--ca", self.ca)
        self.assertNotIn("h5-tls-net", self.vrctl("get", "virtual-networks", "--ca", self.ca).stdout)

    def test_2_vrctl_without_ca_fails_verification(self):
        p = self.vrctl("get", "projects", expect=1)
        self.assertIn("TLS certificate verification failed", p.stderr)
        self.assertIn("--ca FILE", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_3_vrctl_wrong_ca_fails(self):
        p = self.vrctl("get", "projects", "--ca", self.other_ca, expect=1)
        self.assertIn("TLS certificate verification failed", p.stderr)
        self.assertIn(self.other_ca, p.stderr)

    def test_4_vrctl_checks_the_address(self):
        # the chain is good, but the certificate names 127.0.0.1 only
        p = self.vrctl("get", "projects", "--ca", self.ca, "--server", "https://localhost:%d" % self.ctl.port, expect=1)
        self.assertIn("does not name this host", p.stderr)

    def test_5_vrctl_insecure_works_with_a_warning(self):
        p = self.vrctl("get", "projects", "--insecure")
        self.assertIn("default-domain:default-project", p.stdout)
        self.assertIn("warning: --insecure", p.stderr)
        p = self.vrctl("get", "projects", "--insecure", "--ca", self.ca, expect=1)
        self.assertIn("contradict", p.stderr)
        p = self.vrctl("get", "projects", "--ca", self.ca, "--server", "http://127.0.0.1:%d" % self.ctl.port, expect=1)
        self.assertIn("--ca needs an https:// server URL", p.stderr)

    # ------------------------------------------------------- hostile clients
    def test_6_plain_http_on_the_tls_port(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=10)
        c.request("GET", "/healthz")
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 400)
        self.assertIn("speaks HTTPS", body["error"]["message"])
        p = self.vrctl("get", "projects", "--server", "http://127.0.0.1:%d" % self.ctl.port, expect=1)
        self.assertIn("use an https:// URL", p.stderr)
        # bytes that are neither TLS nor HTTP: the connection is closed, nothing else
        with socket.create_connection(("127.0.0.1", self.ctl.port), timeout=10) as s:
            s.sendall(os.urandom(512))
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        self.assertIsNone(self.ctl.proc.poll())
        self.healthz()
        self.assertGreaterEqual(self.metric("http_tls_plain_requests_total"), 2)
        self.assertGreaterEqual(self.metric("http_tls_handshake_failures_total"), 1)

    def test_7_silent_clients_hold_no_worker_and_are_dropped(self):
        before = self.metric("http_tls_handshake_timeouts_total")
        silent = [socket.create_connection(("127.0.0.1", self.ctl.port), timeout=10) for _ in range(20)]
        # and some that begin a ClientHello and stop: a record header and a few bytes
        stalled = [socket.create_connection(("127.0.0.1", self.ctl.port), timeout=10) for _ in range(5)]
        for s in stalled:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        try:
            time.sleep(0.3)
            # 25 connections in handshake, more than the 16 request threads: others are served
            took = [self.healthz() for _ in range(5)]
            self.assertLess(max(took), 1.0, took)
            self.assertEqual(self.request("GET", "/virtual-networks")[0], 200)
            # at the handshake deadline each is closed
            deadline = time.monotonic() + HANDSHAKE_TIMEOUT_MS / 1000 + 3
            for s in silent + stalled:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    self.assertEqual(s.recv(1), b"")
                except ConnectionResetError:
                    pass
            self.assertEqual(self.metric("http_tls_handshake_timeouts_total") - before, 25)
        finally:
            for s in silent + stalled:
                s.close()
        self.healthz()

    def test_7b_slow_heads_after_the_handshake(self):
        # the head-read protections hold inside TLS: partial heads wait in the waiting room
        ctx = ssl.create_default_context(cafile=self.ca)
        slow = []
        try:
            for i in range(20):
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.ctl.port), timeout=10),
                                    server_hostname="127.0.0.1")
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
                slow.append(s)
            took = [self.healthz() for _ in range(5)]
            self.assertLess(max(took), 1.0, took)
            for s in slow:  # each gets its 408, encrypted, at the header deadline
                s.settimeout(HEADER_TIMEOUT_MS / 1000 + 3)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:80])
        finally:
            for s in slow:
                s.close()

    def test_7c_refusals_before_the_body_reach_the_client(self):
        # answered without reading the body: the refusal, then close_notify and FIN
        ctx = ssl.create_default_context(cafile=self.ca)
        for head, status in ((b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n", 401),
                             (b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                              b"Content-Length: 100000000\r\n\r\n" % self.ctl.admin.encode(), 413)):
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.ctl.port), timeout=10),
                                 server_hostname="127.0.0.1") as s:
                s.sendall(head + b"{" * 1000)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 %d " % status), data[:100])
                self.assertIn(b'"error"', data)
        self.healthz()

    # --------------------------------------------------- protocol and ciphers
    def s_client(self, *args):
        return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.ctl.port,
                               "-CAfile", self.ca, "-verify_ip", "127.0.0.1"] + list(args),
                              input="", capture_output=True, text=True, timeout=30)

    def test_8_s_client_versions_ciphers_certificate(self):
        for old in ("-tls1", "-tls1_1"):
            # SECLEVEL=0 so that the client really offers the old version: the refusal is
            # the server's alert 70
            p = self.s_client(old, "-cipher", "DEFAULT@SECLEVEL=0")
            self.assertNotEqual(p.returncode, 0, old)
            self.assertIn("alert protocol version", p.stderr, old)
        # no cipher without forward secrecy or without AEAD in TLS 1.2
        for weak in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA"):
            p = self.s_client("-tls1_2", "-cipher", weak + "@SECLEVEL=0")
            self.assertNotEqual(p.returncode, 0, weak)
            self.assertIn("alert handshake failure", p.stderr, weak)
        for good in (["-tls1_2"], ["-tls1_3"]):
            p = self.s_client(*good)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Verify return code: 0 (ok)", p.stdout)
            self.assertIn("subject=CN = h5-controller", p.stdout)
            self.assertIn("issuer=CN = h5-ca", p.stdout)
        self.assertIn("Protocol  : TLSv1.2", self.s_client("-tls1_2").stdout)
        self.healthz()

    # ------------------------------------------------------------- agent API
    def test_9_agent_api_serves_tls(self):
        status, body = self.request("POST", "/agents/register", {"host": "h5-tls-host", "fabric_ip": "192.0.2.55"},
                                    port=self.agent_port)
        self.assertEqual(status, 200, body)
        c = http.client.HTTPConnection("127.0.0.1", self.agent_port, timeout=10)
        c.request("GET", "/agents/bgp")
        self.assertEqual(c.getresponse().status, 400)
        c.close()

    # --------------------------------------------------------- start refusals
    def start_refused(self, *args):
        p = run([CONTROLLER, "--admin-token-file", os.path.join(self.dir, "refused.token"), "--listen", "127.0.0.1:0",
                 "--db", os.path.join(self.dir, "refused.db")] + list(args), stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "refused.db")), "started before checking TLS")
        return p.stdout + p.stderr

    def test_a_key_readable_by_others_is_refused(self):
        loose = os.path.join(self.dir, "loose.key")
        shutil.copy(self.key, loose)
        for mode, text in ((0o644, "mode 0644"), (0o640, "mode 0640")):
            os.chmod(loose, mode)
            out = self.start_refused("--tls-cert", self.cert, "--tls-key", loose)
            self.assertIn(text, out)
            self.assertIn("chmod 600", out)
        # the same through the config file's keys
        conf = os.path.join(self.dir, "tls.yaml")
        with open(conf, "w") as f:
            f.write("tls_cert: %s\ntls_key: %s\n" % (self.cert, loose))
        self.assertIn("mode 0640", self.start_refused("--config", conf))
        other_cert, other_key = make_server_cert(self.dir, "h5-other-ca", "h5-mismatch", "IP:127.0.0.1")
        out = self.start_refused("--tls-cert", self.cert, "--tls-key", other_key)
        self.assertIn("does not match", out)
        # an encrypted key fails at once (no pass phrase prompt) and says what is needed
        enc = os.path.join(self.dir, "encrypted.key")
        openssl("pkey", "-in", self.key, "-aes256", "-passout", "pass:h5", "-out", enc, cwd=self.dir)
        os.chmod(enc, 0o600)
        self.assertIn("an unencrypted PEM key is needed", self.start_refused("--tls-cert", self.cert, "--tls-key", enc))
        out = self.start_refused("--tls-cert", self.cert)
        self.assertIn("--tls-cert and --tls-key go together", out)
        out = self.start_refused("--tls-cert", os.path.join(self.dir, "absent.pem"), "--tls-key", self.key)
        self.assertIn("absent.pem", out)


if __name__ == "__main__":
    CONTROLLER, VRCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
