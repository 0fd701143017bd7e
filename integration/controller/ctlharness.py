"""Test harness for vr-controller: runs the real binary on a loopback port it picks
itself (--listen 127.0.0.1:0, reported through --port-file, so parallel runs never
collide) with a database in a private temporary directory, and talks to it over HTTP.
Everything is torn down even when a test fails."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time


class Controller:
    def __init__(self, binary, workdir=None, extra_args=()):
        self.binary = binary
        self.owns_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="vrctl-test-")
        self.db = os.path.join(self.dir, "controller.db")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "controller.log")

    def start(self):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [self.binary, "--listen", "127.0.0.1:0", "--db", self.db,
             "--admin-token-file", os.path.join(self.dir, "admin-token"),
             "--port-file", port_file] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    break
            if self.proc.poll() is not None:
                with open(self.log_path) as f:
                    raise RuntimeError("vr-controller exited: " + f.read())
            time.sleep(0.02)
        else:
            raise RuntimeError("vr-controller did not start")
        with open(os.path.join(self.dir, "admin-token")) as f:
            self.admin = f.read().strip()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        return rc

    def cleanup(self):
        self.stop(signal.SIGKILL)
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def client(self, token=None):
        return Client(self.port, self.admin if token is None else token)


class Client:
    """One keep-alive connection; not shared between threads."""

    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def __del__(self):
        self.conn.close()

    def raw(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data.decode()

    def get(self, path):
        return self.raw("GET", path)

    def post(self, path, body):
        return self.raw("POST", path, body)

    def put(self, path, body):
        return self.raw("PUT", path, body)

    def delete(self, path):
        return self.raw("DELETE", path)

    def create(self, type_, plural, obj, query=""):
        return self.post("/" + plural + query, {type_: obj})

    def must(self, status_body, expect=(200, 201)):
        status, body = status_body
        if status not in expect:
            raise AssertionError("unexpected %s: %s" % (status, body))
        return body

    def token_for(self, project, role):
        return self.must(self.post("/tokens", {"project": project, "role": role}))["token"]


def network(client, project, name, subnets, ipam="ipam"):
    """Creates (if needed) project/ipam and a virtual network; returns its uuid."""
    dom = "default-domain"
    client.create("project", "projects", {"fq_name": [dom, project]})
    client.create("network-ipam", "network-ipams", {"fq_name": [dom, project, ipam]})
    body = client.must(client.create("virtual-network", "virtual-networks", {
        "fq_name": [dom, project, name],
        "network_ipam_refs": [{"to": [dom, project, ipam],
                               "attr": {"ipam_subnets": [{"subnet": s} for s in subnets]}}]}))
    return body["virtual-network"]["uuid"]
