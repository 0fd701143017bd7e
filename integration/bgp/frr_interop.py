#!/usr/bin/env python3
"""Interop with FRR 8.4 bgpd (eBGP, L2VPN EVPN + VPN-IPv4 + IPv4 unicast).

Topology: namespace `us` runs vr-bgpd (AS 65000, 10.1.0.1); namespace `frr` runs
zebra + bgpd (AS 65001, 10.1.0.2) as a VXLAN VTEP for VNI 100 with one local MAC,
plus a static VPN-IPv4 route. Checks, each with FRR's own CLI (vtysh ... json) and
ours (vr-bgpctl):
  * the session establishes;
  * our EVPN type-2/3/5 and VPN-IPv4 routes appear in FRR with the right keys,
    route targets, encapsulation, router MAC and next hop; FRR installs our MAC
    in its VXLAN FDB (which proves the VNI/label and next hop were understood);
  * FRR's type-2/type-3 (with PMSI) and VPN-IPv4 routes appear in ours;
  * IPv4 unicast routes go both ways (classic NLRI field and NEXT_HOP attribute);
  * withdrawals propagate both ways;
  * after a reset from either side the session recovers and routes come back.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Frr, VrBgpd, check, log, main_test, vtep_setup, wait_until  # noqa: E402

US, FRR = "10.1.0.1", "10.1.0.2"

TYPE2 = {"family": "evpn", "type": "macip", "rd": "10.1.0.1:100", "mac": "02:bb:00:00:00:01", "ip": "10.50.0.1",
         "label": 100, "rt": ["65001:100"], "encap": "vxlan", "next-hop": US}
TYPE3 = {"family": "evpn", "type": "multicast", "rd": "10.1.0.1:100", "label": 100, "rt": ["65001:100"],
         "encap": "vxlan", "next-hop": US}
TYPE5 = {"family": "evpn", "type": "prefix", "rd": "10.1.0.1:200", "prefix": "10.60.0.0/24", "label": 5000,
         "rt": ["65001:5000"], "encap": "vxlan", "router-mac": "02:bb:00:00:00:ff", "next-hop": US}
UNI4 = {"family": "ipv4", "prefix": "10.71.0.0/24", "next-hop": US}
VPN4 = {"family": "vpnv4", "rd": "65000:1", "prefix": "10.70.0.0/24", "label": 2001, "rt": ["65001:1"], "next-hop": US}

K2 = ("10.1.0.1:100", "[2]:[0]:[48]:[02:bb:00:00:00:01]:[32]:[10.50.0.1]")
K3 = ("10.1.0.1:100", "[3]:[0]:[32]:[10.1.0.1]")
K5 = ("10.1.0.1:200", "[5]:[0]:[24]:[10.60.0.0]")

FRR_CONF = f"""hostname frr
log stdout
router bgp 65001
 bgp router-id {FRR}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor {US} remote-as 65000
 neighbor {US} timers connect 2
 address-family l2vpn evpn
  neighbor {US} activate
  advertise-all-vni
 exit-address-family
 address-family ipv4 unicast
  neighbor {US} activate
  network 10.98.0.0/24
 exit-address-family
 address-family ipv4 vpn
  neighbor {US} activate
  neighbor {US} route-map SETRT out
  network 10.99.2.0/24 rd 65001:1 label 1002
 exit-address-family
!
route-map SETRT permit 10
 set extcommunity rt 65001:1
