"""The agent's local API under many and hostile clients, on a real agent: 64 connections
held open at once are all served and the 65th is refused with a clear error; 50,000
connections one after the other leave the agent's threads, descriptors and memory where
they were (it used to keep a thread per connection and abort after ~34,000); an
oversize request line and over-deep JSON get clear errors; idle connections are closed;
the socket is created 0600,
or 0660 owned by --socket-group; the agent refuses to start over a file that is not a
socket or over a socket another process listens on, and replaces a stale one.

usage: test_local_api_limits.py VR_AGENT VRCTL
"""
import grp
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Fabric, read_line, sh  # noqa: E402

AGENT, VRCTL = sys.argv[1], sys.argv[2]
LIMIT = 64
fabric = None


def setUpModule():
    global fabric
    fabric = Fabric(1, agent_bin=AGENT, vrctl_bin=VRCTL)
    fabric.hosts[0].api("vrf.add", name="red", vni=100)


def tearDownModule():
    fabric.close()


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def ask(s, req):
    s.sendall((req if isinstance(req, bytes) else json.dumps(req).encode()) + b"\n")
    return json.loads(read_line(s))


def proc_figures(pid):
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    return {"threads": int(status["Threads"]), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "rss_kib": int(status["VmRSS"].split()[0]), "vm_kib": int(status["VmSize"].split()[0])}


