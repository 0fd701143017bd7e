"""Network-namespace lab for BGP interop tests (stdlib only).

Every namespace is named vrbgp-<pid>-<role>, every process started here is
tracked, and Lab.cleanup() (run from `finally`, atexit and on SIGTERM/SIGINT)
kills them all and deletes the namespaces, so a failing or interrupted test
leaves nothing behind. Nothing here touches the root namespace's links or routes.
"""
import atexit
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, check=True, capture=True, timeout=60):
    r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def wait_until(what, fn, timeout=60, interval=0.5):
    """Polls fn() until it returns a truthy value; raises with `what` on timeout."""
    deadline = time.time() + timeout
    last_err = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # the daemon may not be up yet
            last_err = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_err})" if last_err else ""))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    log(f"ok: {msg}")


def bin_dir():
    for i, a in enumerate(sys.argv):
        if a == "--bin-dir" and i + 1 < len(sys.argv):
            return os.path.abspath(sys.argv[i + 1])
    if os.environ.get("VRBGP_BIN_DIR"):
        return os.environ["VRBGP_BIN_DIR"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(os.path.join(here, "..", "..", "build-bgp", "bgp"))


def _delete_netns(ns):
    """Kills whatever still runs inside ns, then deletes it (and FRR's socket dir)."""
    for pid in run(["ip", "netns", "pids", ns], check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(f"/var/run/frr/{ns}", ignore_errors=True)


def reap_stale_labs():
    """Removes namespaces left by a lab whose test process died without cleaning up
    (e.g. SIGKILL from a CTest timeout): names are vrbgp-<pid>-<role>."""
    for line in run(["ip", "netns", "list"], check=False).stdout.splitlines():
        ns = line.split()[0] if line.split() else ""
        parts = ns.split("-")
        if len(parts) < 3 or parts[0] != "vrbgp" or not parts[1].isdigit():
            continue
        if not os.path.exists(f"/proc/{parts[1]}"):
            log(f"removing stale namespace {ns} (its test process {parts[1]} is gone)")
            _delete_netns(ns)
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        parts = d.split("-")
        if (len(parts) > 2 and parts[0] == "vrbgp" and parts[1].isdigit() and not os.path.exists(f"/proc/{parts[1]}")
                and not os.environ.get("VRBGP_KEEP_LOGS")):
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)


class Lab:
    def __init__(self, name):
        self.prefix = f"vrbgp-{os.getpid()}-"
        self.namespaces = []
        self.procs = []
        self.nlinks = 0
        self.tmp = tempfile.mkdtemp(prefix=f"vrbgp-{os.getpid()}-{name}-")
        os.chmod(self.tmp, 0o755)
        self.bin = bin_dir()
        self._cleaned = False
        reap_stale_labs()
        atexit.register(self.cleanup)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self._on_signal)

    def _on_signal(self, signum, frame):
        raise SystemExit(f"interrupted by signal {signum}")  # unwinds through finally

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # ---- namespaces and links
    def netns(self, role):
        ns = self.prefix + role
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def link(self, ns_a, addr_a, ns_b, addr_b):
        """veth pair between two namespaces, created directly inside them."""
        self.nlinks += 1
        a, b = f"vb{os.getpid() % 100000}l{self.nlinks}a", f"vb{os.getpid() % 100000}l{self.nlinks}b"
        run(["ip", "-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b])
        run(["ip", "-n", ns_a, "addr", "add", addr_a, "dev", a])
        run(["ip", "-n", ns_b, "addr", "add", addr_b, "dev", b])
        run(["ip", "-n", ns_a, "link", "set", a, "up"])
        run(["ip", "-n", ns_b, "link", "set", b, "up"])
        return a, b

    def nsrun(self, ns, cmd, **kw):
        return run(["ip", "netns", "exec", ns] + cmd, **kw)

    # ---- processes
    def spawn(self, ns, cmd, logname):
        logf = open(os.path.join(self.tmp, logname), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append((p, logname))
        return p

    def logs(self, logname, tail=40):
        try:
            with open(os.path.join(self.tmp, logname)) as f:
                return "".join(f.readlines()[-tail:])
        except OSError:
            return ""

    def stop(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def dump_logs(self):
        for _, name in self.procs:
            print(f"----- {name} (last lines) -----\n{self.logs(name)}", flush=True)

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for p, _ in reversed(self.procs):
            try:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p, _ in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
                except ProcessLookupError:
                    pass
        for ns in self.namespaces:
            _delete_netns(ns)  # anything still running inside (forked helpers) dies with it
        if os.environ.get("VRBGP_KEEP_LOGS"):
            log(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main_test(name, body):
    """Runs body(lab) in a fresh Lab; dumps daemon logs on failure; prints the verdict."""
    with Lab(name) as lab:
        try:
            body(lab)
        except BaseException:
            lab.dump_logs()
            print(f"{name}: 0 passed, 1 failed", flush=True)
            raise
    print(f"{name}: 1 passed, 0 failed", flush=True)
    return 0


def vtep_setup(lab, ns, local_ip, mac):
    """Makes ns a VXLAN VTEP for VNI 100 (bridge br100, vxlan100) with one local MAC,
    which FRR (advertise-all-vni) announces as EVPN type-2 and type-3 routes."""
    for c in ["ip link add br100 type bridge",
              f"ip link add vxlan100 type vxlan id 100 local {local_ip} dstport 4789 nolearning",
              "ip link set vxlan100 master br100",
              "ip link add port0 type veth peer name port1",  # a bridge port to own the MAC
              "ip link set port0 master br100",
              "ip link set br100 up", "ip link set vxlan100 up", "ip link set port0 up", "ip link set port1 up",
              f"bridge fdb add {mac} dev port0 master static"]:
        lab.nsrun(ns, c.split())


def gobgp_toml(asn, router_id, neighbor, peer_as, families=("l2vpn-evpn", "l3vpn-ipv4-unicast")):
    out = (f'[global.config]\n  as = {asn}\n  router-id = "{router_id}"\n  port = 179\n'
           f'[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{neighbor}"\n    peer-as = {peer_as}\n'
           f'  [neighbors.timers.config]\n    connect-retry = 2\n')
    for f in families:
        out += f'  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "{f}"\n'
    return out


class VrBgpd:
    """Our speaker (vr-bgpd) in a namespace, driven through vr-bgpctl."""

    def __init__(self, lab, ns, args, api_port=50179, name="vr-bgpd"):
        self.lab, self.ns, self.api = lab, ns, f"127.0.0.1:{api_port}"
        self.name = name
        # vr-bgpd creates the API token file (0600) on start; vr-bgpctl reads it.
        self.token_file = os.path.join(lab.tmp, f"{name}.token")
        self.proc = lab.spawn(ns, [os.path.join(lab.bin, "vr-bgpd"), "--api", self.api, "--api-token-file",
                                   self.token_file, "--connect-retry", "2"] + args, f"{name}.log")
        wait_until(f"{name} API", lambda: self.ctl("show", "summary"), timeout=15)

    def ctl(self, *args):
        r = self.lab.nsrun(self.ns, [os.path.join(self.lab.bin, "vr-bgpctl"), "--api", self.api, "--token-file",
                                     self.token_file, "-j"] + list(args))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def neighbor(self, address):
        for n in self.ctl("show", "neighbors"):
            if n["address"] == address:
                return n
        raise KeyError(address)

    def established(self, address):
        return self.neighbor(address)["state"] == "Established"

    def rib(self, family):
        return self.ctl("show", "rib", "-a", family)["routes"]

    def best(self, family, pred):
        """Best path of the first route whose best path matches pred, else None."""
        for r in self.rib(family):
            if pred(r["paths"][0]):
                return r["paths"][0]
        return None

    def sessions(self, address):
        return self.neighbor(address)["stats"]["established"]

    def add(self, route):
        self.ctl("route", "add", json.dumps(route))

    def delete(self, route):
        self.ctl("route", "del", json.dumps(route))


class Frr:
    """FRR zebra + bgpd in a namespace (foreground processes, vty sockets via -N)."""

    def __init__(self, lab, ns, bgpd_conf, zebra=True):
        self.lab, self.ns = lab, ns
        self.dir = os.path.join(lab.tmp, f"frr-{ns}")
        os.makedirs(self.dir)
        rundir = f"/var/run/frr/{ns}"
        os.makedirs(rundir, exist_ok=True)
        with open(os.path.join(self.dir, "zebra.conf"), "w") as f:
            f.write("hostname frr\n")
        with open(os.path.join(self.dir, "bgpd.conf"), "w") as f:
            f.write(bgpd_conf)
        with open(os.path.join(self.dir, "vtysh.conf"), "w") as f:
            f.write("")
        frr = pwd.getpwnam("frr")
        for d in (self.dir, rundir):
            os.chown(d, frr.pw_uid, frr.pw_gid)
            for fn in os.listdir(d):
                os.chown(os.path.join(d, fn), frr.pw_uid, frr.pw_gid)
        if zebra:
            lab.spawn(ns, ["/usr/lib/frr/zebra", "-N", ns, "-f", f"{self.dir}/zebra.conf", "-i", f"{self.dir}/zebra.pid"],
                      f"zebra-{ns}.log")
            wait_until("zebra vty socket", lambda: os.path.exists(f"{rundir}/zebra.vty"), timeout=15)
        self.start_bgpd()

    def start_bgpd(self):
        self.bgpd = self.lab.spawn(self.ns, ["/usr/lib/frr/bgpd", "-N", self.ns, "-f", f"{self.dir}/bgpd.conf",
                                             "-i", f"{self.dir}/bgpd.pid"], f"bgpd-{self.ns}.log")
        wait_until("bgpd vty", lambda: self.vtysh("show bgp summary json") is not None, timeout=20)

    def crash_bgpd(self):
        """SIGKILL bgpd: no NOTIFICATION, the TCP session just dies (a restart, for GR)."""
        os.kill(self.bgpd.pid, signal.SIGKILL)
        self.bgpd.wait(10)

    def vtysh(self, cmd, as_json=True):
        r = self.lab.nsrun(self.ns, ["vtysh", "-N", self.ns, "-c", cmd], check=False)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip() or r.stdout.strip())
        return json.loads(r.stdout) if as_json else r.stdout

    def configure(self, *lines):
        args = ["vtysh", "-N", self.ns, "-c", "configure terminal"]
        for l in lines:
            args += ["-c", l]
        self.lab.nsrun(self.ns, args)

    def evpn_routes(self):
        """{route key string: path dict} from `show bgp l2vpn evpn json`."""
        out = {}
        for rd, v in self.vtysh("show bgp l2vpn evpn json").items():
            if not isinstance(v, dict):
                continue
            for key, r in v.items():
                if isinstance(r, dict) and "paths" in r:
                    out[(rd, key)] = r["paths"][0][0] if isinstance(r["paths"][0], list) else r["paths"][0]
        return out

    def vpn_routes(self):
        out = {}
        for rd, v in self.vtysh("show bgp ipv4 vpn json").get("routes", {}).get("routeDistinguishers", {}).items():
            for prefix, paths in v.items():
                out[(rd, prefix)] = paths[0]
        return out


class GoBgp:
    """gobgpd in a namespace; the gobgp CLI talks to its API port."""

    def __init__(self, lab, ns, toml, api_port=50051):
        self.lab, self.ns, self.port = lab, ns, str(api_port)
        path = os.path.join(lab.tmp, f"gobgpd-{ns}.toml")
        with open(path, "w") as f:
            f.write(toml)
        lab.spawn(ns, ["gobgpd", "-f", path, "--api-hosts", f"127.0.0.1:{api_port}", "--pprof-disable"],
                  f"gobgpd-{ns}.log")
        wait_until("gobgpd API", lambda: self.cli("neighbor", json_out=True) is not None, timeout=20)

    def cli(self, *args, json_out=True):
        cmd = ["gobgp", "-p", self.port] + list(args) + (["-j"] if json_out else [])
        r = self.lab.nsrun(self.ns, cmd, check=False)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip() or r.stdout.strip())
        return json.loads(r.stdout) if json_out and r.stdout.strip() else r.stdout

    def established(self, address):
        for n in self.cli("neighbor"):
            if n["state"]["neighbor_address"] == address:
                return n["state"]["session_state"] == 6  # ESTABLISHED
        return False

    def rib(self, family):
        return self.cli("global", "rib", "-a", family) or {}
