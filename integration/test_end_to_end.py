"""The whitepaper's orchestration flow, driven only through vrctl and YAML: a controller on
SQLite (REST for operators, agent API and BGP route reflector on the fabric), three hosts
with an agent each, two networks. Workloads get DHCP addresses from their agents and reach
each other across hosts; the other network stays apart; a deleted workload's routes leave
every host; killing the controller leaves traffic flowing and it reconverges on restart; a
killed agent's host is rebuilt from the controller.

usage: test_end_to_end.py VR_AGENT VRCTL VR_CONTROLLER
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Fabric, agent_token_file, sh, wait_for  # noqa: E402

AGENT, VRCTL, CONTROLLER = sys.argv[1], sys.argv[2], sys.argv[3]
FABRIC_CTL = "192.0.2.1"
fabric = None
ctl = None
env = dict(os.environ)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vrctl(*args, check=True):
    r = subprocess.run([VRCTL, *map(str, args)], capture_output=True, text=True, env=env, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"vrctl {' '.join(map(str, args))}: {r.stderr}")
    return r


class Controller:
    def __init__(self, tmp):
        self.db = os.path.join(tmp, "ctl.db")
        self.token_file = os.path.join(tmp, "admin.token")
        self.port = free_port()
        self.log = os.path.join(tmp, "controller.log")
        self.proc = None

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [CONTROLLER, "--listen", f"127.0.0.1:{self.port}", "--db", self.db, "--admin-token-file",
                 self.token_file, "--fabric-netns", fabric.underlay, "--agent-listen", f"{FABRIC_CTL}:8082",
                 "--bgp-listen", FABRIC_CTL], stdout=log, stderr=subprocess.STDOUT)
        wait_for("the controller", lambda: os.path.exists(self.token_file) and subprocess.run(
            ["curl", "-sf", f"http://127.0.0.1:{self.port}/healthz"], capture_output=True).returncode == 0, 20)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def yaml_documents(p):
    """Two networks, five workloads over three hosts; names carry this run's prefix."""
    docs = [f"kind: project\nfq_name: default-domain:{p}",
            f"kind: network-ipam\nfq_name: default-domain:{p}:ipam\nipam_method: dhcp"]
    for net, cidrs in (("red", ("10.1.1.0/24", "fd00:10::/64")), ("blue", ("10.2.2.0/24",))):
        subnets = "".join(f"\n        - subnet: {c}" for c in cidrs)
        docs.append(f"kind: virtual-network\nfq_name: default-domain:{p}:{net}\nnetwork_ipam_refs:\n"
                    f"  - to: default-domain:{p}:ipam\n    attr:\n      ipam_subnets:{subnets}")
    for name, net, host in WORKLOADS:
        docs.append(f"kind: virtual-machine\nfq_name: default-domain:{p}:{p}-{name}\nserver_type: container")
        docs.append(f"kind: virtual-machine-interface\nfq_name: default-domain:{p}:{name}-eth0\nhost_id: node-{host}\n"
                    f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                    f"virtual_machine_refs: [{{to: default-domain:{p}:{p}-{name}}}]")
        docs.append(f"kind: instance-ip\nfq_name: default-domain:{p}:{name}-ip\n"
                    f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                    f"virtual_machine_interface_refs: [{{to: default-domain:{p}:{name}-eth0}}]")
        if net == "red":
            docs.append(f"kind: instance-ip\nfq_name: default-domain:{p}:{name}-ip6\ninstance_ip_family: v6\n"
                        f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                        f"virtual_machine_interface_refs: [{{to: default-domain:{p}:{name}-eth0}}]")
    return "\n---\n".join(docs) + "\n"


def workload_documents(p, name, net, host, addresses, port_extra=""):
    """A workload's virtual machine, its port on node-HOST in network NET, and one instance IP
    per fixed address (v4 or v6), as YAML documents."""
    docs = [f"kind: virtual-machine\nfq_name: default-domain:{p}:{p}-{name}",
            f"kind: virtual-machine-interface\nfq_name: default-domain:{p}:{name}-eth0\nhost_id: node-{host}\n"
            f"virtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
            f"virtual_machine_refs: [{{to: default-domain:{p}:{p}-{name}}}]{port_extra}"]
    for a in addresses:
        docs.append(f"kind: instance-ip\nfq_name: default-domain:{p}:{name}-{'v6' if ':' in a else 'v4'}\n"
                    f"instance_ip_address: \"{a}\"\nvirtual_network_refs: [{{to: default-domain:{p}:{net}}}]\n"
                    f"virtual_machine_interface_refs: [{{to: default-domain:{p}:{name}-eth0}}]")
    return docs


WORKLOADS = [("ra", "red", 1), ("rb", "red", 2), ("rc", "red", 3), ("ba", "blue", 1), ("bb", "blue", 3)]
addr = {}


