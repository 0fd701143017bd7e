#!/usr/bin/env python3
"""Independent decoding of what vr-bgpd sends: Wireshark's BGP dissector (tshark).

Two vr-bgpd speakers (eBGP, families EVPN, VPN-IPv4/6, IPv4, RTC) in namespaces;
tcpdump records the session while the first one originates every EVPN route type,
VPN-IPv4/IPv6, IPv4 unicast and an RT membership route. tshark must decode every
UPDATE without a malformed-packet or error-level expert note and must find the
fields we put in: route types 1-5 with their RFC lengths, MAC, IP, ESI, Ethernet
tag, labels, the encapsulation / router-MAC / MAC-mobility / default-gateway
extended communities, the PMSI tunnel and the VPN next hops.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import VrBgpd, check, main_test, wait_until  # noqa: E402

A, B = "10.5.0.1", "10.5.0.2"
FAMILIES = "evpn+vpnv4+vpnv6+ipv4+rtc"
ESI = "00:11:22:33:44:55:66:77:88:99"
ROUTES = [
    {"family": "evpn", "type": "ethernet-ad", "rd": "10.5.0.1:1", "esi": ESI, "etag": 5, "label": 100,
     "rt": ["65000:1"], "next-hop": A},
    {"family": "evpn", "type": "macip", "rd": "10.5.0.1:1", "mac": "02:bb:00:00:00:01", "ip": "10.50.0.1",
     "label": 100, "label2": 5000, "rt": ["65000:1"], "encap": "vxlan", "mac-mobility": 3,
     "default-gateway": True, "router-mac": "02:bb:00:00:00:ff", "next-hop": A},
    {"family": "evpn", "type": "multicast", "rd": "10.5.0.1:1", "label": 100, "rt": ["65000:1"], "encap": "vxlan",
     "next-hop": A},
    {"family": "evpn", "type": "ethernet-segment", "rd": "10.5.0.1:1", "esi": ESI, "rt": ["65000:1"], "next-hop": A},
    {"family": "evpn", "type": "prefix", "rd": "10.5.0.1:2", "prefix": "10.60.0.0/24", "label": 5000,
     "rt": ["65000:2"], "encap": "mpls-udp", "next-hop": A},
    {"family": "evpn", "type": "prefix", "rd": "10.5.0.1:2", "prefix": "2001:db8:60::/48", "label": 5000,
     "rt": ["65000:2"], "encap": "mpls-gre", "next-hop": A},
    {"family": "vpnv4", "rd": "65000:1", "prefix": "10.70.0.0/24", "label": 2001, "rt": ["65000:1"], "next-hop": A},
    {"family": "vpnv6", "rd": "65000:1", "prefix": "2001:db8:70::/48", "label": 2006, "rt": ["65000:1"], "next-hop": A},
    {"family": "ipv4", "prefix": "10.71.0.0/24", "next-hop": A},
    {"family": "rtc", "origin-as": 65000, "route-target": "65000:1", "next-hop": A},
]


def field_values(pkts):
    """{field name: set of values} over every packet, plus the list of expert notes."""
    values, experts = {}, []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k.startswith("_ws.expert") or k == "_ws.malformed":
                    experts.append((k, v))
                # --no-duplicate-keys turns repeated fields into lists of values
                for x in (v if isinstance(v, list) else [v]):
                    if isinstance(x, (dict, list)):
                        walk(x)
                    else:
                        values.setdefault(k, set()).add(x)
        elif isinstance(o, list):
            for x in o:
                walk(x)
    walk(pkts)
    return values, experts


def body(lab):
    na, nb = lab.netns("a"), lab.netns("b")
    va, _ = lab.link(na, f"{A}/24", nb, f"{B}/24")
    pcap = os.path.join(lab.tmp, "bgp.pcap")
    dump = lab.spawn(na, ["tcpdump", "-i", va, "-w", pcap, "-U", "--immediate-mode", "tcp port 179"], "tcpdump.log")
    time.sleep(1)
    a = VrBgpd(lab, na, ["--local-as", "65000", "--router-id", A, "--listen", A, "--peer", f"{B},as=65001,families={FAMILIES}"], name="A")
    b = VrBgpd(lab, nb, ["--local-as", "65001", "--router-id", B, "--listen", B, "--peer", f"{A},as=65000,families={FAMILIES}"], name="B")
    wait_until("session", lambda: a.established(B), 30)
    b.add({"family": "rtc", "default": True})  # RFC 4684: "send me every VPN route"
    for r in ROUTES:
        a.add(r)
    want = {"evpn": 6, "vpnv4": 1, "vpnv6": 1, "ipv4": 1}
    wait_until("every route at B", lambda: all(
        b.ctl("show", "summary")["families"][f]["routes"] == n for f, n in want.items()), 30)
    time.sleep(1.5)  # let tcpdump write out what it has read before it is stopped
    lab.stop(dump)
    r = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==179,bgp", "-T", "json", "--no-duplicate-keys",
                        "-Y", "bgp"], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "tshark read the capture")
    v, experts = field_values(json.loads(r.stdout))
    # Expert notes at error severity (PI_ERROR = 0x00800000) or a malformed-packet marker.
    bad = [e for e in experts if e[0] == "_ws.malformed" or
           (isinstance(e[1], dict) and int(e[1].get("_ws.expert.severity", "0")) >= 0x00800000)]
    check(not bad, f"tshark found no malformed packet or error note ({bad[:3]})")
    check(v.get("bgp.evpn.nlri.rt") == {"1", "2", "3", "4", "5"}, f"EVPN route types 1-5 decoded ({v.get('bgp.evpn.nlri.rt')}, {v.get('bgp.type')})")
    check({"25", "40", "17", "23", "34", "58"} <= v.get("bgp.evpn.nlri.len", set()),
          "EVPN NLRI lengths per RFC 7432/9136 (25, 40, 17, 23, 34, 58)")
    check(v.get("bgp.evpn.nlri.mac_addr") == {"02:bb:00:00:00:01"}, "type-2 MAC")
    check({"10.50.0.1", "10.60.0.0"} <= v.get("bgp.evpn.nlri.ip.addr", set()), "type-2 IP and type-5 prefix")
    check(v.get("bgp.evpn.nlri.ipv6.addr") == {"2001:db8:60::"}, "type-5 IPv6 prefix")
    check("11:22:33:44:55:66:77:88:99" in v.get("bgp.evpn.nlri.esi.value", set()), "ESI")
    check("5" in v.get("bgp.evpn.nlri.etag", set()), "Ethernet tag")
    check(v.get("bgp.ext_com.tunnel_type") == {"8", "11", "13"}, "encapsulation: VXLAN, MPLS-in-GRE, MPLS-in-UDP")
    check(v.get("bgp.ext_com_evpn.esi.router_mac") == {"02:bb:00:00:00:ff"}, "router's MAC extended community")
    check(v.get("bgp.ext_com_evpn.mmac.seq") == {"3"}, "MAC mobility sequence")
    check("0x0d" in v.get("bgp.ext_com.stype_tr_opaque", set()), "default gateway extended community")
    check(v.get("bgp.update.path_attribute.pmsi.tunnel.type") == {"6"} and
          v.get("bgp.update.path_attribute.pmsi.ingress_rep_ip") == {A}, "PMSI tunnel: ingress replication")
    check({"2001 (bottom)", "2006 (bottom)"} <= v.get("bgp.label_stack", set()), "VPN labels with bottom-of-stack")
    check(v.get("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6") == {f"::ffff:{A}"},
          "VPN-IPv6 next hop as IPv4-mapped IPv6")
    check(v.get("bgp.nlri_prefix") == {"10.71.0.0"}, "IPv4 unicast NLRI")
    check("132" in v.get("bgp.update.path_attribute.mp_reach_nlri.safi", set()), "RT membership (SAFI 132)")


if __name__ == "__main__":
    sys.exit(main_test("tshark_decode", body))
