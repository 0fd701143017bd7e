// The real BPF forwarder, run on crafted frames with BPF_PROG_TEST_RUN: encapsulations
// checked byte for byte against the RFC layouts, decapsulation, ARP/ND answers, routing,
// and malformed input. The test process moves into a fresh network namespace first, so the
// only interface it sees (lo, ifindex 1) is its own.
#include <doctest/doctest.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "datapath.h"
#include "packet_builder.h"

using namespace vrfabric;
using namespace pkt;

namespace {

constexpr uint32_t kIf = 1;  // lo in our private namespace: test_run needs a real ifindex
const pkt::Mac kVmA{0x02, 0, 0, 0, 0, 0x0a}, kVmB{0x02, 0, 0, 0, 0, 0x0b};
const pkt::Mac kRouter{0x00, 0x00, 0x5e, 0x00, 0x01, 0x00};
const pkt::Mac kFabLocal{0x0a, 0, 0, 0, 0, 1}, kFabRemote{0x0a, 0, 0, 0, 0, 2};
constexpr uint32_t kVrf = 7, kOtherVrf = 8, kNhTunnel = 10, kNhLocal = 11, kNhReceive = 2;

struct Result {
  int action;
  Bytes out;
};

Result run(int prog, const Bytes& in) {
  Bytes out(in.size() + 512);
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(in.size());
  ctx.ingress_ifindex = kIf;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()), .data_size_out = static_cast<uint32_t>(out.size()),
              .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1);
  int rc = bpf_prog_test_run_opts(prog, &opts);
  REQUIRE_MESSAGE(rc == 0, "BPF_PROG_TEST_RUN failed: " << rc);
  out.resize(opts.data_size_out);
  return {static_cast<int>(opts.retval), out};
}

template <typename T>
void copy_mac(T* dst, const pkt::Mac& m) {
  std::memcpy(dst, m.data(), 6);
}

uint32_t ip_be(const char* s) {
  uint32_t v;
  auto a = v4(s);
  std::memcpy(&v, a.data(), 4);
  return v;
}

// One forwarder set up as host 192.0.2.1 with a workload A (on lo) in VRF 7.
struct Fixture {
  Datapath dp;
  Fixture() {
    vr_config cfg{};
    copy_mac(cfg.router_mac, kRouter);
    cfg.fabric_ip = ip_be("192.0.2.1");
    dp.set_config(cfg);
    set_workload_vrf(kVrf);
    dp.set_nexthop(kNhReceive, vr_nexthop{.type = VR_NH_RECEIVE});
    vr_nexthop local{.type = VR_NH_IFACE, .ifindex = 42};
    copy_mac(local.dmac, kVmB);
    dp.set_nexthop(kNhLocal, local);
    dp.set_vni(5000, kVrf);
    dp.set_label(1234, kNhLocal);
    dp.set_l2(kVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = kNhLocal});
    dp.set_guard_addr(kIf, Prefix::parse("10.1.1.10/32"));  // A's own addresses
    dp.set_guard_addr(kIf, Prefix::parse("fd00::10/128"));
  }
  void set_workload_vrf(uint32_t vrf) {
    vr_iface ifc{.vrf = vrf, .kind = VR_IFACE_WORKLOAD};
    copy_mac(ifc.mac, kVmA);
    dp.set_iface(kIf, ifc);
  }
  void tunnel(uint32_t id, uint8_t encap, const char* dst) {
    vr_nexthop nh{.type = VR_NH_TUNNEL, .encap = encap, .ifindex = 3, .tun_src = ip_be("192.0.2.1"), .tun_dst = ip_be(dst)};
    copy_mac(nh.dmac, kFabRemote);
    copy_mac(nh.smac, kFabLocal);
    dp.set_nexthop(id, nh);
  }
  void host_route(uint32_t vrf, const char* addr, uint32_t nh, const pkt::Mac& mac, uint32_t label = 0) {
    vr_fwd f{.nh_id = nh, .label = label, .flags = VR_FWD_F_HAS_MAC | VR_FWD_F_HOST};
    copy_mac(f.mac, mac);
    dp.set_route(vrf, Prefix::parse(addr), f);
  }
  uint64_t count(vr_counter c) { return dp.counters()[c]; }
  int wl() { return dp.workload_prog_fd(); }
  int fab() { return dp.fabric_prog_fd(); }
};

