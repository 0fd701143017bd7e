"""Test hosts and workloads as network namespaces on this machine.

A Fabric makes uniquely named namespaces (prefix vrt<pid>), one per host and one per
workload, joins the hosts with an underlay (a direct veth pair for two hosts, a bridge in an
underlay namespace for more), starts a vr-agent per host, and removes all of it on exit,
also when a test fails or the process is interrupted. Leftovers of runs that were killed
outright are swept at the next start (their pid no longer exists).
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

IP = shutil.which("ip") or "/usr/sbin/ip"


def sh(*args, check=True, ns=None, timeout=60, capture=True):
    cmd = [str(a) for a in args]
    if ns:
        cmd = [IP, "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _sweep_stale():
    """Delete namespaces of earlier runs whose process is gone."""
    out = sh(IP, "netns", "list", check=False).stdout
    for line in out.splitlines():
        m = re.match(r"(vrt(\d+)[a-z0-9]*-\S+)", line)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            sh(IP, "netns", "del", m.group(1), check=False)


def wait_for(what, fn, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_route_reflector(fabric, bgpd, address="192.0.2.1"):
    """vr-bgpd on the underlay switch as the agents' route reflector; returns the process."""
    sh(IP, "addr", "add", f"{address}/24", "dev", "br0", ns=fabric.underlay)
    peers = [a for h in fabric.hosts for a in ("--peer", f"{h.fabric_ip},as=64512,passive,rr-client,families=evpn+rtc")]
    with open(os.path.join(fabric.tmp, "rr.log"), "w") as log:
        return subprocess.Popen([IP, "netns", "exec", fabric.underlay, bgpd, "--local-as", "64512", "--router-id",
                                 address, "--listen", address, *peers], stdout=log, stderr=subprocess.STDOUT)


def fabric_with_reflector(hosts, agent, vrctl, bgpd, address="192.0.2.1"):
    """A fabric whose agents peer over BGP EVPN with a vr-bgpd route reflector on the
    underlay switch; returns (fabric, reflector process). Undo with close_with_reflector."""
    fabric = Fabric(hosts, vrctl_bin=vrctl)
    rr = start_route_reflector(fabric, bgpd, address)
    fabric.agent_bin = agent
    for h in fabric.hosts:
        h.start_agent("--controller-bgp", address)
    return fabric, rr


def close_with_reflector(fabric, rr):
    if rr:
        rr.terminate()
        rr.wait(10)
    fabric.close()