!
"""



def frr_established(frr):
    s = frr.vtysh("show bgp summary json")
    peers = [s.get(af, {}).get("peers", {}).get(US, {}) for af in ("l2VpnEvpn", "ipv4Vpn")]
    return all(p.get("state") == "Established" for p in peers)


def fdb_has(lab, ns, mac):
    out = lab.nsrun(ns, ["bridge", "fdb", "show", "dev", "vxlan100"]).stdout
    return any(mac in l and f"dst {US}" in l for l in out.splitlines())


def check_ours_in_frr(lab, ns, frr):
    evpn = wait_until("our EVPN routes in FRR", lambda: (lambda r: r if all(k in r for k in (K2, K3, K5)) else None)(frr.evpn_routes()), 30)
    p2, p3, p5 = evpn[K2], evpn[K3], evpn[K5]
    check(p2["mac"] == "02:bb:00:00:00:01" and p2["ip"] == "10.50.0.1", "FRR: type-2 MAC and IP")
    check(p2["extendedCommunity"]["string"] == "RT:65001:100 ET:8", "FRR: type-2 RT and VXLAN encapsulation")
    check(p2["nexthops"][0]["ip"] == US and p2["path"] == "65000", "FRR: type-2 next hop and AS path")
    check(p2.get("valid") is True, "FRR: type-2 valid")
    check(p3["routeType"] == 3 and p3["ip"] == US, "FRR: type-3 originator")
    check(p5["extendedCommunity"]["string"] == "RT:65001:5000 ET:8 Rmac:02:bb:00:00:00:ff", "FRR: type-5 RT, encap, router MAC")
    check(p5["ipLen"] == 24 and p5["ip"] == "10.60.0.0", "FRR: type-5 prefix")
    wait_until("our MAC in FRR's VXLAN FDB", lambda: fdb_has(lab, ns, "02:bb:00:00:00:01"), 20)
    log("ok: FRR installed our MAC 02:bb:00:00:00:01 -> VTEP 10.1.0.1 in vxlan100 (VNI 100)")
    vpn = wait_until("our VPN-IPv4 route in FRR", lambda: frr.vpn_routes().get(("65000:1", "10.70.0.0/24")), 30)
    check(vpn["nexthops"][0]["ip"] == US and vpn["path"] == "65000", "FRR: VPN-IPv4 RD 65000:1 10.70.0.0/24 next hop")
    detail = frr.vtysh("show bgp ipv4 vpn rd 65000:1 10.70.0.0/24 json")
    label = detail["65000:1"]["paths"][0].get("remoteLabel")
    check(label == 2001, f"FRR: VPN-IPv4 label 2001 (got {label})")
    uni = wait_until("our IPv4 unicast route in FRR",
                     lambda: frr.vtysh("show bgp ipv4 unicast json").get("routes", {}).get("10.71.0.0/24"), 30)[0]
    check(uni["nexthops"][0]["ip"] == US and uni["path"] == "65000", "FRR: IPv4 unicast next hop (NEXT_HOP attribute) and AS path")


def check_theirs_in_ours(me):
    p = wait_until("FRR's type-2 in our RIB", lambda: me.best("evpn", lambda p: p["nlri"].get("mac") == "02:aa:00:00:00:01"), 30)
    check(p["nlri"]["label"] == 100 and p["nlri"]["rd"] == "10.1.0.2:2", "ours: FRR type-2 VNI 100, RD 10.1.0.2:2")
    check(set(p["ext-communities"]) == {"rt:65001:100", "encap:vxlan"}, "ours: FRR type-2 RT 65001:100 + VXLAN")
    check(p["next-hop"] == FRR and p["as-path"] == [65001], "ours: FRR type-2 next hop and AS path")
    p = wait_until("FRR's type-3 in our RIB", lambda: me.best("evpn", lambda p: p["nlri"].get("type") == 3 and p["nlri"]["originator"] == FRR), 30)
    check(p["pmsi"] == {"type": 6, "label": 100, "endpoint": FRR}, "ours: FRR type-3 PMSI ingress replication VNI 100")
    p = wait_until("FRR's VPN-IPv4 route in our RIB", lambda: me.best("vpnv4", lambda p: p["nlri"]["prefix"] == "10.99.2.0/24"), 30)
    check(p["nlri"]["rd"] == "65001:1" and p["nlri"]["label"] == 1002, "ours: FRR VPN-IPv4 RD 65001:1 label 1002")
    check(p["ext-communities"] == ["rt:65001:1"] and p["next-hop"] == FRR, "ours: FRR VPN-IPv4 RT and next hop")
    p = wait_until("FRR's IPv4 unicast route in ours", lambda: me.best("ipv4", lambda p: p["nlri"]["prefix"] == "10.98.0.0/24"), 30)
    check(p["next-hop"] == FRR and p["as-path"] == [65001], "ours: FRR IPv4 unicast next hop and AS path")


def body(lab):
    us = lab.netns("us")
    fns = lab.netns("frr")
    lab.link(us, f"{US}/24", fns, f"{FRR}/24")
    vtep_setup(lab, fns, FRR, "02:aa:00:00:00:01")
    frr = Frr(lab, fns, FRR_CONF)
    me = VrBgpd(lab, us, ["--local-as", "65000", "--router-id", US, "--listen", US,
                          "--peer", f"{FRR},as=65001,families=evpn+vpnv4+ipv4"])
    wait_until("session established (ours)", lambda: me.established(FRR), 60)
    wait_until("session established (FRR)", lambda: frr_established(frr), 30)
    log("ok: session established")
    for r in (TYPE2, TYPE3, TYPE5, VPN4, UNI4):
        me.add(r)
    check_ours_in_frr(lab, fns, frr)
    check_theirs_in_ours(me)

    # Withdrawals, both directions.
    me.delete(TYPE2)
    wait_until("type-2 withdrawn in FRR", lambda: K2 not in frr.evpn_routes(), 30)
    wait_until("MAC removed from FRR's FDB", lambda: not fdb_has(lab, fns, "02:bb:00:00:00:01"), 20)
    log("ok: our type-2 withdrawal reached FRR (route and FDB entry gone)")
    me.delete(VPN4)
    wait_until("VPN-IPv4 withdrawn in FRR", lambda: ("65000:1", "10.70.0.0/24") not in frr.vpn_routes(), 30)
    log("ok: our VPN-IPv4 withdrawal reached FRR")
    lab.nsrun(fns, "bridge fdb del 02:aa:00:00:00:01 dev port0 master static".split())
    wait_until("FRR's type-2 withdrawn in ours",
               lambda: me.best("evpn", lambda p: p["nlri"].get("mac") == "02:aa:00:00:00:01") is None, 30)
    log("ok: FRR's type-2 withdrawal reached us")
    frr.configure("router bgp 65001", "address-family ipv4 vpn", "no network 10.99.2.0/24 rd 65001:1 label 1002")
    wait_until("FRR's VPN route withdrawn in ours",
               lambda: me.best("vpnv4", lambda p: p["nlri"]["prefix"] == "10.99.2.0/24") is None, 30)
    log("ok: FRR's VPN-IPv4 withdrawal reached us")

    # Session reset from our side, then from FRR's: both recover with routes.
    before = me.sessions(FRR)
    me.ctl("neighbor", "reset", FRR)
    wait_until("re-established after our reset",
               lambda: me.sessions(FRR) > before and me.established(FRR), 60)
    wait_until("type-5 back in FRR", lambda: K5 in frr.evpn_routes(), 30)
    wait_until("FRR's type-3 back in ours",
               lambda: me.best("evpn", lambda p: p["nlri"].get("type") == 3 and p["nlri"]["originator"] == FRR), 30)
    log("ok: session recovered after our reset, routes re-exchanged")
    before = me.sessions(FRR)
    frr.vtysh(f"clear bgp {US}", as_json=False)
    wait_until("re-established after FRR's reset",
               lambda: me.sessions(FRR) > before and me.established(FRR), 60)
    wait_until("type-3 back in FRR", lambda: K3 in frr.evpn_routes(), 30)
    log("ok: session recovered after FRR's reset")


if __name__ == "__main__":
    sys.exit(main_test("frr_interop", body))