Bytes inner_frame() {
  return eth(kVmB, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.1.11", 17, udp(1000, 2000, Bytes(32, 0xab)));
}

// Checks the outer Ethernet + IPv4 header the forwarder prepended; returns the L4 offset.
void check_outer_ip(const Bytes& out, uint8_t proto, size_t inner_len, size_t hlen) {
  CHECK(Bytes(out.begin(), out.begin() + 6) == Bytes(kFabRemote.begin(), kFabRemote.end()));
  CHECK(Bytes(out.begin() + 6, out.begin() + 12) == Bytes(kFabLocal.begin(), kFabLocal.end()));
  CHECK(get16(out, 12) == 0x0800);
  CHECK(out[14] == 0x45);
  CHECK(get16(out, 16) == hlen - 14 + inner_len);  // total length
  CHECK(get16(out, 20) == 0);                      // no fragmentation
  CHECK(out[22] == 64);                            // TTL
  CHECK(out[23] == proto);
  CHECK(fold(sum16(out.data() + 14, 20)) == 0);    // header checksum verifies
  CHECK(get32(out, 26) == ntohl(ip_be("192.0.2.1")));
  CHECK(get32(out, 30) == ntohl(ip_be("192.0.2.2")));
}

// Sends inner_frame() from workload A to B behind a tunnel of that encapsulation and label;
// checks the verdict, the size and the outer IPv4 header. Returns the encapsulated frame.
Bytes encapsulated(Fixture& f, uint8_t encap, uint32_t label, uint8_t proto, size_t hlen) {
  f.tunnel(kNhTunnel, encap, "192.0.2.2");
  f.dp.set_l2(kVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = kNhTunnel, .label = label});
  Bytes in = inner_frame();
  auto r = run(f.wl(), in);
  REQUIRE(r.action == XDP_REDIRECT);
  REQUIRE(r.out.size() == in.size() + hlen);
  check_outer_ip(r.out, proto, in.size(), hlen);
  CHECK(Bytes(r.out.begin() + hlen, r.out.end()) == in);
  return r.out;
}

}  // namespace

TEST_CASE("VXLAN encapsulation is byte-exact (RFC 7348)") {
  Fixture f;
  Bytes out = encapsulated(f, VR_ENCAP_VXLAN, 5000, 17, 50);
  CHECK(get16(out, 34) >= 49152);                         // source port: flow entropy, ephemeral range
  CHECK(get16(out, 36) == 4789);
  CHECK(get16(out, 38) == 8 + 8 + inner_frame().size());  // UDP length
  CHECK(get16(out, 40) == 0);                             // zero checksum allowed over IPv4
  CHECK(get32(out, 42) == 0x08000000);                    // flags: I bit only
  CHECK(get32(out, 46) == 5000u << 8);                    // VNI, reserved byte zero
  CHECK(f.count(VR_CNT_ENCAP_VXLAN) == 1);
}

TEST_CASE("MPLS over UDP encapsulation is byte-exact (RFC 7510)") {
  Fixture f;
  Bytes out = encapsulated(f, VR_ENCAP_MPLSUDP, 99999, 17, 46);
  CHECK(get16(out, 36) == 6635);
  CHECK(get16(out, 38) == 8 + 4 + inner_frame().size());
  CHECK(get32(out, 42) == (99999u << 12 | 1u << 8 | 64));  // label, TC 0, bottom of stack, TTL
}

