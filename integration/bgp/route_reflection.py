#!/usr/bin/env python3
"""Route reflection through vr-bgpd between FRR and GoBGP (iBGP, RFC 4456).

vr-bgpd (AS 65000, router id 10.3.0.1, cluster id 9.9.9.9) reflects between two
route-reflector clients in AS 65000: FRR (10.3.0.2, a VXLAN VTEP for VNI 100) and
GoBGP (10.4.0.2). Checks with each router's own CLI:
  * GoBGP's EVPN type-2 and VPN-IPv4 routes reach FRR with the next hop unchanged,
    ORIGINATOR_ID = GoBGP's router id and CLUSTER_LIST = [9.9.9.9];
  * FRR's type-3 (VNI 100) and type-2 routes reach GoBGP the same way;
  * a withdrawal at GoBGP removes the route from FRR;
  * FRR's copy does not come back to FRR (no reflection to the originator).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Frr, GoBgp, VrBgpd, check, gobgp_toml, log, main_test, vtep_setup, wait_until  # noqa: E402

RR_A, FRR, RR_B, GO = "10.3.0.1", "10.3.0.2", "10.4.0.1", "10.4.0.2"
CLUSTER = "9.9.9.9"

FRR_CONF = f"""hostname frr
log stdout
router bgp 65000
 bgp router-id {FRR}
 no bgp default ipv4-unicast
 neighbor {RR_A} remote-as 65000
 neighbor {RR_A} timers connect 2
 address-family l2vpn evpn
  neighbor {RR_A} activate
  advertise-all-vni
 exit-address-family
 address-family ipv4 vpn
  neighbor {RR_A} activate
 exit-address-family
!
"""

TOML = gobgp_toml(65000, GO, RR_B, 65000)
FRR_MAC = "02:aa:00:00:00:07"

GO_TYPE2 = "macadv 02:cc:00:00:00:07 10.80.0.7 etag 0 label 100 rd 10.4.0.2:100 rt 65000:100 encap vxlan nexthop 10.4.0.2"
GO_VPN = "10.95.7.0/24 label 3007 rd 65000:7 rt 65000:7 nexthop 10.4.0.2"



def go_attr(path, t):
    return next((a for a in path["attrs"] if a["type"] == t), None)


def frr_evpn_paths(frr, rd, mac):
    """All paths FRR holds for the type-2 route with this RD and MAC (detail view)."""
    d = frr.vtysh(f"show bgp l2vpn evpn route rd {rd} json").get(rd, {})
    for v in d.values():
        if isinstance(v, dict) and v.get("mac") == mac:
            return [p[0] if isinstance(p, list) else p for p in v["paths"]]
    return []


def frr_evpn_detail(frr, rd, mac):
    paths = frr_evpn_paths(frr, rd, mac)
    return paths[0] if paths else None


def body(lab):
    us = lab.netns("rr")
    fns = lab.netns("frr")
    gns = lab.netns("gobgp")
    lab.link(us, f"{RR_A}/24", fns, f"{FRR}/24")
    lab.link(us, f"{RR_B}/24", gns, f"{GO}/24")
    vtep_setup(lab, fns, FRR, FRR_MAC)
    frr = Frr(lab, fns, FRR_CONF)
    go = GoBgp(lab, gns, TOML)
    me = VrBgpd(lab, us, ["--local-as", "65000", "--router-id", RR_A, "--cluster-id", CLUSTER,
                          "--peer", f"{FRR},as=65000,rr-client,local={RR_A},families=evpn+vpnv4",
                          "--peer", f"{GO},as=65000,rr-client,local={RR_B},families=evpn+vpnv4"])
    wait_until("both sessions established", lambda: me.established(FRR) and me.established(GO), 60)
    log("ok: iBGP sessions to FRR and GoBGP established")

    go.cli("global", "rib", "-a", "evpn", "add", *GO_TYPE2.split(), json_out=False)
    go.cli("global", "rib", "-a", "vpnv4", "add", *GO_VPN.split(), json_out=False)
    p = wait_until("GoBGP's type-2 reflected to FRR", lambda: frr_evpn_detail(frr, "10.4.0.2:100", "02:cc:00:00:00:07"), 30)
    check(p.get("originatorId") == GO, f"FRR: ORIGINATOR_ID is GoBGP's router id ({p.get('originatorId')})")
    check(p.get("clusterList", {}).get("list") == [CLUSTER], f"FRR: CLUSTER_LIST is [{CLUSTER}] ({p.get('clusterList')})")
    check(p["nexthops"][0]["ip"] == GO, "FRR: next hop unchanged (GoBGP's VTEP)")
    v = wait_until("GoBGP's VPN route reflected to FRR",
                   lambda: frr.vtysh("show bgp ipv4 vpn rd 65000:7 10.95.7.0/24 json").get("65000:7"), 30)
    vp = v["paths"][0]
    check(vp.get("originatorId") == GO and vp.get("remoteLabel") == 3007, "FRR: reflected VPN-IPv4 originator and label")

    def frr_type3_in_gobgp():
        for key, paths in go.rib("evpn").items():
            if key.startswith("[type:multicast]") and f"[ip:{FRR}]" in key:
                return paths[0]
        return None
    g = wait_until("FRR's type-3 reflected to GoBGP", frr_type3_in_gobgp, 30)
    check(go_attr(g, 9)["value"] == FRR, "GoBGP: ORIGINATOR_ID is FRR's router id")
    check(go_attr(g, 10)["value"] == [CLUSTER], "GoBGP: CLUSTER_LIST")
    check(go_attr(g, 22)["label"] == 100 and go_attr(g, 14)["nexthop"] == FRR, "GoBGP: PMSI VNI 100, next hop unchanged")
    wait_until("FRR's type-2 reflected to GoBGP",
               lambda: any("[mac:02:aa:00:00:00:07]" in k for k in go.rib("evpn")), 30)
    log("ok: FRR's type-2 reflected to GoBGP")
    # FRR must not get its own route back from us.
    mine = frr_evpn_paths(frr, f"{FRR}:2", "02:aa:00:00:00:07")
    check(len(mine) == 1 and mine[0].get("local") is True, "FRR: its own type-2 is not reflected back to it")

    go.cli("global", "rib", "-a", "evpn", "del", *GO_TYPE2.split(), json_out=False)
    wait_until("withdrawal reflected to FRR", lambda: frr_evpn_detail(frr, "10.4.0.2:100", "02:cc:00:00:00:07") is None, 30)
    log("ok: GoBGP's withdrawal reflected to FRR")


if __name__ == "__main__":
    sys.exit(main_test("route_reflection", body))