def read_line(s):
    """One reply line of the agent's local API (up to the newline, or what came before EOF)."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


class AgentClient:
    def __init__(self, path):
        self.path = path

    def call(self, op, **fields):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.path)
        s.sendall((json.dumps(dict(op=op, **fields)) + "\n").encode())
        buf = read_line(s)
        s.close()
        return json.loads(buf)

    def __call__(self, op, **fields):
        r = self.call(op, **fields)
        if not r.get("ok"):
            raise RuntimeError(f"agent {op} {str(fields)[:300]}: {r.get('error')}")
        return r.get("result")


class Host:
    def __init__(self, fabric, index):
        self.fabric = fabric
        self.index = index
        self.name = f"{fabric.prefix}-h{index}"
        self.fabric_ip = f"192.0.2.{10 + index}"
        self.socket = os.path.join(fabric.tmp, f"h{index}.sock")
        self.log = os.path.join(fabric.tmp, f"h{index}.log")
        self.proc = None
        self.api = AgentClient(self.socket)

    def start_agent(self, *extra):
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen(
                [IP, "netns", "exec", self.name, self.fabric.agent_bin, "--fabric", "fab0",
                 "--socket", self.socket, *extra],
                stdout=logf, stderr=subprocess.STDOUT, start_new_session=self.fabric.persistent)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vr-agent on {self.name} exited: {open(self.log).read()}")
            if os.path.exists(self.socket):
                try:
                    self.api("vrf.list")
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"vr-agent on {self.name} did not come up: {open(self.log).read()}")

    def stop_agent(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def vrctl(self, *args, check=True):
        return sh(self.fabric.vrctl_bin, "agent", "--socket", self.socket, *args, check=check)

    def counters(self):
        return self.api("counters")


class Workload:
    """A namespace with one interface, eth0, plugged into a host's agent."""

    def __init__(self, host, vrf, name, mac, ips, gateways=(), dhcp=None):
        """dhcp: a lease ({"address": "a/len", "gateway": ..., "dns": [...]}) the agent serves;
        the workload then gets its address with dhcp_client() instead of statically."""
        self.host, self.vrf, self.mac, self.ips = host, vrf, mac, ips
        self.ns = f"{host.fabric.prefix}-{name}"
        self.ifname = f"v{host.fabric.short}{name}"[:15]
        host.fabric.track_ns(self.ns)
        sh(IP, "netns", "add", self.ns)
        sh(IP, "link", "set", "lo", "up", ns=self.ns)
        hosts = [ip.split("/")[0] for ip in ips]
        extra = {"dhcp": dhcp} if dhcp else {}
        self.info = host.api("interface.add", name=self.ifname, vrf=vrf, mac=mac, netns=self.ns,
                             ips=hosts, **extra)
        for ip in ips:
            flags = ["nodad"] if ":" in ip else []
            sh(IP, "addr", "add", ip, "dev", "eth0", *flags, ns=self.ns)
        for gw in gateways:
            sh(IP, "-6" if ":" in gw else "-4", "route", "replace", "default", "via", gw, ns=self.ns)

    @property
    def label(self):
        return self.info["label"]

    def run(self, *args, check=True, timeout=60):
        return sh(*args, ns=self.ns, check=check, timeout=timeout)

    def dhcp_client(self, dns_file):
        """Runs busybox udhcpc once in the namespace; returns its output."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udhcpc-script.sh")
        return sh("env", f"DNS_FILE={dns_file}", "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f",
                  "-t", "5", "-T", "1", "-s", script, ns=self.ns, timeout=30).stderr

    def ping(self, dst, count=2, check=False):
        return self.run("ping", "-c", count, "-i", "0.2", "-W", "1", dst, check=check).returncode == 0


class Fabric:
    def __init__(self, hosts=2, agent_bin=None, vrctl_bin=None, mtu=1500, direct=False, persistent_dir=None):
        """persistent_dir: keep everything running after this process exits (the demo);
        names then start with "vrdemo" and the agents' sockets and logs live there."""
        _sweep_stale()
        self.persistent = persistent_dir is not None
        # VRFABRIC_NS_PREFIX (letters, digits) tells apart the names of concurrent test runs.
        tag = re.sub(r"[^a-z0-9]", "", os.environ.get("VRFABRIC_NS_PREFIX", "").lower())[:4]
        self.prefix = "vrdemo" if self.persistent else f"vrt{os.getpid()}{tag}"
        self.short = "d" if self.persistent else str(os.getpid() % 1000)
        self.agent_bin = agent_bin
        self.vrctl_bin = vrctl_bin
        if self.persistent:
            os.makedirs(persistent_dir, exist_ok=True)
            self.tmp = persistent_dir
        else:
            self.tmp = tempfile.mkdtemp(prefix=f"{self.prefix}-")
        self.namespaces = []
        self.hosts = []
        self.closed = False
        if not self.persistent:
            atexit.register(self.close)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._on_signal)
        try:
            self._build(hosts, mtu, direct)
        except BaseException:
            self.close()
            raise

    def _on_signal(self, signum, frame):
        raise SystemExit(f"interrupted by signal {signum}")

    def track_ns(self, ns):
        self.namespaces.append(ns)

    def _build(self, n, mtu, direct):
        for i in range(1, n + 1):
            h = Host(self, i)
            self.track_ns(h.name)
            sh(IP, "netns", "add", h.name)
            sh(IP, "link", "set", "lo", "up", ns=h.name)
            self.hosts.append(h)
        # The underlay is a bridge in its own namespace (a switch: capture on its ports sees
        # the wire), or for benchmarks of two hosts, one veth pair between them.
        if direct:
            a, b = self.hosts
            sh(IP, "link", "add", "fab0", "netns", a.name, "mtu", mtu, "type", "veth",
               "peer", "name", "fab0", "netns", b.name, "mtu", mtu)
        else:
            ul = self.underlay = f"{self.prefix}-ul"
            self.track_ns(ul)
            sh(IP, "netns", "add", ul)
            sh(IP, "link", "set", "lo", "up", ns=ul)
            sh(IP, "link", "add", "br0", "mtu", mtu, "type", "bridge", ns=ul)
            sh(IP, "link", "set", "br0", "up", ns=ul)
            for h in self.hosts:
                port = f"p{h.index}"
                sh(IP, "link", "add", "fab0", "netns", h.name, "mtu", mtu, "type", "veth",
                   "peer", "name", port, "netns", ul, "mtu", mtu)
                sh(IP, "link", "set", port, "master", "br0", "up", ns=ul)
                # NAPI on the bridge side lets frames XDP-redirected into the pair arrive.
                sh("ethtool", "-K", port, "gro", "on", ns=ul)
        for h in self.hosts:
            sh(IP, "addr", "add", f"{h.fabric_ip}/24", "dev", "fab0", ns=h.name)
            sh(IP, "link", "set", "fab0", "up", ns=h.name)
        for h in self.hosts:
            if self.agent_bin:
                h.start_agent()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for h in self.hosts:
            h.stop_agent()
        for ns in reversed(self.namespaces):
            sh(IP, "netns", "del", ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def agent_token_file(server, admin_token, host, directory):
    """A credential for HOST's agent alone (POST /tokens {"agent_host": HOST}), in a
    0600 file in DIRECTORY: agents run with it instead of the admin token. Kept, so an
    agent restarted later reuses its file."""
    path = os.path.join(directory, f"agent-{host}.token")
    if os.path.exists(path):
        return path
    body = json.dumps({"agent_host": host}).encode()
    deadline = time.time() + 20
    while True:
        req = urllib.request.Request(f"{server}/tokens", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + admin_token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                token = json.load(r)["token"]
            break
        except urllib.error.URLError as e:  # the controller may still be starting its listener
            if isinstance(e, urllib.error.HTTPError) or time.time() > deadline:
                raise
            time.sleep(0.2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def attach_ports(fabric, server, token, project):
    """The workload runtime's part once ports exist in the controller: each port of PROJECT
    (fq name "domain:project") bound to host node-N with a virtual machine is attached, on
    that host's agent, to the namespace of the same name as its virtual machine. Returns
    the namespaces attached."""
    q = urllib.parse.urlencode({"parent_fq_name": project, "detail": "true", "limit": 10000})
    req = urllib.request.Request(f"{server}/virtual-machine-interfaces?{q}", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        ports = json.loads(r.read())["virtual-machine-interfaces"]
    done = []
    for p in ports:
        vm = p.get("virtual_machine_refs") or []
        host = re.fullmatch(r"node-(\d+)", p.get("host_id", ""))
        if not vm or not host:
            continue
        netns = vm[0]["to"][-1]
        fabric.hosts[int(host.group(1)) - 1].api("port.attach", uuid=p["uuid"], netns=netns)
        done.append(netns)
    return done
