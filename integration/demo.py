"""The all-in-one demo (the README's first command).

A controller on SQLite (REST API on 127.0.0.1:8082 for you; agent API and BGP route
reflector on the fabric), three hosts as network namespaces each running vr-agent, and the
application of examples/fabric-demo.yaml: two tenant networks sharing one subnet, workloads
on every host, and a third network connected to one of them by a network policy that passes
HTTP only (a web server runs in vrdemo-red-3). The workloads get their addresses over DHCP from their agents; the demo
checks who reaches whom, then leaves everything running for exploration with vrctl.

  demo.py up BUILD_DIR     build the topology and leave it running
  demo.py down             remove everything the demo made
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import IP, Fabric, agent_token_file, attach_ports, sh, wait_for  # noqa: E402

STATE = "/run/vrfabric-demo"
EXAMPLE = os.path.join(HERE, "..", "examples", "fabric-demo.yaml")
FABRIC_CTL = "192.0.2.1"
API = "127.0.0.1:8082"


def dhcp(ns):
    script = os.path.join(HERE, "udhcpc-script.sh")
    sh("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "8", "-T", "1", "-s", script, ns=ns, timeout=40)
    out = sh(IP, "-4", "-o", "addr", "show", "eth0", ns=ns).stdout.split()
    return out[out.index("inet") + 1]


def up(build):
    down(quiet=True)
    build = os.path.abspath(build)
    fabric = Fabric(3, vrctl_bin=f"{build}/cli/vrctl", persistent_dir=STATE)
    sh(IP, "addr", "add", f"{FABRIC_CTL}/24", "dev", "br0", ns=fabric.underlay)
    token_file = f"{STATE}/admin.token"
    with open(f"{STATE}/controller.log", "a") as log:
        ctl = subprocess.Popen([f"{build}/controller/vr-controller", "--listen", API, "--db", f"{STATE}/controller.db",
                                "--admin-token-file", token_file, "--fabric-netns", fabric.underlay,
                                "--agent-listen", f"{FABRIC_CTL}:8082", "--bgp-listen", FABRIC_CTL],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pids = [ctl.pid]
    wait_for("the controller", lambda: os.path.exists(token_file) or ctl.poll() is not None, 20)
    if ctl.poll() is not None:
        raise RuntimeError(f"vr-controller exited: see {STATE}/controller.log (is {API} taken?)")
    fabric.agent_bin = f"{build}/daemon/vr-agent"
    admin_token = open(token_file).read().strip()
    for h in fabric.hosts:  # each agent holds a credential for its own host only
        host_token = agent_token_file(f"http://{API}", admin_token, f"node-{h.index}", STATE)
        h.start_agent("--controller", f"http://{FABRIC_CTL}:8082", "--token-file", host_token,
                      "--host", f"node-{h.index}", "--controller-bgp", FABRIC_CTL)
        pids.append(h.proc.pid)
    with open(f"{STATE}/pids", "w") as f:
        f.write("\n".join(map(str, pids)))

    # The workload runtime's part: one namespace per virtual machine of the example.
    workloads = re.findall(r"fq_name: default-domain:demo:(vrdemo-[\w-]+)", open(EXAMPLE).read())
    for ns in workloads:
        sh(IP, "netns", "add", ns)
        sh(IP, "link", "set", "lo", "up", ns=ns)
    env = dict(os.environ, VRCTL_SERVER=f"http://{API}", VRCTL_TOKEN=open(token_file).read().strip())
    print(subprocess.run([f"{build}/cli/vrctl", "apply", "-f", EXAMPLE], env=env, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1])
    attach_ports(fabric, env["VRCTL_SERVER"], env["VRCTL_TOKEN"], "default-domain:demo")
    for ns in workloads:
        wait_for(f"{ns}'s interface", lambda: sh(IP, "link", "show", "eth0", ns=ns, check=False).returncode == 0)
        print(f"  {ns}: {dhcp(ns)} (DHCP from its agent)")
    wait_for("routes to spread", lambda: sh("ping", "-c1", "-W1", "10.10.1.13", ns="vrdemo-red-1",
                                             check=False).returncode == 0)
    # A web server in red, for the network that the policy lets in on port 80.
    www = os.path.join(STATE, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("hello from vrdemo-red-3\n")
    httpd = subprocess.Popen([IP, "netns", "exec", "vrdemo-red-3", "busybox", "httpd", "-f", "-p", "80", "-h", www],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with open(f"{STATE}/pids", "a") as f:
        f.write(f"\n{httpd.pid}")

    def http(src, dst):
        return sh("curl", "-sf", "-m", "2", f"http://{dst}/", ns=src, check=False).returncode == 0

    def ping(src, dst):
        return sh("ping", "-c2", "-i0.2", "-W1", dst, ns=src, check=False).returncode == 0

    wait_for("web's route to red", lambda: http("vrdemo-web-2", "10.10.1.13"))
    checks = [("vrdemo-red-1", "10.10.1.12", ping, True, "red, node-1 -> node-2"),
              ("vrdemo-red-2", "10.10.1.13", ping, True, "red, node-2 -> node-3"),
              ("vrdemo-blue-1", "10.10.1.13", ping, True, "blue, same addresses, node-1 -> node-3"),
              ("vrdemo-blue-1", "10.10.1.12", ping, False, "blue cannot reach red's 10.10.1.12"),
              ("vrdemo-web-2", "10.10.1.13", http, True, "HTTP from web to red: routed, the policy passes it"),
              ("vrdemo-web-2", "10.10.1.13", ping, False, "ping from web to red: the policy passes HTTP only")]
    ok = True
    for src, dst, probe, expect, what in checks:
        got = probe(src, dst)
        ok &= got == expect
        print(f"  {'ok ' if got == expect else 'BAD'} {src} -> {dst} ({probe.__name__}): "
              f"{'reachable' if got else 'unreachable'} ({what})")
    vr = f"{build}/cli/vrctl"
    print(f"""
The demo is running. Try:
  export VRCTL_SERVER=http://{API} VRCTL_TOKEN=$(cat {token_file})
  {vr} get virtual-machine-interfaces --project default-domain:demo
  {vr} agent --socket {STATE}/h1.sock show routes --vrf default-domain:demo:red
  {vr} agent --socket {STATE}/h1.sock show counters
  {vr} agent --socket {STATE}/h3.sock show flows
  ip netns exec vrdemo-web-2 curl http://10.10.1.13/
  ip netns exec vrdemo-red-1 ping 10.10.1.13
Tear it down with: scripts/demo.sh down""")
    return 0 if ok else 1


def down(quiet=False):
    if os.path.exists(f"{STATE}/pids"):
        for pid in open(f"{STATE}/pids").read().split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
        time.sleep(1)
    for line in sh(IP, "netns", "list").stdout.splitlines():
        if line.startswith("vrdemo-"):
            sh(IP, "netns", "del", line.split()[0], check=False)
    for f in glob.glob(f"{STATE}/*"):
        shutil.rmtree(f) if os.path.isdir(f) else os.remove(f)
    if not quiet:
        print("demo removed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "down":
        sys.exit(down())
    if len(sys.argv) == 3 and sys.argv[1] == "up":
        sys.exit(up(sys.argv[2]))
    print(__doc__)
    sys.exit(2)