def ns(name):
    return f"{fabric.prefix}-{name}"


listeners = []


def apply_yaml(text, file_name="app.yaml"):
    """Writes the documents to a file and applies it with vrctl, as a user would."""
    spec = os.path.join(fabric.tmp, file_name)
    with open(spec, "w") as f:
        f.write(text)
    vrctl("apply", "-f", spec)
    return spec


def rest(method, path, body=None, token=None):
    """One call to the controller's REST API (admin token unless another is given)."""
    req = urllib.request.Request(env["VRCTL_SERVER"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + (token or env["VRCTL_TOKEN"]),
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def port_of(name, project=None):
    """The uuid and host index of workload NAME's port (fq name PROJECT:NAME-eth0)."""
    status, r = rest("POST", "/fqname-to-id", {"type": "virtual-machine-interface",
                                               "fq_name": ["default-domain", project or fabric.prefix, f"{name}-eth0"]})
    assert status == 200, r
    status, port = rest("GET", f"/virtual-machine-interface/{r['uuid']}?back_refs=false")
    assert status == 200, port
    return r["uuid"], int(port["virtual-machine-interface"]["host_id"].split("-")[-1])


def attach(name, project=None, netns=None):
    """What the workload runtime does once the port exists: it tells the agent of the port's
    host which namespace the port's uuid is plugged into."""
    uuid, host = port_of(name, project)
    return fabric.hosts[host - 1].api.call("port.attach", uuid=uuid, netns=netns or ns(name))


def wait_for_interface(name, project=None):
    r = attach(name, project)
    assert r["ok"], r
    wait_for(f"{name}'s interface", lambda: sh(IP, "link", "show", "eth0", ns=ns(name), check=False).returncode == 0)


def listen(name, port, family="-4"):
    """A TCP listener (nc -lk) in a workload, stopped at tear-down."""
    listeners.append(subprocess.Popen([IP, "netns", "exec", ns(name), "nc", family, "-l", "-k", "-p", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def connects(name, address, port):
    """Whether a TCP connection from workload NAME to ADDRESS:PORT is accepted (nc -z)."""
    return sh("nc", "-z", "-w", "1", address, port, ns=ns(name), check=False).returncode == 0


def dhcp(name):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udhcpc-script.sh")
    sh("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "8", "-T", "1", "-s", script, ns=ns(name), timeout=40)
    out = sh(IP, "-4", "-o", "addr", "show", "eth0", ns=ns(name)).stdout.split()
    return out[out.index("inet") + 1].split("/")[0]


def dhcp6(name):
    """dhclient -6 once in the workload's namespace; returns the address the agent leased."""
    tmp = fabric.tmp
    wait_for(f"{name}'s link-local address", lambda: "tentative" not in sh(
        IP, "-6", "addr", "show", "dev", "eth0", "scope", "link", ns=ns(name)).stdout and "fe80" in sh(
        IP, "-6", "addr", "show", "dev", "eth0", "scope", "link", ns=ns(name)).stdout)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dhclient6-script.sh")
    pid, leases = os.path.join(tmp, f"{name}.dhclient6.pid"), os.path.join(tmp, f"{name}.leases6")
    try:
        sh("dhclient", "-6", "-1", "-sf", script, "-lf", leases, "-pf", pid, "eth0", ns=ns(name), timeout=40)
    finally:
        sh("dhclient", "-6", "-x", "-sf", script, "-lf", leases, "-pf", pid, "eth0", ns=ns(name), check=False)
    out = sh(IP, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global", ns=ns(name)).stdout.split()
    return out[out.index("inet6") + 1].split("/")[0]


def ping(src, dst, count=2):
    return sh("ping", "-c", count, "-i", "0.2", "-W", "1", dst, ns=ns(src), check=False).returncode == 0


def host_routes(h, vrf):
    """Routes of a VRF on a host; none once the host no longer needs the VRF at all."""
    r = h.api.call("route.list", vrf=vrf)
    if not r["ok"] and "no VRF named" in r["error"]:
        return set()
    assert r["ok"], r
    return {x["prefix"] for x in r["result"]}


def start_agent(h):
    token_file = agent_token_file(f"http://127.0.0.1:{ctl.port}", env["VRCTL_TOKEN"], f"node-{h.index}", fabric.tmp)
    h.start_agent("--controller", f"http://{FABRIC_CTL}:8082", "--token-file", token_file,
                  "--host", f"node-{h.index}", "--controller-bgp", FABRIC_CTL)


def setUpModule(hosts=3):
    """The controller, HOSTS agent hosts and a namespace per workload of WORKLOADS (which
    the other controller-driven tests set to their own before calling this)."""
    global fabric, ctl
    fabric = Fabric(hosts, vrctl_bin=VRCTL)
    sh(IP, "addr", "add", f"{FABRIC_CTL}/24", "dev", "br0", ns=fabric.underlay)
    ctl = Controller(fabric.tmp)
    ctl.start()
    with open(ctl.token_file) as f:
        env.update(VRCTL_SERVER=f"http://127.0.0.1:{ctl.port}", VRCTL_TOKEN=f.read().strip(), HOME=fabric.tmp)
    # The workload runtime (CNI, VM launcher) makes each workload's namespace.
    for name, _, _ in WORKLOADS:
        fabric.track_ns(ns(name))
        sh(IP, "netns", "add", ns(name))
        sh(IP, "link", "set", "lo", "up", ns=ns(name))
    fabric.agent_bin = AGENT
    for h in fabric.hosts:
        start_agent(h)


def tearDownModule():
    for p in listeners:
        p.kill()
        p.wait()
    if ctl and ctl.proc and ctl.proc.poll() is None:
        ctl.proc.terminate()
        ctl.proc.wait(10)
    fabric.close()


class EndToEnd(unittest.TestCase):
    def test_1_apply_brings_up_workloads_that_reach_each_other(self):
        spec = apply_yaml(yaml_documents(fabric.prefix))
        for name, _, _ in WORKLOADS:
            wait_for_interface(name)
            addr[name] = dhcp(name)
        self.assertTrue(addr["ra"].startswith("10.1.1.") and addr["ba"].startswith("10.2.2."), addr)
        wait_for("every host to learn red", lambda: all(
            {f"{addr['rb']}/32", f"{addr['rc']}/32"} <= host_routes(fabric.hosts[0], f"default-domain:{fabric.prefix}:red")
            for _ in [0]))
        for src, dst in (("ra", "rb"), ("rb", "rc"), ("rc", "ra"), ("ba", "bb")):
            self.assertTrue(ping(src, addr[dst]), f"{src} -> {dst}")
        self.assertFalse(ping("ra", addr["bb"], count=1), "red reached blue")
        # IPv6 on red: DHCPv6 from the agents, then across hosts.
        for name in ("ra", "rb"):
            addr[name + "6"] = dhcp6(name)
        self.assertTrue(addr["ra6"].startswith("fd00:10::"), addr)
        # Router advertisements from the agent give the default route, via the gateway's link-local.
        wait_for("an IPv6 default route", lambda: "via fe80::200:5eff:fe00:100 dev eth0" in sh(
            IP, "-6", "route", "show", "default", ns=ns("ra")).stdout)
        self.assertTrue(ping("ra", addr["rb6"]), "IPv6 across hosts")
        self.assertFalse(ping("bb", addr["rc"], count=1), "blue reached red")
        # Applying the same files again changes nothing.
        self.assertIn("unchanged", vrctl("apply", "-f", spec).stdout.lower())

    def test_2_deleting_a_workload_removes_its_routes_everywhere(self):
        vrctl("delete", "instance-ip", f"default-domain:{fabric.prefix}:rc-ip", f"default-domain:{fabric.prefix}:rc-ip6")
        vrctl("delete", "virtual-machine-interface", f"default-domain:{fabric.prefix}:rc-eth0")
        red = f"default-domain:{fabric.prefix}:red"
        for h in fabric.hosts:
            wait_for(f"{h.name} to drop rc", lambda: f"{addr['rc']}/32" not in host_routes(h, red))
        self.assertNotEqual(sh(IP, "link", "show", "eth0", ns=ns("rc"), check=False).returncode, 0)
        self.assertTrue(ping("ra", addr["rb"]))

    def test_3_controller_restart(self):
        ctl.kill()
        self.assertTrue(ping("ra", addr["rb"]), "forwarding needs no controller for established state")
        ctl.start()
        # A change made after the restart reaches the hosts: the agents reconnected.
        vrctl("delete", "instance-ip", f"default-domain:{fabric.prefix}:bb-ip")
        vrctl("delete", "virtual-machine-interface", f"default-domain:{fabric.prefix}:bb-eth0")
        blue = f"default-domain:{fabric.prefix}:blue"
        wait_for("host 1 to drop bb", lambda: f"{addr['bb']}/32" not in host_routes(fabric.hosts[0], blue), 60)
        self.assertTrue(ping("ra", addr["rb"]))

    def test_4_agent_restart_rebuilds_its_host(self):
        h = fabric.hosts[1]
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait()
        self.assertTrue(ping("rb", addr["ra"]), "the forwarder keeps forwarding without its agent")
        start_agent(h)
        red = f"default-domain:{fabric.prefix}:red"
        wait_for("the restarted agent to rebuild", lambda: {f"{addr['ra']}/32", f"{addr['rb']}/32"}
                 <= host_routes(h, red) if os.path.exists(h.socket) else False)
        self.assertTrue(ping("rb", addr["ra"]))
        self.assertTrue(ping("ra", addr["rb"]))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
