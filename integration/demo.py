"""The all-in-one demo: two hosts (network namespaces) each running vr-agent, two tenant
networks that deliberately share a subnet, MACs and addresses, workloads on both hosts,
and a second subnet routed through the distributed gateway. It checks reachability, then
leaves everything running for exploration.

  demo.py up BUILD_DIR     build the topology and leave it running
  demo.py down             remove everything the demo made
"""
import glob
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import IP, Fabric, Workload, sh  # noqa: E402

STATE = "/run/vrfabric-demo"
ENCAP = {"red": "mplsudp", "blue": "vxlan"}
VNI = {"red": 100, "blue": 200}
WORKLOADS = [  # name, host, vrf, mac, address/len, gateway
    ("r11", 1, "red", "02:00:00:00:01:03", "10.1.1.3/24", "10.1.1.1"),
    ("r21", 2, "red", "02:00:00:00:01:05", "10.1.1.5/24", "10.1.1.1"),
    ("r22", 2, "red", "02:00:00:00:02:07", "10.1.2.7/24", "10.1.2.1"),
    ("b11", 1, "blue", "02:00:00:00:01:03", "10.1.1.3/24", "10.1.1.1"),
    ("b21", 2, "blue", "02:00:00:00:01:05", "10.1.1.5/24", "10.1.1.1"),
]


def up(build):
    down(quiet=True)
    fabric = Fabric(2, agent_bin=f"{build}/daemon/vr-agent", vrctl_bin=f"{build}/cli/vrctl", persistent_dir=STATE)
    with open(f"{STATE}/pids", "w") as f:
        f.write("\n".join(str(h.proc.pid) for h in fabric.hosts))
    for h in fabric.hosts:
        for vrf in ("red", "blue"):
            h.api("vrf.add", name=vrf, vni=VNI[vrf])
        for gw in ("10.1.1.1/32", "10.1.2.1/32"):
            h.api("route.add", vrf="red", prefix=gw, nexthop="receive")
        h.api("route.add", vrf="blue", prefix="10.1.1.1/32", nexthop="receive")
    w = {}
    for name, hi, vrf, mac, addr, gw in WORKLOADS:
        w[name] = Workload(fabric.hosts[hi - 1], vrf, name, mac, [addr], [gw])
    for wl in w.values():
        for h in fabric.hosts:
            if h is not wl.host:
                label = VNI[wl.vrf] if ENCAP[wl.vrf] == "vxlan" else wl.label
                h.api("endpoint.add", vrf=wl.vrf, mac=wl.mac, ips=[wl.ips[0].split("/")[0]],
                      remote=wl.host.fabric_ip, encap=ENCAP[wl.vrf], label=label)
    checks = [("r11", "10.1.1.5", True, "red, across hosts over MPLSoUDP"),
              ("b11", "10.1.1.5", True, "blue, same addresses, across hosts over VXLAN"),
              ("r11", "10.1.2.7", True, "red, routed to another subnet via the distributed gateway"),
              ("b11", "10.1.2.7", False, "blue cannot reach red's second subnet")]
    ok = True
    for src, dst, expect, what in checks:
        got = w[src].ping(dst, count=2)
        ok &= got == expect
        print(f"  {'ok ' if got == expect else 'BAD'} {src} -> {dst}: {'reachable' if got else 'unreachable'} ({what})")
    vr = f"{build}/cli/vrctl agent --socket {STATE}/h1.sock"
    print(f"""
The demo is running. Try:
  {vr} show routes --vrf red
  {vr} show l2
  {vr} show counters
  ip netns exec vrdemo-r11 ping 10.1.1.5
Tear it down with: python3 {os.path.abspath(__file__)} down""")
    return 0 if ok else 1


def down(quiet=False):
    if os.path.exists(f"{STATE}/pids"):
        for pid in open(f"{STATE}/pids").read().split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
    subprocess.run(["sleep", "1"])
    for line in sh(IP, "netns", "list").stdout.splitlines():
        if line.startswith("vrdemo-"):
            sh(IP, "netns", "del", line.split()[0], check=False)
    for f in glob.glob(f"{STATE}/*"):
        os.remove(f)
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