TEST_CASE("MPLS over GRE encapsulation is byte-exact (RFC 4023, RFC 2784)") {
  Fixture f;
  Bytes out = encapsulated(f, VR_ENCAP_MPLSGRE, 17, 47, 42);
  CHECK(get32(out, 34) == 0x00008847);  // no C/K/S bits, version 0, MPLS unicast
  CHECK(get32(out, 38) == (17u << 12 | 1u << 8 | 64));
}

TEST_CASE("decapsulation hands the exact inner frame to the workload") {
  Fixture f;
  Bytes in = inner_frame();
  auto outer = [&](uint8_t proto, const Bytes& l4) {
    return eth(kFabLocal, kFabRemote, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", proto, l4);
  };
  SUBCASE("VXLAN: VNI selects the VRF, inner MAC the interface") {
    auto r = run(f.fab(), outer(17, udp(50000, 4789, vxlan(5000, in))));
    CHECK(r.action == XDP_REDIRECT);
    CHECK(r.out == in);
    CHECK(f.count(VR_CNT_DECAP_VXLAN) == 1);
  }
  SUBCASE("MPLS over UDP: the label selects the interface") {
    auto r = run(f.fab(), outer(17, udp(50000, 6635, mpls(1234, in))));
    CHECK(r.action == XDP_REDIRECT);
    CHECK(r.out == in);
    CHECK(f.count(VR_CNT_DECAP_MPLSUDP) == 1);
  }
  SUBCASE("MPLS over GRE") {
    auto r = run(f.fab(), outer(47, gre(0x8847, mpls(1234, in))));
    CHECK(r.action == XDP_REDIRECT);
    CHECK(r.out == in);
    CHECK(f.count(VR_CNT_DECAP_MPLSGRE) == 1);
  }
  SUBCASE("underlay traffic that is not ours goes to the host stack") {
    CHECK(run(f.fab(), outer(6, Bytes(40, 0))).action == XDP_PASS);
    CHECK(run(f.fab(), eth(kFabLocal, kFabRemote, 0x0806) + Bytes(28, 0)).action == XDP_PASS);
    auto other = eth(kFabLocal, kFabRemote, 0x0800) + ipv4("192.0.2.2", "192.0.2.9", 17, udp(1, 4789, vxlan(5000, in)));
    CHECK(run(f.fab(), other).action == XDP_PASS);  // not addressed to this host
  }
}

TEST_CASE("malformed and unknown tunnel packets are dropped and counted by reason") {
  Fixture f;
  Bytes in = inner_frame();
  auto outer = [&](uint8_t proto, const Bytes& l4) {
    return eth(kFabLocal, kFabRemote, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", proto, l4);
  };
  struct Case {
    const char* what;
    Bytes frame;
    vr_counter reason;
  } cases[] = {
      {"unknown VNI", outer(17, udp(1, 4789, vxlan(4242, in))), VR_CNT_DROP_UNKNOWN_VNI},
      {"VXLAN without the I flag", outer(17, udp(1, 4789, vxlan(5000, in, 0x00))), VR_CNT_DROP_BAD_VXLAN},
      {"unknown label (UDP)", outer(17, udp(1, 6635, mpls(777, in))), VR_CNT_DROP_UNKNOWN_LABEL},
      {"unknown label (GRE)", outer(47, gre(0x8847, mpls(777, in))), VR_CNT_DROP_UNKNOWN_LABEL},
      {"label stack without bottom", outer(17, udp(1, 6635, mpls(1234, in, false))), VR_CNT_DROP_BAD_MPLS},
      {"GRE with a key", outer(47, gre(0x8847, mpls(1234, in), 0x2000)), VR_CNT_DROP_BAD_GRE},
      {"GRE carrying IPv4", outer(47, gre(0x0800, in)), VR_CNT_DROP_BAD_GRE},
      {"VXLAN cut inside the inner Ethernet header", outer(17, udp(1, 4789, vxlan(5000, Bytes(in.begin(), in.begin() + 8)))),
       VR_CNT_DROP_TRUNCATED},
      {"MPLS cut after the label", outer(17, udp(1, 6635, mpls(1234, {}))), VR_CNT_DROP_TRUNCATED},
  };
  for (auto& c : cases) {
    CAPTURE(c.what);
    uint64_t before = f.count(c.reason);
    CHECK(run(f.fab(), c.frame).action == XDP_DROP);
    CHECK(f.count(c.reason) == before + 1);
  }
}

TEST_CASE("every truncation of a tunnel packet is handled without forwarding garbage") {
  Fixture f;
  Bytes in = inner_frame();
  for (auto frame : {eth(kFabLocal, kFabRemote, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", 17, udp(1, 4789, vxlan(5000, in))),
                     eth(kFabLocal, kFabRemote, 0x0800) + ipv4("192.0.2.2", "192.0.2.1", 47, gre(0x8847, mpls(1234, in)))}) {
    size_t outer_and_inner_eth = frame.size() - in.size() + 14;
    for (size_t len = 14; len < outer_and_inner_eth; ++len) {
      CAPTURE(len);
      int action = run(f.fab(), Bytes(frame.begin(), frame.begin() + static_cast<long>(len))).action;
      CHECK((action == XDP_DROP || action == XDP_PASS));
    }
  }
  CHECK(f.count(VR_CNT_DROP_TRUNCATED) > 0);
}

TEST_CASE("workload input: ethertypes, spoofing, unknown destinations") {
  Fixture f;
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x88b5) + Bytes(46, 1)).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_BAD_ETHERTYPE) == 1);
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x8100) + Bytes(46, 1)).action == XDP_DROP);  // VLAN tags too
  CHECK(f.count(VR_CNT_DROP_BAD_ETHERTYPE) == 2);
  CHECK(run(f.wl(), eth(kVmB, kFabRemote, 0x0800) + Bytes(46, 1)).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_SPOOF) == 1);
  CHECK(run(f.wl(), eth(kFabRemote, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.1.11", 17, udp(1, 2, {}))).action ==
        XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_NO_L2) == 1);
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x0800) + Bytes(46, 1)).action == XDP_DROP);  // not IPv4 inside
  CHECK(f.count(VR_CNT_DROP_BAD_IP) == 1);
  CHECK(run(f.wl(), eth(kRouter, kVmA, 0x0800) + Bytes(10, 0x45)).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_TRUNCATED) == 1);
  CHECK(run(f.wl(), eth(kRouter, kVmA, 0x0800) + ipv4("10.1.1.10", "10.9.9.9", 17, udp(1, 2, {}))).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_NO_ROUTE) == 1);
  CHECK(run(f.wl(), eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kVmA, 0x0800) +
                        ipv4("10.1.1.10", "255.255.255.255", 17, udp(1, 9, {}))).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_FLOOD) == 1);
  CHECK(run(f.wl(), eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kVmA, 0x0800) +
                        ipv4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, Bytes(240, 0)))).action == XDP_PASS);
  CHECK(f.count(VR_CNT_PUNT) == 1);  // DHCP goes to the agent
}

