#!/usr/bin/env python3
"""Interop with GoBGP 3.10 (eBGP, L2VPN EVPN + VPN-IPv4 + VPN-IPv6).

Namespace `us` runs vr-bgpd (AS 65000, 10.2.0.1), namespace `gobgp` runs gobgpd
(AS 65002, 10.2.0.2). Checked with GoBGP's own CLI (gobgp ... -j) and ours:
  * the session establishes;
  * our EVPN type-2/3/5 and VPN-IPv4 routes appear in GoBGP with the right RD,
    MAC/IP, labels, route targets, encapsulation, router MAC, PMSI and next hop;
  * GoBGP's type-2/3/5 and VPN-IPv4 routes appear in ours, decoded the same way;
  * VPN-IPv6 routes go both ways (our IPv4 next hop as IPv4-mapped IPv6, RFC 4659);
  * withdrawals propagate both ways;
  * after a reset from either side the session recovers and routes come back.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import GoBgp, VrBgpd, check, gobgp_toml, log, main_test, wait_until  # noqa: E402

US, GO = "10.2.0.1", "10.2.0.2"

OURS = {
    "type2": {"family": "evpn", "type": "macip", "rd": "10.2.0.1:100", "mac": "02:bb:00:00:00:01", "ip": "10.50.0.1",
              "label": 100, "rt": ["65002:100"], "encap": "vxlan", "next-hop": US},
    "type3": {"family": "evpn", "type": "multicast", "rd": "10.2.0.1:100", "label": 100, "rt": ["65002:100"],
              "encap": "vxlan", "next-hop": US},
    "type5": {"family": "evpn", "type": "prefix", "rd": "10.2.0.1:200", "prefix": "10.60.0.0/24", "label": 5000,
              "rt": ["65002:5000"], "encap": "vxlan", "router-mac": "02:bb:00:00:00:ff", "next-hop": US},
    "vpn": {"family": "vpnv4", "rd": "65000:1", "prefix": "10.70.0.0/24", "label": 2001, "rt": ["65002:1"],
            "next-hop": US},
    "vpn6": {"family": "vpnv6", "rd": "65000:6", "prefix": "2001:db8:70::/48", "label": 2006, "rt": ["65002:6"],
             "next-hop": US},
}
G2 = "[type:macadv][rd:10.2.0.1:100][etag:0][mac:02:bb:00:00:00:01][ip:10.50.0.1]"
G3 = "[type:multicast][rd:10.2.0.1:100][etag:0][ip:10.2.0.1]"
G5 = "[type:Prefix][rd:10.2.0.1:200][etag:0][prefix:10.60.0.0/24]"
GV = "65000:1:10.70.0.0/24"

THEIRS = {
    "type2": "macadv 02:cc:00:00:00:01 10.80.0.1 etag 0 label 200 rd 10.2.0.2:100 rt 65002:100 encap vxlan nexthop 10.2.0.2",
    "type3": "multicast 10.2.0.2 etag 0 rd 10.2.0.2:100 rt 65002:100 encap vxlan pmsi ingress-repl 200 10.2.0.2 nexthop 10.2.0.2",
    "type5": "prefix 10.90.0.0/24 gw 0.0.0.0 etag 0 label 6000 rd 10.2.0.2:200 rt 65002:6000 encap vxlan "
             "router-mac 02:cc:00:00:00:ff nexthop 10.2.0.2",
}
THEIR_VPN = "10.95.0.0/24 label 3001 rd 65002:1 rt 65002:1 nexthop 10.2.0.2"
THEIR_VPN6 = "2001:db8:95::/48 label 3006 rd 65002:6 rt 65002:6 nexthop 2001:db8::2"
GV6 = "65000:6:2001:db8:70::/48"

TOML = gobgp_toml(65002, GO, US, 65000, ("l2vpn-evpn", "l3vpn-ipv4-unicast", "l3vpn-ipv6-unicast"))


def attr(path, t):
    for a in path["attrs"]:
        if a["type"] == t:
            return a
    return None


def ext_communities(path):
    out = set()
    for c in attr(path, 16)["value"]:
        if c["subtype"] == 2:
            out.add(f"rt:{c['value']}")
        elif c["subtype"] == 12:
            out.add(f"encap:{c['tunnel_type']}")
        elif c["subtype"] == 3:
            out.add(f"router-mac:{c['mac']}")
    return out


def check_ours_in_gobgp(go):
    rib = wait_until("our EVPN routes in GoBGP", lambda: (lambda r: r if all(k in r for k in (G2, G3, G5)) else None)(go.rib("evpn")), 30)
    p2, p3, p5 = rib[G2][0], rib[G3][0], rib[G5][0]
    check(p2["nlri"]["value"]["labels"] == [100] and p2["nlri"]["value"]["esi"] == "single-homed", "GoBGP: type-2 label 100, single-homed")
    check(ext_communities(p2) == {"rt:65002:100", "encap:8"}, "GoBGP: type-2 RT + VXLAN encap")
    check(attr(p2, 14)["nexthop"] == US and attr(p2, 2)["as_paths"][0]["asns"] == [65000], "GoBGP: type-2 next hop, AS path")
    pmsi = attr(p3, 22)
    check(pmsi and pmsi["tunnel-type"] == 6 and pmsi["label"] == 100 and pmsi["tunnel-id"] == US, "GoBGP: type-3 PMSI ingress-repl VNI 100")
    v5 = p5["nlri"]["value"]
    check(v5["label"] == 5000 and v5["gateway"] == "0.0.0.0", "GoBGP: type-5 label and gateway")
    check(ext_communities(p5) == {"rt:65002:5000", "encap:8", "router-mac:02:bb:00:00:00:ff"}, "GoBGP: type-5 RT, encap, router MAC")
    vpn = wait_until("our VPN-IPv4 route in GoBGP", lambda: go.rib("vpnv4").get(GV), 30)[0]
    check(vpn["nlri"]["labels"] == [2001] and attr(vpn, 14)["nexthop"] == US, "GoBGP: VPN-IPv4 label 2001, next hop")
    check(ext_communities(vpn) == {"rt:65002:1"}, "GoBGP: VPN-IPv4 RT")
    v6 = wait_until("our VPN-IPv6 route in GoBGP", lambda: go.rib("vpnv6").get(GV6), 30)[0]
    # An IPv4 next hop travels as IPv4-mapped IPv6 in VPN-IPv6 (RFC 4659 3.2.1.2);
    # GoBGP prints such an address in its IPv4 form.
    check(v6["nlri"]["labels"] == [2006] and attr(v6, 14)["nexthop"] in (f"::ffff:{US}", US),
          f"GoBGP: VPN-IPv6 label, mapped next hop ({v6['nlri']['labels']}, {attr(v6, 14)['nexthop']})")


def check_theirs_in_ours(me):
    p = wait_until("GoBGP's type-2 in ours", lambda: me.best("evpn", lambda p: p["nlri"].get("mac") == "02:cc:00:00:00:01"), 30)
    check(p["nlri"]["ip"] == "10.80.0.1" and p["nlri"]["label"] == 200 and p["nlri"]["rd"] == "10.2.0.2:100",
          "ours: GoBGP type-2 IP, label, RD")
    check(set(p["ext-communities"]) == {"rt:65002:100", "encap:vxlan"} and p["next-hop"] == GO, "ours: GoBGP type-2 RT/encap/next hop")
    p = wait_until("GoBGP's type-3 in ours", lambda: me.best("evpn", lambda p: p["nlri"].get("type") == 3 and p["nlri"]["originator"] == GO), 30)
    check(p["pmsi"] == {"type": 6, "label": 200, "endpoint": GO}, "ours: GoBGP type-3 PMSI")
    p = wait_until("GoBGP's type-5 in ours", lambda: me.best("evpn", lambda p: p["nlri"].get("prefix") == "10.90.0.0/24"), 30)
    check(p["nlri"]["label"] == 6000 and "router-mac:02:cc:00:00:00:ff" in p["ext-communities"], "ours: GoBGP type-5 label, router MAC")
    p = wait_until("GoBGP's VPN route in ours", lambda: me.best("vpnv4", lambda p: p["nlri"]["prefix"] == "10.95.0.0/24"), 30)
    check(p["nlri"]["label"] == 3001 and p["nlri"]["rd"] == "65002:1" and p["ext-communities"] == ["rt:65002:1"],
          "ours: GoBGP VPN-IPv4 label, RD, RT")
    p = wait_until("GoBGP's VPN-IPv6 route in ours", lambda: me.best("vpnv6", lambda p: p["nlri"]["prefix"] == "2001:db8:95::/48"), 30)
    check(p["nlri"]["label"] == 3006 and p["next-hop"] == "2001:db8::2", "ours: GoBGP VPN-IPv6 label and next hop")


def body(lab):
    us = lab.netns("us")
    gns = lab.netns("gobgp")
    lab.link(us, f"{US}/24", gns, f"{GO}/24")
    go = GoBgp(lab, gns, TOML)
    me = VrBgpd(lab, us, ["--local-as", "65000", "--router-id", US, "--listen", US,
                          "--peer", f"{GO},as=65002,families=evpn+vpnv4+vpnv6"])
    wait_until("session established (ours)", lambda: me.established(GO), 60)
    wait_until("session established (GoBGP)", lambda: go.established(US), 30)
    log("ok: session established")
    for r in OURS.values():
        me.add(r)
    for spec in THEIRS.values():
        go.cli("global", "rib", "-a", "evpn", "add", *spec.split(), json_out=False)
    go.cli("global", "rib", "-a", "vpnv4", "add", *THEIR_VPN.split(), json_out=False)
    go.cli("global", "rib", "-a", "vpnv6", "add", *THEIR_VPN6.split(), json_out=False)
    check_ours_in_gobgp(go)
    check_theirs_in_ours(me)

    me.delete(OURS["type2"])
    wait_until("type-2 withdrawn in GoBGP", lambda: G2 not in go.rib("evpn"), 30)
    me.delete(OURS["vpn"])
    wait_until("VPN withdrawn in GoBGP", lambda: GV not in go.rib("vpnv4"), 30)
    log("ok: our withdrawals reached GoBGP")
    go.cli("global", "rib", "-a", "evpn", "del", *THEIRS["type2"].split(), json_out=False)
    wait_until("GoBGP's type-2 withdrawn in ours",
               lambda: me.best("evpn", lambda p: p["nlri"].get("mac") == "02:cc:00:00:00:01") is None, 30)
    go.cli("global", "rib", "-a", "vpnv4", "del", *THEIR_VPN.split(), json_out=False)
    wait_until("GoBGP's VPN withdrawn in ours",
               lambda: me.best("vpnv4", lambda p: p["nlri"]["prefix"] == "10.95.0.0/24") is None, 30)
    log("ok: GoBGP's withdrawals reached us")

    before = me.sessions(GO)
    me.ctl("neighbor", "reset", GO)
    wait_until("re-established after our reset", lambda: me.sessions(GO) > before and me.established(GO), 60)
    wait_until("type-5 back in GoBGP", lambda: G5 in go.rib("evpn"), 30)
    wait_until("GoBGP's type-5 back in ours",
               lambda: me.best("evpn", lambda p: p["nlri"].get("prefix") == "10.90.0.0/24"), 30)
    log("ok: session recovered after our reset")
    before = me.sessions(GO)
    go.cli("neighbor", US, "reset", json_out=False)
    wait_until("re-established after GoBGP's reset", lambda: me.sessions(GO) > before and me.established(GO), 60)
    wait_until("type-3 back in GoBGP", lambda: G3 in go.rib("evpn"), 30)
    log("ok: session recovered after GoBGP's reset")


if __name__ == "__main__":
    sys.exit(main_test("gobgp_interop", body))
