#!/usr/bin/env python3
"""Graceful restart (RFC 4724) with FRR 8.4 as the restarting speaker, vr-bgpd as helper.

FRR (AS 65001, a VXLAN VTEP for VNI 100, `bgp graceful-restart`) peers with vr-bgpd
over eBGP. When FRR's bgpd is killed (no NOTIFICATION), vr-bgpd must keep FRR's EVPN
routes, marked stale, instead of withdrawing them; when bgpd comes back and sends its
routes and End-of-RIB, they are fresh again and nothing stale is left. (Sweeping a
route the restarted peer does not re-advertise is covered by bgp_speaker_test, where
the test controls exactly what the peer sends.)
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Frr, VrBgpd, check, log, main_test, vtep_setup, wait_until  # noqa: E402

US, FRR = "10.6.0.1", "10.6.0.2"
MAC = "02:aa:00:00:00:01"

FRR_CONF = f"""hostname frr
log stdout
router bgp 65001
 bgp router-id {FRR}
 bgp graceful-restart
 bgp graceful-restart restart-time 60
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor {US} remote-as 65000
 neighbor {US} timers connect 2
 address-family l2vpn evpn
  neighbor {US} activate
  advertise-all-vni
 exit-address-family
!
"""


def frr_mac(me, mac):
    return me.best("evpn", lambda p: p["nlri"].get("mac") == mac)


def body(lab):
    us, fns = lab.netns("us"), lab.netns("frr")
    lab.link(us, f"{US}/24", fns, f"{FRR}/24")
    vtep_setup(lab, fns, FRR, MAC)
    frr = Frr(lab, fns, FRR_CONF)
    me = VrBgpd(lab, us, ["--local-as", "65000", "--router-id", US, "--listen", US, "--peer", f"{FRR},as=65001,families=evpn"])
    wait_until("session", lambda: me.established(FRR), 60)
    check(me.neighbor(FRR)["graceful-restart"] is True, "FRR advertised the graceful restart capability")
    wait_until("FRR's MAC in ours", lambda: frr_mac(me, MAC), 30)
    count = len(me.rib("evpn"))

    frr.crash_bgpd()
    wait_until("session down", lambda: not me.established(FRR), 30)
    time.sleep(1)
    rib = me.rib("evpn")
    check(len(rib) == count and all(r["paths"][0]["stale"] for r in rib),
          f"all {count} of FRR's routes kept and marked stale while it restarts")
    before = me.sessions(FRR)
    frr.start_bgpd()
    wait_until("session back", lambda: me.sessions(FRR) > before and me.established(FRR), 60)
    wait_until("refreshed routes no longer stale",
               lambda: (lambda rib: len(rib) == count and not any(r["paths"][0]["stale"] for r in rib))(me.rib("evpn")), 60)
    log("ok: after FRR's restart and End-of-RIB its routes are fresh, none left stale")


if __name__ == "__main__":
    sys.exit(main_test("frr_graceful_restart", body))
