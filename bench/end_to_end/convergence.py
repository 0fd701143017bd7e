"""Time from `vrctl apply` of N workloads to every host's forwarder holding a route to every
one of them: the whole path (REST + SQLite + IPAM, per-host config streams, agents plugging
veths, BGP EVPN through the controller's route reflector, BPF map writes). Real agents on
three hosts; the workload namespaces are made beforehand (the runtime's part, not timed).

usage: convergence.py BUILD_DIR [N ...]      (default N: 10 100 1000)
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.argv += [] if len(sys.argv) > 1 else ["build"]
BUILD = os.path.abspath(sys.argv[1])
sys.argv = [sys.argv[0], f"{BUILD}/daemon/vr-agent", f"{BUILD}/cli/vrctl", f"{BUILD}/controller/vr-controller"] + sys.argv[2:]
import test_end_to_end as e2e  # noqa: E402  (reuses its controller/fabric set-up)
from harness import IP, Fabric, attach_ports, sh  # noqa: E402


def documents(p, n):
    docs = [f"kind: project\nfq_name: default-domain:{p}",
            f"kind: network-ipam\nfq_name: default-domain:{p}:ipam\nipam_method: dhcp",
            f"kind: virtual-network\nfq_name: default-domain:{p}:net\nnetwork_ipam_refs:\n  - to: default-domain:{p}:ipam\n"
            f"    attr:\n      ipam_subnets:\n        - subnet: 10.64.0.0/16"]
    for i in range(n):
        docs.append(f"kind: virtual-machine\nfq_name: default-domain:{p}:{p}-w{i}\nserver_type: container")
        docs.append(f"kind: virtual-machine-interface\nfq_name: default-domain:{p}:w{i}-eth0\nhost_id: node-{i % 3 + 1}\n"
                    f"virtual_network_refs: [{{to: default-domain:{p}:net}}]\n"
                    f"virtual_machine_refs: [{{to: default-domain:{p}:{p}-w{i}}}]")
        docs.append(f"kind: instance-ip\nfq_name: default-domain:{p}:w{i}-ip\nvirtual_network_refs: [{{to: default-domain:{p}:net}}]\n"
                    f"virtual_machine_interface_refs: [{{to: default-domain:{p}:w{i}-eth0}}]")
    return "\n---\n".join(docs) + "\n"


def host_count(h, vrf):
    r = h.api.call("route.list", vrf=vrf)
    return sum(1 for x in r.get("result", []) if x.get("type") in ("interface", "tunnel")) if r.get("ok") else 0


def run(n):
    e2e.fabric = fabric = Fabric(3, vrctl_bin=e2e.VRCTL)
    try:
        sh(IP, "addr", "add", f"{e2e.FABRIC_CTL}/24", "dev", "br0", ns=fabric.underlay)
        e2e.ctl = ctl = e2e.Controller(fabric.tmp)
        ctl.start()
        with open(ctl.token_file) as f:
            e2e.env.update(VRCTL_SERVER=f"http://127.0.0.1:{ctl.port}", VRCTL_TOKEN=f.read().strip(), HOME=fabric.tmp)
        for i in range(n):
            ns = f"{fabric.prefix}-w{i}"
            fabric.track_ns(ns)
            sh(IP, "netns", "add", ns)
        fabric.agent_bin = e2e.AGENT
        for h in fabric.hosts:
            e2e.start_agent(h)
        spec = os.path.join(fabric.tmp, "bench.yaml")
        with open(spec, "w") as f:
            f.write(documents(fabric.prefix, n))
        vrf = f"default-domain:{fabric.prefix}:net"
        t0 = time.monotonic()
        e2e.vrctl("apply", "-f", spec)
        t_apply = time.monotonic() - t0
        attach_ports(fabric, e2e.env["VRCTL_SERVER"], e2e.env["VRCTL_TOKEN"], f"default-domain:{fabric.prefix}")
        e2e.wait_for(f"{n} routes on every host", lambda: all(host_count(h, vrf) >= n for h in fabric.hosts), 600)
        t_all = time.monotonic() - t0
        return t_apply, t_all
    finally:
        ctl.proc.terminate()
        ctl.proc.wait(10)
        fabric.close()


def main():
    sizes = [int(x) for x in sys.argv[4:]] or [10, 100, 1000]
    rows = [(n, *run(n)) for n in sizes]
    print("\nvrctl apply of N workloads (3 objects each) -> every host's forwarder routes to all N")
    print(f"{'N':>6} {'apply (s)':>10} {'converged (s)':>14} {'ms per workload':>16}")
    for n, ta, tc in rows:
        print(f"{n:>6} {ta:>10.2f} {tc:>14.2f} {1000 * tc / n:>16.1f}")
    if len(rows) > 1:
        (n0, _, t0), (n1, _, t1) = rows[0], rows[-1]
        print(f"growth from N={n0} to N={n1}: x{t1 / t0:.1f} time for x{n1 / n0:.0f} workloads")


if __name__ == "__main__":
    main()