TEST_CASE("ARP requests are answered from the FIB, never flooded") {
  Fixture f;
  f.host_route(kVrf, "10.1.1.11/32", kNhLocal, kVmB);
  f.host_route(kVrf, "10.1.1.1/32", kNhReceive, kRouter);
  for (auto [target, mac] : {std::pair{"10.1.1.11", kVmB}, std::pair{"10.1.1.1", kRouter}}) {
    CAPTURE(target);
    Bytes req = eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kVmA, 0x0806) + arp_request(kVmA, "10.1.1.10", target);
    auto r = run(f.wl(), req);
    REQUIRE(r.action == XDP_TX);
    CHECK(Bytes(r.out.begin(), r.out.begin() + 6) == Bytes(kVmA.begin(), kVmA.end()));
    CHECK(Bytes(r.out.begin() + 6, r.out.begin() + 12) == Bytes(mac.begin(), mac.end()));
    CHECK(get16(r.out, 20) == 2);                                                   // reply
    CHECK(Bytes(r.out.begin() + 22, r.out.begin() + 28) == Bytes(mac.begin(), mac.end()));  // sender MAC
    CHECK(get32(r.out, 28) == ntohl(ip_be(target)));                                // sender IP
    CHECK(Bytes(r.out.begin() + 32, r.out.begin() + 38) == Bytes(kVmA.begin(), kVmA.end()));
    CHECK(get32(r.out, 38) == ntohl(ip_be("10.1.1.10")));
  }
  Bytes unknown = eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kVmA, 0x0806) + arp_request(kVmA, "10.1.1.10", "10.1.1.99");
  CHECK(run(f.wl(), unknown).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_ARP_UNKNOWN) == 1);
  // The same address in another VRF is not visible from this one.
  f.host_route(kOtherVrf, "10.1.1.77/32", kNhLocal, kVmB);
  CHECK(run(f.wl(), eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kVmA, 0x0806) + arp_request(kVmA, "10.1.1.10", "10.1.1.77"))
            .action == XDP_DROP);
}

