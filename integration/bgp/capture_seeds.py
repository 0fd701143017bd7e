#!/usr/bin/env python3
"""Captures what FRR and GoBGP really send, for the fuzz corpus and codec cross-checks.

Runs the route-reflection topology (vr-bgpd between FRR and GoBGP), has every
speaker originate EVPN type-2/3/5 and VPN-IPv4 routes, captures both links with
tcpdump, reassembles the TCP streams and writes every distinct BGP message to
bgp/fuzz/corpus/<sender>-<n>.bin (prefixed with the fuzz context byte 0x01 =
4-octet AS). Prints the UPDATEs as hex so tests can pin them.
Not a CTest test: run it by hand when the corpus should be refreshed.
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import route_reflection as rr  # noqa: E402
from netlab import Frr, GoBgp, Lab, VrBgpd, log, vtep_setup, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "bgp", "fuzz", "corpus")


def tcp_payloads(pcap_path):
    """{(src, dst): bytes} of each TCP direction, reassembled by sequence number."""
    with open(pcap_path, "rb") as f:
        data = f.read()
    off, segs = 24, {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            continue
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        tcp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
        seq = struct.unpack("!I", tcp[4:8])[0]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if payload:
            segs.setdefault((src, dst), {})[seq] = payload
    return {k: b"".join(v[s] for s in sorted(v)) for k, v in segs.items()}


def split_messages(stream):
    msgs, i = [], 0
    while i + 19 <= len(stream):
        length = struct.unpack("!H", stream[i + 16:i + 18])[0]
        if length < 19:
            break
        msgs.append(stream[i:i + length])
        i += length
    return msgs


def main():
    with Lab("capture") as lab:
        us = lab.netns("rr")
        fns = lab.netns("frr")
        gns = lab.netns("gobgp")
        va, _ = lab.link(us, f"{rr.RR_A}/24", fns, f"{rr.FRR}/24")
        vb, _ = lab.link(us, f"{rr.RR_B}/24", gns, f"{rr.GO}/24")
        vtep_setup(lab, fns, rr.FRR, rr.FRR_MAC)
        caps = []
        for dev in (va, vb):
            path = os.path.join(lab.tmp, f"{dev}.pcap")
            lab.spawn(us, ["tcpdump", "-i", dev, "-w", path, "-U", "--immediate-mode", "tcp port 179"], f"tcpdump-{dev}.log")
            caps.append(path)
        time.sleep(1)
        Frr(lab, fns, rr.FRR_CONF)
        go = GoBgp(lab, gns, rr.TOML)
        me = VrBgpd(lab, us, ["--local-as", "65000", "--router-id", rr.RR_A, "--cluster-id", rr.CLUSTER,
                              "--peer", f"{rr.FRR},as=65000,rr-client,local={rr.RR_A},families=evpn+vpnv4",
                              "--peer", f"{rr.GO},as=65000,rr-client,local={rr.RR_B},families=evpn+vpnv4"])
        wait_until("sessions", lambda: me.established(rr.FRR) and me.established(rr.GO), 60)
        go.cli("global", "rib", "-a", "evpn", "add", *rr.GO_TYPE2.split(), json_out=False)
        go.cli("global", "rib", "-a", "evpn", "add", *"multicast 10.4.0.2 etag 0 rd 10.4.0.2:100 rt 65000:100 encap vxlan pmsi ingress-repl 100 10.4.0.2 nexthop 10.4.0.2".split(), json_out=False)
        go.cli("global", "rib", "-a", "evpn", "add", *"prefix 10.90.0.0/24 gw 0.0.0.0 etag 0 label 6000 rd 10.4.0.2:200 rt 65000:6000 encap vxlan router-mac 02:cc:00:00:00:ff nexthop 10.4.0.2".split(), json_out=False)
        go.cli("global", "rib", "-a", "vpnv4", "add", *rr.GO_VPN.split(), json_out=False)
        me.add({"family": "evpn", "type": "prefix", "rd": "10.3.0.1:5", "prefix": "10.61.0.0/24", "label": 5001,
                "rt": ["65000:5001"], "encap": "vxlan", "router-mac": "02:bb:00:00:00:fe", "next-hop": rr.RR_A})
        time.sleep(3)
        go.cli("global", "rib", "-a", "evpn", "del", *rr.GO_TYPE2.split(), json_out=False)
        time.sleep(2)
        os.makedirs(CORPUS, exist_ok=True)
        names = {rr.FRR: "frr", rr.GO: "gobgp", rr.RR_A: "vrbgp", rr.RR_B: "vrbgp"}
        seen, count = set(), 0
        for cap in caps:
            for (src, dst), stream in tcp_payloads(cap).items():
                for m in split_messages(stream):
                    if m in seen:
                        continue
                    seen.add(m)
                    count += 1
                    who = names.get(src, "other")
                    with open(os.path.join(CORPUS, f"{who}-{count:03d}.bin"), "wb") as f:
                        f.write(b"\x01" + m)
                    if m[18] == 2 and who != "vrbgp":
                        print(f"{who} UPDATE {m.hex()}")
        log(f"wrote {count} messages to {os.path.abspath(CORPUS)}")


if __name__ == "__main__":
    main()
