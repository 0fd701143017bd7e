#!/usr/bin/env python3
"""Route-reflector benchmark: vr-bgpd vs FRR bgpd vs GoBGP, same machine, same feed.

Topology (one namespace each, veth links to the reflector):
    feeder (vr-bgpd --blast N) --iBGP--> REFLECTOR --iBGP--> receiver A (vr-bgpd)
                                                  \\--iBGP--> receiver B (vr-bgpd)
For each reflector the receivers' sessions are brought up first, then the feeder
is started; the time reported runs from the feeder's start until both receivers
hold all N EVPN type-2 routes. Peak memory is the reflector daemon's VmHWM
(FRR: bgpd only, zebra is excluded), and per route = (peak - RSS before the
feed) / N.

A reflector that has not delivered everything after CAP seconds is reported with
the routes it delivered by then (GoBGP slows down as its EVPN table grows).

usage: bench_rr.py [--routes N] [--only vrbgp,frr,gobgp] [--bin-dir DIR]
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "bgp"))
from netlab import Frr, GoBgp, Lab, VrBgpd, log, wait_until  # noqa: E402

RR = {"f": "10.9.1.1", "a": "10.9.2.1", "b": "10.9.3.1"}
PEER = {"f": "10.9.1.2", "a": "10.9.2.2", "b": "10.9.3.2"}
CAP = 300  # seconds a reflector may take; slower ones are reported with what they delivered


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def frr_conf():
    lines = ["hostname rr", "log stdout warnings", "router bgp 65000", f" bgp router-id {RR['f']}",
             f" bgp cluster-id {RR['f']}", " no bgp default ipv4-unicast"]
    for p in PEER.values():
        lines += [f" neighbor {p} remote-as 65000", f" neighbor {p} timers connect 2"]
    lines.append(" address-family l2vpn evpn")
    for p in PEER.values():
        lines += [f"  neighbor {p} activate", f"  neighbor {p} route-reflector-client"]
    lines += [" exit-address-family", "!"]
    return "\n".join(lines) + "\n"


def gobgp_conf():
    out = f'[global.config]\n  as = 65000\n  router-id = "{RR["f"]}"\n'
    for p in PEER.values():
        out += (f'[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "{p}"\n    peer-as = 65000\n'
                f'  [neighbors.route-reflector.config]\n    route-reflector-client = true\n'
                f'    route-reflector-cluster-id = "{RR["f"]}"\n'
                f'  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "l2vpn-evpn"\n')
    return out


def evpn_count(rx):
    return rx.ctl("show", "summary")["families"]["evpn"]["routes"]


def run_one(kind, n):
    with Lab(f"bench-{kind}") as lab:
        rns = lab.netns("rr")
        ns = {k: lab.netns(k) for k in PEER}
        for k in PEER:
            lab.link(rns, f"{RR[k]}/24", ns[k], f"{PEER[k]}/24")
        if kind == "vrbgp":
            args = ["--local-as", "65000", "--router-id", RR["f"], "--log-level", "warn"]
            for k, p in PEER.items():
                args += ["--peer", f"{p},as=65000,rr-client,passive,local={RR[k]}"]
            rr = VrBgpd(lab, rns, args, name="reflector")
            pid = rr.proc.pid
        elif kind == "frr":
            Frr(lab, rns, frr_conf())  # zebra too: FRR needs it to resolve the next hop
            pid = int(open(os.path.join(lab.tmp, f"frr-{rns}", "bgpd.pid")).read())
        else:
            GoBgp(lab, rns, gobgp_conf())
            pid = next(p.pid for p, name in lab.procs if name.startswith("gobgpd"))
        rx = [VrBgpd(lab, ns[k], ["--local-as", "65000", "--router-id", PEER[k], "--log-level", "warn",
                                  "--peer", f"{RR[k]},as=65000,local={PEER[k]}"], name=f"receiver-{k}")
              for k in ("a", "b")]
        wait_until("receivers established", lambda: all(r.established(RR[k]) for r, k in zip(rx, "ab")), 90)
        time.sleep(1)
        base = proc_kib(pid, "VmRSS")
        t0 = time.time()
        # Spawned directly (no API wait) so the clock measures only the feed.
        lab.spawn(ns["f"], [os.path.join(lab.bin, "vr-bgpd"), "--local-as", "65000", "--router-id", PEER["f"],
                            "--log-level", "warn", "--peer", f"{RR['f']},as=65000,local={PEER['f']}",
                            "--blast", str(n), "--blast-rd", f"{PEER['f']}:1", "--blast-next-hop", PEER["f"]],
                  "feeder.log")
        last, counts = [0.0], [0, 0]

        def done():
            counts[:] = [evpn_count(r) for r in rx]
            if time.time() - last[0] > 10:  # progress, for slow reflectors
                last[0] = time.time()
                log(f"{kind}: receivers hold {counts} routes after {time.time() - t0:.0f} s")
            return all(c >= n for c in counts)
        try:
            wait_until(f"{n} routes at both receivers", done, CAP, interval=0.05)
        except AssertionError:
            log(f"{kind}: not done after {CAP} s, receivers hold {counts}")
        elapsed = time.time() - t0
        delivered = min(counts)
        peak = proc_kib(pid, "VmHWM")
        log(f"{kind}: {elapsed:.2f} s, peak RSS {peak / 1024:.1f} MiB (before feed {base / 1024:.1f} MiB)")
        return elapsed, peak, base, delivered


def main():
    n = int(arg("--routes", "100000"))
    kinds = arg("--only", "vrbgp,frr,gobgp").split(",")
    results = {}
    for k in kinds:
        results[k] = run_one(k, n)
    names = {"vrbgp": "vr-bgpd", "frr": "FRR bgpd 8.4", "gobgp": "GoBGP 3.10"}
    print(f"\nRoute reflector: {n} EVPN type-2 routes from 1 feeder to 2 receivers (iBGP, 2-core VM)")
    print(f"{'reflector':<14} {'time (s)':>10} {'routes/s':>10} {'peak RSS (MiB)':>15} {'bytes/route':>12}")
    for k in kinds:
        t, peak, base, delivered = results[k]
        per = (peak - base) * 1024 / max(delivered, 1)
        shown = f"{t:.2f}" if delivered >= n else f">{CAP}"
        note = "" if delivered >= n else f"  (only {delivered} delivered in {CAP} s)"
        print(f"{names[k]:<14} {shown:>10} {delivered / t:>10.0f} {peak / 1024:>15.1f} {per:>12.0f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