TEST_CASE("IPv6 neighbour solicitations get a valid advertisement") {
  Fixture f;
  f.host_route(kVrf, "fd00::11/128", kNhLocal, kVmB);
  f.host_route(kVrf, "fd00::1/128", kNhReceive, kRouter);
  // The gateway's link-local address (the source of the agent's router advertisements, so the
  // workloads' IPv6 default route) is answered in every VRF without a route.
  for (auto [target, mac, router] : {std::tuple{"fd00::11", kVmB, false}, std::tuple{"fd00::1", kRouter, true},
                                     std::tuple{"fe80::200:5eff:fe00:100", kRouter, true}}) {
    CAPTURE(target);
    Bytes ns = ipv6_ns("fd00::10", target, kVmA);
    Bytes dmac = {0x33, 0x33, 0xff, ns[37], ns[38], ns[39]};
    auto r = run(f.wl(), eth({0x33, 0x33, 0xff, ns[37], ns[38], ns[39]}, kVmA, 0x86dd) + ns);
    REQUIRE(r.action == XDP_TX);
    REQUIRE(r.out.size() == 14 + 40 + 32);
    Bytes ip6(r.out.begin() + 14, r.out.end());
    CHECK(Bytes(r.out.begin() + 6, r.out.begin() + 12) == Bytes(mac.begin(), mac.end()));
    CHECK(ip6[7] == 255);                       // hop limit
    CHECK(get16(ip6, 4) == 32);                 // payload length
    auto t = v6(target), s = v6("fd00::10");
    CHECK(Bytes(ip6.begin() + 8, ip6.begin() + 24) == Bytes(t.begin(), t.end()));   // from the target
    CHECK(Bytes(ip6.begin() + 24, ip6.begin() + 40) == Bytes(s.begin(), s.end()));  // to the asker
    CHECK(ip6[40] == 136);
    CHECK(((ip6[44] & 0x80) != 0) == router);   // R flag only for the gateway
    CHECK((ip6[44] & 0x60) == 0x60);            // solicited, override
    CHECK(ip6[64] == 2);                        // target link-layer address option
    CHECK(Bytes(ip6.begin() + 66, ip6.begin() + 72) == Bytes(mac.begin(), mac.end()));
    CHECK(icmp6_csum(ip6) == 0);                // checksum verifies
  }
  // Duplicate address detection must stay unanswered.
  Bytes dad = ipv6_ns("::", "fd00::11", kVmA);
  CHECK(run(f.wl(), eth({0x33, 0x33, 0xff, 0, 0, 0x11}, kVmA, 0x86dd) + dad).action == XDP_DROP);
}

