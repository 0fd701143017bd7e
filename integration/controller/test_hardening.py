"""The controller's HTTP front against a hostile client (issue 10, defects 5 and 8), each
case against a real vr-controller on loopback: deep and wide JSON, bytes that are not
UTF-8, bodies without a token, multi-range requests, slow and idle connections, many
watch streams, token guessing, and the files that hold secrets.
usage: python3 test_hardening.py PATH/TO/vr-controller"""
import http.client
import json
import os
import select
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from ctlharness import Controller

BINARY = None
D = "default-domain"


def connect(port, source="127.0.0.1", timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(sock, limit=1 << 24):
    """Reads one HTTP response from a raw socket: (status, headers dict, body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head: %r" % data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(body) < n and len(body) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def raw_request(port, head, body=b"", source="127.0.0.1"):
    s = connect(port, source)
    try:
        s.sendall(head + body)
        return read_response(s)
    finally:
        s.close()


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


class HardeningTest(unittest.TestCase):
    # Small limits so that each one is reached quickly; timeouts short enough to watch.
    ARGS = ["--max-body-bytes", "65536", "--max-json-elements", "5000", "--header-timeout-ms", "1500",
            "--idle-timeout-ms", "3000", "--max-watch-streams", "30", "--max-watch-streams-per-token", "8",
            "--auth-failure-burst", "20", "--auth-failure-rate", "2"]

    @classmethod
    def setUpClass(cls):
        cls.ctl = Controller(BINARY, extra_args=cls.ARGS).start()
        cls.c = cls.ctl.client()
        cls.c.must(cls.c.create("project", "projects", {"fq_name": [D, "hard"]}))

    @classmethod
    def tearDownClass(cls):
        cls.ctl.cleanup()

    def setUp(self):
        self.assertIsNone(self.ctl.proc.poll(), "controller died in an earlier test")

    def tearDown(self):
        self.assertIsNone(self.ctl.proc.poll(), "controller died")

    def error(self, status, body, expect_status, *fragments):
        self.assertEqual(status, expect_status, body)
        if isinstance(body, bytes):
            body = json.loads(body)
        self.assertEqual(body["error"]["status"], expect_status)
        for f in fragments:
            self.assertIn(f, body["error"]["message"])
        return body["error"]

    def healthy(self):
        st, body = self.ctl.client(token="").get("/healthz")
        return st == 200 and body == {"status": "ok"}

    def metric(self, name):
        for line in self.c.get("/metrics")[1].splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError("no metric " + name)

    # ------------------------------------------------------------ JSON limits
    def test_deep_json_is_refused_and_the_controller_survives(self):
        deep = '{"virtual-network": {"fq_name": [%s]}}' % ("[" * 100000 + "]" * 100000)
        self.assertGreater(len(deep), 60000)
        ctl = Controller(BINARY, extra_args=["--max-body-bytes", "1048576"]).start()
        try:
            c = ctl.client()
            st, body = c.raw("POST", "/virtual-networks", deep)
            self.error(st, body, 400, "nested deeper than 64", "max_json_depth")
            for path in ("/fqname-to-id", "/tokens"):
                self.error(*c.raw("POST", path, deep), 400, "max_json_depth")
            self.assertIsNone(ctl.proc.poll())
            self.assertEqual(c.get("/healthz"), (200, {"status": "ok"}))
            # 64 levels are still fine: the limit is where it says
            st, body = c.post("/fqname-to-id", {"type": "virtual-network", "fq_name": [D, "x", "y"],
                                                 "deep": json.loads("[" * 60 + "]" * 60)})
            self.assertEqual(st, 404, body)
        finally:
            ctl.cleanup()

    def test_element_count_limit(self):
        wide = {"virtual-network": {"fq_name": [D, "hard", "wide"], "description": "x",
                                    "annotations": [0] * 6000}}
        self.error(*self.c.post("/virtual-networks", wide), 400, "more than 5000 elements", "max_json_elements")

    # ------------------------------------------------------------ UTF-8
    def test_invalid_utf8_anywhere_is_a_400_not_a_500(self):
        c = self.c
        vm = c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "hard", "vm-utf8"]}))
        uuid = vm["virtual-machine"]["uuid"]
        good_body = json.dumps({"virtual-machine": {"display_name": "x"}})
        cases = [
            ("GET", "/virtual-network/%FF%FE", None),                  # object path segment
            ("GET", "/virtual-networks%FF", None),                     # collection name
            ("GET", "/%C0%AF", None),                                  # unknown route (overlong '/')
            ("DELETE", "/virtual-machine/%ED%A0%80", None),            # a surrogate as uuid
            ("PUT", "/virtual-machine/%FF", good_body),                # PUT path
            ("GET", "/virtual-networks?%FF=1", None),                  # query parameter name
            ("GET", "/virtual-networks?fq_name=default-domain:%FF", None),         # fq_name value
            ("GET", "/virtual-networks?parent_fq_name=default-domain%3A%FF", None),
            ("GET", "/virtual-networks?project=%FF%FF", None),
            ("GET", "/virtual-machine/%s?back_refs=%%FF" % uuid, None),
            ("GET", "/watch?types=%FF", None),                         # watch type list
            ("GET", "/agents/%FF/config", None),                       # agent routes too
            ("POST", "/virtual-machines", b'{"virtual-machine": {"fq_name": ["default-domain", "hard", "\xff"]}}'),
            ("POST", "/virtual-machines", b'{"virtual-machine": \xff'),               # parse error quoting it
            ("POST", "/fqname-to-id", b'{"type": "virtual-network", "fq_name": ["\xc3"]}'),
            ("PUT", "/virtual-machine/" + uuid, b'{"virtual-machine": {"display_name": "\xed\xa0\x80"}}'),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path, body=body):
                st, answer = c.raw(method, path, body)
                self.assertEqual(st, 400, answer)
                self.assertEqual(answer["error"]["status"], 400)
                self.assertIn("UTF-8", answer["error"]["message"])
        # raw (not percent-encoded) bytes in the request line
        st, _, body = raw_request(self.ctl.port, b"GET /virtual-network/\xff\xfe HTTP/1.1\r\nHost: x\r\n"
                                  b"Authorization: Bearer " + self.ctl.admin.encode() + b"\r\n\r\n")
        self.error(st, body, 400, "UTF-8")
        self.assertEqual(c.must(c.get("/virtual-machine/" + uuid))["virtual-machine"]["fq_name"][-1], "vm-utf8")

    # ------------------------------------------------------------ bodies before auth
    def test_unauthenticated_chunked_body_is_refused_before_it_is_read(self):
        s = connect(self.ctl.port)
        try:
            s.sendall(b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            # Not a byte of body sent yet: the answer comes anyway.
            s.settimeout(3)
            st, headers, body = read_response(s)
            self.error(st, body, 401, "missing bearer token")
            self.assertEqual(headers.get("connection"), "close")
            # The connection is closed: the body it wanted to send goes nowhere.
            sent = 0
            with self.assertRaises(OSError):
                chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
                for _ in range(200):  # 3 MB, far past --max-body-bytes
                    s.sendall(chunk)
                    sent += len(chunk)
            self.assertLess(sent, 3 << 20)
        finally:
            s.close()
        # the same with a wrong token, with a huge declared length, and with 100-continue
        for extra in (b"Authorization: Bearer wrong\r\nTransfer-Encoding: chunked\r\n",
                      b"Content-Length: 10000000000\r\n",
                      b"Expect: 100-continue\r\nContent-Length: 100\r\n"):
            with self.subTest(extra=extra):
                s = connect(self.ctl.port, source="127.0.0.5")
                try:
                    s.sendall(b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
                    s.settimeout(3)
                    st, headers, body = read_response(s)
                    self.assertIn(st, (401, 413), body)
                    self.assertNotEqual(st, 100)
                finally:
                    s.close()

    def test_chunked_body_limit_with_a_valid_token(self):
        s = connect(self.ctl.port)
        try:
            s.sendall(b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + self.ctl.admin.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")

            def send_body():  # 256 KB, four times the limit, while the answer is read
                try:
                    for _ in range(16):
                        s.sendall(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
                except OSError:
                    pass
            sender = threading.Thread(target=send_body)
            sender.start()
            s.settimeout(5)
            st, headers, body = read_response(s)
            sender.join()
            self.error(st, body, 413, "limit 65536")
            self.assertEqual(headers.get("connection"), "close")
            self.assertEqual(s.recv(100), b"")  # closed after it (the rest was discarded, not kept)
        finally:
            s.close()
        # compressed bodies would be inflated past the limit: refused
        st, _, body = raw_request(self.ctl.port, b"POST /virtual-networks HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                  b"Content-Encoding: gzip\r\nAuthorization: Bearer " + self.ctl.admin.encode() +
                                  b"\r\n\r\n", b"abcd")
        self.error(st, body, 415, "compressed")
        # a small chunked body is fine
        doc = json.dumps({"virtual-machine": {"fq_name": [D, "hard", "chunked-vm"]}}).encode()
        st, _, body = raw_request(self.ctl.port, b"POST /virtual-machines HTTP/1.1\r\nHost: x\r\n"
                                  b"Transfer-Encoding: chunked\r\nAuthorization: Bearer " + self.ctl.admin.encode() +
                                  b"\r\n\r\n", b"%x\r\n%s\r\n0\r\n\r\n" % (len(doc), doc))
        self.assertEqual(st, 201, body)

    # ------------------------------------------------------------ Range
    def test_multi_range_request_is_not_amplified(self):
        plain = raw_request(self.ctl.port, b"GET /schema HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(plain[0], 200)
        ranges = "bytes=" + ",".join(["0-"] * 700)  # ~2.8 KB of header
        st, headers, body = raw_request(self.ctl.port, b"GET /schema HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n"
                                        % ranges.encode())
        self.assertEqual(st, 200)
        self.assertNotIn("multipart", headers.get("content-type", ""))
        self.assertNotIn("content-range", headers)
        self.assertEqual(body, plain[2])
        st, headers, body = raw_request(self.ctl.port, b"GET /schema HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n")
        self.assertEqual((st, len(body)), (200, len(plain[2])))  # a single range is ignored as well

    # ------------------------------------------------------------ slow connections
    def slowloris(self, n, source):
        socks = []
        for i in range(n):
            s = connect(self.ctl.port, source)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
            socks.append(s)
        return socks

    def quick_answers(self):
        """Latency of /healthz and of a write, each on a new connection."""
        t_health, ok = timed(self.healthy)
        self.assertTrue(ok)
        name = "slow-%d" % time.monotonic_ns()
        t_write, resp = timed(lambda: self.ctl.client().create("virtual-machine", "virtual-machines",
                                                               {"fq_name": [D, "hard", name]}))
        self.assertEqual(resp[0], 201, resp)
        return t_health, t_write

    def test_slow_headers_do_not_block_other_clients(self):
        for n in (16, 64):
            socks = self.slowloris(n, "127.0.0.6")
            try:
                time.sleep(0.3)
                # keep trickling: one more header byte on every connection
                for s in socks:
                    s.sendall(b"a")
                t_health, t_write = self.quick_answers()
                print("\n  %d slow connections: healthz %.1f ms, write %.1f ms" % (n, t_health * 1000, t_write * 1000))
                self.assertLess(t_health, 1.0)
                self.assertLess(t_write, 1.0)
                # Trickling does not extend the head's deadline (1.5 s here): answered 408, closed.
                answered = set()
                deadline = time.monotonic() + 4
                while time.monotonic() < deadline and len(answered) < n:
                    readable, _, _ = select.select(socks, [], [], 0.25)
                    answered.update(readable)
                    for s in socks:
                        if s not in answered:
                            s.sendall(b"a")
                self.assertEqual(len(answered), n)
                socks[0].settimeout(1)
                st, _, body = read_response(socks[0])
                self.error(st, body, 408, "not received within 1500 ms")
            finally:
                for s in socks:
                    s.close()
        self.assertGreaterEqual(self.metric("vrf_controller_http_head_timeouts_total"), 64)

    def test_idle_connections_hold_no_thread_and_are_closed(self):
        socks = [connect(self.ctl.port, "127.0.0.7") for _ in range(40)]  # connected, silent
        try:
            t_health, t_write = self.quick_answers()
            self.assertLess(t_health, 1.0)
            self.assertLess(t_write, 1.0)
            # a keep-alive connection idle past --idle-timeout-ms is closed by the server
            c = self.ctl.client()
            self.assertEqual(c.get("/healthz")[0], 200)
            time.sleep(3.5)
            c.conn.sock.settimeout(1)
            self.assertEqual(c.conn.sock.recv(1), b"")
        finally:
            for s in socks:
                s.close()

    def test_oversized_request_head(self):
        st, _, body = raw_request(self.ctl.port, b"GET /healthz HTTP/1.1\r\n" + b"X-Big: " + b"y" * 70000 + b"\r\n\r\n")
        self.error(st, body, 431, "larger than 65536")

    # ------------------------------------------------------------ watch streams
    def open_watch(self, token, source="127.0.0.1"):
        conn = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=10, source_address=(source, 0))
        conn.request("GET", "/watch", headers={"Authorization": "Bearer " + token})
        return conn, conn.getresponse()

    def test_watch_streams_are_limited_and_do_not_starve_requests(self):
        c = self.c
        readers = [c.token_for(D + ":hard", "reader") for _ in range(4)]
        open_streams = []
        try:
            # one reader token: 8 streams, then 429
            answers = [self.open_watch(readers[0]) for _ in range(16)]
            ok = [a for a in answers if a[1].status == 200]
            refused = [a for a in answers if a[1].status == 429]
            open_streams += answers
            self.assertEqual((len(ok), len(refused)), (8, 8))
            err = json.loads(refused[0][1].read())["error"]
            self.assertIn("for this token (limit 8", err["message"])
            self.assertEqual(refused[0][1].getheader("Retry-After"), "10")
            # more streams from other tokens than there are request threads (16)
            for tok in readers[1:]:
                for _ in range(8):
                    open_streams.append(self.open_watch(tok))
            statuses = [r.status for _, r in open_streams[16:]]
            self.assertEqual(statuses.count(200), 22, statuses)  # --max-watch-streams 30 = 8 + 22
            self.assertEqual(statuses.count(429), 2, statuses)
            err = json.loads([r for _, r in open_streams[16:] if r.status == 429][0].read())["error"]
            self.assertIn("on this controller (limit 30", err["message"])
            t_health, t_write = self.quick_answers()
            print("\n  30 watch streams: healthz %.1f ms, write %.1f ms" % (t_health * 1000, t_write * 1000))
            self.assertLess(t_health, 1.0)
            self.assertLess(t_write, 1.0)
            # the streams work: the write above reaches one of them
            conn, r = open_streams[0]
            line = b""
            while not line.startswith(b"event: create"):
                line = r.fp.readline()
            # the admin is not held to the per-token limit
            admin_streams = [self.open_watch(self.ctl.admin) for _ in range(2)]
            open_streams += admin_streams
            self.assertEqual([r.status for _, r in admin_streams], [429, 429])  # global limit still holds
            self.assertGreaterEqual(self.metric("vrf_controller_watch_refused_total"), 12)
        finally:
            for conn, r in open_streams:
                r.close()
                conn.close()
        # closed streams give their slots back
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.metric("vrf_controller_watchers") > 0:
            time.sleep(0.2)
        self.assertEqual(self.metric("vrf_controller_watchers"), 0)
        conn, r = self.open_watch(readers[0])
        self.assertEqual(r.status, 200)
        conn.close()

    # ------------------------------------------------------------ token guessing
    def test_failed_authentication_is_throttled_per_address(self):
        attacker = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=10, source_address=("127.0.0.3", 0))
        statuses = []
        t0 = time.monotonic()
        retry_after = None
        for i in range(2000):
            attacker.request("GET", "/virtual-networks", headers={"Authorization": "Bearer guess%d" % i})
            r = attacker.getresponse()
            r.read()
            statuses.append(r.status)
            if r.status == 429 and retry_after is None:
                retry_after = r.getheader("Retry-After")
        elapsed = time.monotonic() - t0
        print("\n  2000 wrong tokens in %.2f s: %d answered 401, %d answered 429"
              % (elapsed, statuses.count(401), statuses.count(429)))
        self.assertEqual(statuses.count(401) + statuses.count(429), 2000)
        self.assertLessEqual(statuses.count(401), 20 + 2 * elapsed + 2)  # burst + rate
        self.assertGreaterEqual(int(retry_after), 1)
        # a valid token from the throttled address is not looked at either...
        attacker.request("GET", "/virtual-networks", headers={"Authorization": "Bearer " + self.ctl.admin})
        r = attacker.getresponse()
        self.assertEqual(r.status, 429, r.read())
        r.read()
        attacker.close()
        # ...but from any other address it works at once
        other = http.client.HTTPConnection("127.0.0.1", self.ctl.port, timeout=10, source_address=("127.0.0.4", 0))
        other.request("GET", "/virtual-networks", headers={"Authorization": "Bearer " + self.ctl.admin})
        self.assertEqual(other.getresponse().status, 200)
        other.close()
        self.assertGreaterEqual(self.metric("vrf_controller_auth_failures_total"), 20)
        self.assertGreaterEqual(self.metric("vrf_controller_auth_throttled_total"), 1900)


class SecretsOnDiskTest(unittest.TestCase):
    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_token_file_and_database_are_private_and_the_token_is_not_logged(self):
        ctl = Controller(BINARY)
        try:
            token_file = os.path.join(ctl.dir, "admin-token")
            with open(token_file, "w") as f:
                f.write("stale\n")
            os.chmod(token_file, 0o644)
            ctl.start()
            self.assertEqual(self.mode(token_file), 0o600)
            self.assertEqual(len(ctl.admin), 48)
            c = ctl.client()
            member = c.token_for(D + ":default-project", "member")  # created tokens are not logged either
            c.must(c.create("virtual-machine", "virtual-machines", {"fq_name": [D, "default-project", "vm"]}))
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(ctl.db + suffix):
                    self.assertEqual(self.mode(ctl.db + suffix), 0o600, suffix)
            self.assertTrue(os.path.exists(ctl.db + "-wal"))
            ctl.stop()
            with open(ctl.log_path) as f:
                log = f.read()
            self.assertNotIn(ctl.admin, log)
            self.assertNotIn(member, log)
            self.assertIn("admin token created, written to " + token_file, log)
            # a database left 0644 by an older version is tightened at start
            os.chmod(ctl.db, 0o644)
            ctl.start()
            self.assertEqual(self.mode(ctl.db), 0o600)
        finally:
            ctl.cleanup()

    def test_symlinked_token_file_is_refused_before_the_token_exists(self):
        d = tempfile.mkdtemp(prefix="h1-secrets-")
        try:
            victim = os.path.join(d, "victim")
            with open(victim, "w") as f:
                f.write("precious\n")
            os.chmod(victim, 0o644)
            link = os.path.join(d, "token")
            os.symlink(victim, link)
            db = os.path.join(d, "c.db")
            out = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--db", db, "--admin-token-file", link],
                                 capture_output=True, text=True, timeout=20)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("symbolic link", out.stdout + out.stderr)
            with open(victim) as f:
                self.assertEqual(f.read(), "precious\n")
            self.assertEqual(self.mode(victim), 0o644)
            # nothing was lost: with a sound path the first start still hands out the token
            os.unlink(link)
            ctl = Controller(BINARY, workdir=d)
            ctl.db = db
            try:
                ctl.start()
                self.assertEqual(ctl.client().get("/")[0], 200)
            finally:
                ctl.stop()
        finally:
            subprocess.run(["rm", "-rf", d])

    def test_without_a_token_file_the_token_is_printed_once(self):
        d = tempfile.mkdtemp(prefix="h1-secrets-")
        try:
            port_file = os.path.join(d, "port")
            p = subprocess.Popen([BINARY, "--listen", "127.0.0.1:0", "--db", os.path.join(d, "c.db"),
                                  "--port-file", port_file], stdout=subprocess.PIPE, text=True)
            try:
                first = p.stdout.readline()  # printed before anything is logged
                self.assertTrue(first.startswith("admin token (shown once): "), first)
                token = first.split(": ", 1)[1].strip()
                deadline = time.time() + 10
                while not (os.path.exists(port_file) and open(port_file).read().strip()) and time.time() < deadline:
                    time.sleep(0.05)
                port = int(open(port_file).read())
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/", headers={"Authorization": "Bearer " + token})
                self.assertEqual(conn.getresponse().status, 200)
                conn.close()
            finally:
                p.terminate()
                p.wait(10)
        finally:
            subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