class LocalApiLimits(unittest.TestCase):
    def setUp(self):
        self.h = fabric.hosts[0]
        self.assertIsNone(self.h.proc.poll(), "the agent is not running")

    def test_1_connection_limit(self):
        time.sleep(0.5)  # the set-up's connections are closed (the agent counts one until it sees the close)
        held = [connect(self.h.socket) for _ in range(LIMIT)]
        try:
            for s in held:  # every one of them is served, at the same time
                self.assertEqual([v["name"] for v in ask(s, {"op": "vrf.list"})["result"]], ["red"])
            extra = connect(self.h.socket)
            reply = json.loads(read_line(extra))
            self.assertEqual(reply["ok"], False)
            self.assertIn(f"too many connections to the agent's local API (limit {LIMIT})", reply["error"])
            self.assertEqual(extra.recv(100), b"", "the refused connection is closed")
            extra.close()
            # The held ones still work; one closed makes room for a new one.
            self.assertTrue(ask(held[0], {"op": "vrf.list"})["ok"])
            held.pop().close()
            time.sleep(0.2)
            with connect(self.h.socket) as again:
                self.assertTrue(ask(again, {"op": "vrf.list"})["ok"])
        finally:
            for s in held:
                s.close()

    def test_2_fifty_thousand_connections_leave_nothing_behind(self):
        pid = self.h.proc.pid
        for _ in range(200):  # warm-up: allocator pools reach their working size
            with connect(self.h.socket) as s:
                ask(s, {"op": "vrf.list"})
        time.sleep(0.5)
        before = proc_figures(pid)
        t0 = time.time()
        for i in range(50000):
            with connect(self.h.socket) as s:
                r = ask(s, {"op": "vrf.list"})
                if not r["ok"]:
                    self.fail(f"connection {i}: {r}")
        elapsed = time.time() - t0
        time.sleep(0.5)
        after = proc_figures(pid)
        print(f"\n50,000 connections in {elapsed:.1f} s: threads {before['threads']} -> {after['threads']}, "
              f"fds {before['fds']} -> {after['fds']}, RSS {before['rss_kib']} -> {after['rss_kib']} KiB, "
              f"virtual {before['vm_kib']} -> {after['vm_kib']} KiB", flush=True)
        self.assertIsNone(self.h.proc.poll(), "the agent died")
        self.assertEqual(after["threads"], before["threads"])
        self.assertEqual(after["fds"], before["fds"])
        self.assertLess(after["rss_kib"] - before["rss_kib"], 2048, "RSS grew by more than 2 MiB")
        self.assertLess(after["vm_kib"] - before["vm_kib"], 8192, "virtual memory grew (a thread stack is 8 MiB)")

    def test_3_oversize_line_and_deep_json(self):
        with connect(self.h.socket) as s:
            deep = b'{"op": "vrf.add", "name": "x", "imports": ' + b"[" * 65 + b"]" * 65 + b"}"
            r = ask(s, deep)
            self.assertEqual(r, {"ok": False, "error": "request is nested deeper than 64 levels"})
            # 100,000 levels in 200 KB: the request that crashed the controller's JSON copy.
            r = ask(s, b'{"op": "vrf.list", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}")
            self.assertEqual(r["error"], "request is nested deeper than 64 levels")
            self.assertTrue(ask(s, {"op": "vrf.list"})["ok"], "the connection still serves requests")
        with connect(self.h.socket) as s:
            s.settimeout(60)
            chunk = b" " * (1 << 20)
            for _ in range(33):  # 33 MiB without a newline
                s.sendall(chunk)
            r = json.loads(read_line(s))
            self.assertEqual(r["ok"], False)
            self.assertIn("request too large: a request line may have at most 33554432 bytes", r["error"])
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(100), b"", "closed after the error")
        self.assertEqual([v["name"] for v in self.h.api("vrf.list")], ["red"])
        r = self.h.vrctl("show", "vrfs")  # vrctl agent still works as before
        self.assertIn("red", r.stdout)

    def test_4_socket_mode_and_group(self):
        self.assertEqual(os.stat(self.h.socket).st_mode & 0o777, 0o600)
        group = next(g for g in grp.getgrall() if g.gr_gid != 0 and g.gr_name in ("nogroup", "daemon", "users", "adm"))
        self.h.stop_agent()
        self.h.start_agent("--socket-group", group.gr_name)
        st = os.stat(self.h.socket)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.assertEqual(st.st_gid, group.gr_gid)
        self.h.stop_agent()
        r = sh(IP, "netns", "exec", self.h.name, AGENT, "--fabric", "fab0", "--socket", self.h.socket,
               "--socket-group", "no-such-group-h3", check=False, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no group named 'no-such-group-h3'", r.stdout + r.stderr)
        self.h.start_agent()
        self.assertEqual(os.stat(self.h.socket).st_mode & 0o777, 0o600)

    def test_5_idle_connections_are_closed(self):
        self.h.stop_agent()
        self.h.start_agent("--api-idle-timeout-ms", "1000")
        try:
            with connect(self.h.socket) as idle, connect(self.h.socket) as busy:
                t0 = time.time()
                for _ in range(6):  # one that keeps asking stays open
                    self.assertTrue(ask(busy, {"op": "vrf.list"})["ok"])
                    time.sleep(0.5)
                idle.settimeout(5)
                self.assertEqual(idle.recv(100), b"", "the idle connection was closed")
                self.assertGreater(time.time() - t0, 1.0)
                self.assertTrue(ask(busy, {"op": "vrf.list"})["ok"])
        finally:
            self.h.stop_agent()
            self.h.start_agent()

    def test_6_what_is_at_the_socket_path(self):
        self.h.stop_agent()
        path = self.h.socket
        try:
            with open(path, "w") as f:  # a file that is not a socket is never replaced
                f.write("keep me\n")
            r = sh(IP, "netns", "exec", self.h.name, AGENT, "--fabric", "fab0", "--socket", path,
                   check=False, timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("exists and is not a socket; refusing to replace it", r.stdout + r.stderr)
            with open(path) as f:
                self.assertEqual(f.read(), "keep me\n")
            self.assertNotIn("xdp", sh(IP, "-d", "link", "show", "fab0", ns=self.h.name).stdout,
                             "refused before the forwarder was attached")
            os.unlink(path)
            live = socket.socket(socket.AF_UNIX)  # somebody else listens there
            live.bind(path)
            live.listen(1)
            r = sh(IP, "netns", "exec", self.h.name, AGENT, "--fabric", "fab0", "--socket", path,
                   check=False, timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("is in use: another process listens on it", r.stdout + r.stderr)
            live.close()  # now stale: nobody listens, the file stays
            self.assertTrue(os.path.exists(path))
            self.h.start_agent()
            self.assertEqual([v["name"] for v in self.h.api("vrf.list")], [])
        finally:
            if self.h.proc is None or self.h.proc.poll() is not None:
                if os.path.exists(path) and not os.path.isdir(path):
                    os.unlink(path)
                self.h.start_agent()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