TEST_CASE("routing through the distributed gateway rewrites MACs and decrements TTL") {
  Fixture f;
  f.host_route(kVrf, "10.1.2.20/32", kNhLocal, kVmB);
  Bytes in = eth(kRouter, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.2.20", 17, udp(1, 2, Bytes(8, 1)), 64);
  auto r = run(f.wl(), in);
  REQUIRE(r.action == XDP_REDIRECT);
  CHECK(Bytes(r.out.begin(), r.out.begin() + 6) == Bytes(kVmB.begin(), kVmB.end()));
  CHECK(Bytes(r.out.begin() + 6, r.out.begin() + 12) == Bytes(kRouter.begin(), kRouter.end()));
  CHECK(r.out[22] == 63);
  CHECK(fold(sum16(r.out.data() + 14, 20)) == 0);
  CHECK(f.count(VR_CNT_ROUTED) == 1);
  Bytes dying = eth(kRouter, kVmA, 0x0800) + ipv4("10.1.1.10", "10.1.2.20", 17, udp(1, 2, {}), 1);
  CHECK(run(f.wl(), dying).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_TTL) == 1);
}

TEST_CASE("the same MAC in two VRFs leads to each VRF's own destination") {
  Fixture f;
  f.tunnel(20, VR_ENCAP_VXLAN, "192.0.2.2");
  f.tunnel(21, VR_ENCAP_VXLAN, "192.0.2.3");
  f.dp.set_l2(kVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = 20, .label = 100});
  f.dp.set_l2(kOtherVrf, vrfabric::Mac(kVmB), vr_fwd{.nh_id = 21, .label = 200});
  for (auto [vrf, dst, vni] : {std::tuple{kVrf, "192.0.2.2", 100u}, std::tuple{kOtherVrf, "192.0.2.3", 200u}}) {
    f.set_workload_vrf(vrf);
    auto r = run(f.wl(), inner_frame());
    REQUIRE(r.action == XDP_REDIRECT);
    CHECK(get32(r.out, 30) == ntohl(ip_be(dst)));
    CHECK(get32(r.out, 46) == vni << 8);
  }
}

namespace {
// Neighbour advertisement for target from src with a target link-layer address option.
Bytes ipv6_na(const char* src, const char* dst, const char* target, const pkt::Mac& tll, uint8_t flags = 0x20) {
  auto t = v6(target);
  Bytes icmp = {136, 0, 0, 0, flags, 0, 0, 0};
  icmp.insert(icmp.end(), t.begin(), t.end());
  icmp.push_back(2);
  icmp.push_back(1);
  icmp.insert(icmp.end(), tll.begin(), tll.end());
  return ipv6(src, dst, 58, icmp);
}
}  // namespace

TEST_CASE("source guard: a workload sends only from its own addresses and allowed pairs") {
  Fixture f;
  const pkt::Mac bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto v4frame = [&](const pkt::Mac& smac, const char* src) {
    return eth(kVmB, smac, 0x0800) + ipv4(src, "10.1.1.11", 17, udp(1000, 2000, Bytes(18, 0)));
  };
  auto v6frame = [&](const pkt::Mac& smac, const char* src) {
    return eth(kVmB, smac, 0x86dd) + ipv6(src, "fd00::11", 17, udp(1000, 2000, Bytes(18, 0)), 64);
  };
  CHECK(run(f.wl(), v4frame(kVmA, "10.1.1.10")).action == XDP_REDIRECT);
  CHECK(run(f.wl(), v6frame(kVmA, "fd00::10")).action == XDP_REDIRECT);
  CHECK(run(f.wl(), v4frame(kVmA, "10.1.1.11")).action == XDP_DROP);  // B's address
  CHECK(run(f.wl(), v6frame(kVmA, "fd00::11")).action == XDP_DROP);
  CHECK(run(f.wl(), v4frame(kVmA, "0.0.0.0")).action == XDP_DROP);    // unspecified, but not DHCP
  CHECK(f.count(VR_CNT_DROP_SRC_SPOOF) == 3);
  // Link-local from the port's own MAC (modified EUI-64), not from anyone else's.
  CHECK(run(f.wl(), v6frame(kVmA, "fe80::ff:fe00:a")).action == XDP_REDIRECT);
  CHECK(run(f.wl(), v6frame(kVmA, "fe80::ff:fe00:b")).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_SRC_SPOOF) == 4);
  // :: only to multicast (DAD); then the usual multicast handling decides.
  CHECK(run(f.wl(), v6frame(kVmA, "::")).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_SRC_SPOOF) == 5);

  // Allowed address pairs: a prefix with the port's MAC, a host with a MAC of its own.
  f.dp.set_guard_pair(kIf, Prefix::parse("10.1.1.32/28"), vrfabric::Mac{});
  const pkt::Mac kVip{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07};
  f.dp.set_guard_pair(kIf, Prefix::parse("fd00::77/128"), vrfabric::Mac(kVip));
  CHECK(run(f.wl(), v4frame(kVmA, "10.1.1.40")).action == XDP_REDIRECT);
  CHECK(run(f.wl(), v4frame(kVmA, "10.1.1.48")).action == XDP_DROP);  // just outside
  CHECK(f.count(VR_CNT_DROP_SRC_SPOOF) == 6);
  CHECK(run(f.wl(), v6frame(kVip, "fd00::77")).action == XDP_REDIRECT);
  CHECK(run(f.wl(), v6frame(kVmA, "fd00::77")).action == XDP_DROP);   // the pair's MAC, not the port's
  CHECK(run(f.wl(), v6frame(kVip, "fd00::10")).action == XDP_DROP);   // the pair's MAC only with its address
  CHECK(f.count(VR_CNT_DROP_SPOOF) == 2);
  f.dp.del_guard_pair(kIf, Prefix::parse("10.1.1.32/28"));
  CHECK(run(f.wl(), v4frame(kVmA, "10.1.1.40")).action == XDP_DROP);
  CHECK(f.dp.guard_counts().pairs == 1);
  CHECK(f.dp.guard_counts().addrs == 2);

  // ARP claims only the port's own address (or none: a probe).
  f.host_route(kVrf, "10.1.1.11/32", kNhLocal, kVmB);
  CHECK(run(f.wl(), eth(bcast, kVmA, 0x0806) + arp_request(kVmA, "10.1.1.10", "10.1.1.11")).action == XDP_TX);
  CHECK(run(f.wl(), eth(bcast, kVmA, 0x0806) + arp_request(kVmA, "0.0.0.0", "10.1.1.11")).action == XDP_TX);
  CHECK(run(f.wl(), eth(bcast, kVmA, 0x0806) + arp_request(kVmA, "10.1.1.11", "10.1.1.1")).action == XDP_DROP);
  CHECK(run(f.wl(), eth(bcast, kVmA, 0x0806) + arp_request(kVmB, "10.1.1.10", "10.1.1.11")).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_NEIGH_SPOOF) == 2);

  // ND: an NA claims only the port's own targets with its own MAC; an NS carries its MAC.
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + ipv6_na("fd00::10", "fd00::11", "fd00::10", kVmA, 0x60)).action ==
        XDP_REDIRECT);
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + ipv6_na("fd00::10", "fd00::11", "fd00::11", kVmA)).action == XDP_DROP);
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + ipv6_na("fd00::10", "fd00::11", "fd00::10", kVmB)).action == XDP_DROP);
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + ipv6_ns("fd00::10", "fd00::11", kVmB)).action == XDP_DROP);
  Bytes ra = {134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + ipv6("fe80::ff:fe00:a", "fe80::1", 58, ra)).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_NEIGH_SPOOF) == 6);
  // Behind a destination options header it is still neighbour discovery.
  Bytes na = ipv6_na("fd00::10", "fd00::11", "fd00::11", kVmA);
  Bytes dstopts = {58, 0, 1, 4, 0, 0, 0, 0};
  Bytes wrapped = ipv6("fd00::10", "fd00::11", 60, dstopts + Bytes(na.begin() + 40, na.end()));
  CHECK(run(f.wl(), eth(kVmB, kVmA, 0x86dd) + wrapped).action == XDP_DROP);
  CHECK(f.count(VR_CNT_DROP_NEIGH_SPOOF) == 7);
}
