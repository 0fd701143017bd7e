// The agent's codecs as pure functions: DHCPv4/DHCPv6 and server answers, router
// advertisements, mirror datagrams.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <random>

#include "dhcp_server.h"
#include "mirror_datagram.h"
#include "packet_builder.h"
#include "ra_codec.h"

using namespace vrfabric;
using namespace vrfabric::dhcp;

namespace {

uint32_t ip(const char* s) {
  uint32_t v;
  inet_pton(AF_INET, s, &v);
  return v;
}

// A DISCOVER as a client puts it on the wire, built byte by byte.
std::vector<uint8_t> discover_bytes() {
  std::vector<uint8_t> b(236, 0);
  b[0] = 1, b[1] = 1, b[2] = 6;
  b[4] = 0xde, b[5] = 0xad, b[6] = 0xbe, b[7] = 0xef;  // xid
  b[10] = 0x80;                                         // broadcast flag
  uint8_t mac[6] = {2, 0, 0, 0, 1, 3};
  std::copy(mac, mac + 6, b.begin() + 28);
  for (uint8_t x : {0x63, 0x82, 0x53, 0x63, 53, 1, 1, 55, 3, 1, 3, 6, 0, 255}) b.push_back(x);
  return b;
}

Lease lease() {
  Lease l;
  l.address = ip("10.1.1.3");
  l.prefix_len = 24;
  l.gateway = ip("10.1.1.1");
  l.dns = {ip("10.1.1.2")};
  l.mtu = 1450;
  return l;
}

}  // namespace

TEST_CASE("a client's DISCOVER decodes and gets an OFFER with the lease") {
  auto b = discover_bytes();
  auto m = decode(b.data(), b.size());
  REQUIRE(m);
  CHECK(m->type == kDiscover);
  CHECK(m->xid == 0xdeadbeef);
  CHECK(m->flags == 0x8000);
  auto r = answer(*m, lease());
  REQUIRE(r);
  CHECK(r->type == kOffer);
  CHECK(r->op == 2);
  CHECK(r->xid == 0xdeadbeef);
  CHECK(r->yiaddr == ip("10.1.1.3"));
  CHECK(r->subnet_mask == ip("255.255.255.0"));
  CHECK(r->router == ip("10.1.1.1"));
  CHECK(r->server_id == ip("10.1.1.1"));
  CHECK(r->dns == std::vector<uint32_t>{ip("10.1.1.2")});
  CHECK(r->mtu == 1450);
  // What we encode decodes to the same thing.
  auto bytes = encode(*r);
  auto back = decode(bytes.data(), bytes.size());
  REQUIRE(back);
  CHECK(back->type == kOffer);
  CHECK(back->yiaddr == r->yiaddr);
  CHECK(back->router == r->router);
  CHECK(back->dns == r->dns);
  CHECK(back->mtu == r->mtu);
  CHECK(back->lease_seconds == 86400u);
}

TEST_CASE("REQUEST: ACK for the leased address, NAK for another, silence for another server") {
  Message req;
  req.type = kRequest;
  req.requested_ip = ip("10.1.1.3");
  req.server_id = ip("10.1.1.1");
  CHECK(answer(req, lease())->type == kAck);
  req.requested_ip = ip("10.1.1.9");
  CHECK(answer(req, lease())->type == kNak);
  req.server_id = ip("10.9.9.9");
  CHECK_FALSE(answer(req, lease()));
  Message renew;  // renewing: no option 50, ciaddr set
  renew.type = kRequest;
  renew.ciaddr = ip("10.1.1.3");
  CHECK(answer(renew, lease())->type == kAck);
  Message release;
  release.type = kRelease;
  CHECK_FALSE(answer(release, lease()));
}

TEST_CASE("malformed messages are rejected with a reason") {
  auto good = discover_bytes();
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* reason;
  };
  auto with = [&](size_t at, uint8_t v) {
    auto b = good;
    b[at] = v;
    return b;
  };
  std::vector<Case> cases = {
      {"short", std::vector<uint8_t>(good.begin(), good.begin() + 100), "shorter than a BOOTP header"},
      {"bad op", with(0, 9), "op is neither request nor reply"},
      {"not ethernet", with(1, 6), "hardware type is not Ethernet"},
      {"no cookie", with(236, 0), "no DHCP magic cookie"},
      {"type length 2", with(241, 2), "option with a wrong length"},
      {"type 42", with(242, 42), "unknown message type"},
      {"unterminated", std::vector<uint8_t>(good.begin(), good.end() - 1), "options not terminated"},
      {"length cut off", std::vector<uint8_t>(good.begin(), good.begin() + 244), "option length missing"},
      {"option past end", std::vector<uint8_t>(good.begin(), good.begin() + 246), "option runs past the end"},
  };
  for (auto& c : cases) {
    CAPTURE(c.what);
    std::string why;
    CHECK_FALSE(decode(c.bytes.data(), c.bytes.size(), &why));
    CHECK(why == c.reason);
  }
}

TEST_CASE("random corruption never crashes the decoder") {
  std::mt19937 rng(7);
  auto good = discover_bytes();
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    auto m = decode(b.data(), b.size());
    if (m) answer(*m, lease());
  }
}

TEST_CASE("the reply frame has valid IPv4 and UDP checksums") {
  Message req;
  req.type = kDiscover;
  req.chaddr = {2, 0, 0, 0, 1, 3};
  auto r = answer(req, lease());
  auto f = dhcp_reply_frame({0, 0, 0x5e, 0, 1, 0}, *r);
  CHECK(pkt::fold(pkt::sum16(f.data() + 14, 20)) == 0);
  size_t ulen = f.size() - 34;
  uint32_t pseudo = pkt::sum16(f.data() + 26, 8) + 17 + static_cast<uint32_t>(ulen);
  CHECK(pkt::fold(pkt::sum16(f.data() + 34, ulen, pseudo)) == 0);
  CHECK(pkt::get16(f, 36) == 68);
  CHECK(std::vector<uint8_t>(f.begin(), f.begin() + 6) == std::vector<uint8_t>{2, 0, 0, 0, 1, 3});  // unicast to the client
}

TEST_CASE("DHCPv6: SOLICIT gets an ADVERTISE with the address; other servers' messages are ignored") {
  dhcp6::Lease lease;
  lease.address = pkt::v6("fd00:10::5");
  lease.server_mac = {0, 0, 0x5e, 0, 1, 0};
  // SOLICIT, transaction 0xabcdef, client-id (DUID-LL), IA_NA (IAID 7, T1/T2 0).
  std::vector<uint8_t> solicit = {1, 0xab, 0xcd, 0xef, 0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 1, 3,
                                  0, 3, 0, 12, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0};
  auto r = dhcp6::answer(solicit.data(), solicit.size(), lease);
  REQUIRE(r);
  CHECK((*r)[0] == dhcp6::kAdvertise);
  CHECK(std::vector<uint8_t>(r->begin() + 1, r->begin() + 4) == std::vector<uint8_t>{0xab, 0xcd, 0xef});
  // The IAADDR option carries the leased address.
  auto addr = std::search(r->begin(), r->end(), lease.address.begin(), lease.address.end());
  CHECK(addr != r->end());
  CHECK(std::search(r->begin(), r->end(), solicit.begin() + 4, solicit.begin() + 18) != r->end());  // client-id echoed
  std::vector<uint8_t> request = solicit;
  request[0] = dhcp6::kRequest;
  // server-id of another server
  for (uint8_t x : {0, 2, 0, 10, 0, 3, 0, 1, 9, 9, 9, 9, 9, 9}) request.push_back(x);
  std::string why;
  CHECK_FALSE(dhcp6::answer(request.data(), request.size(), lease, &why));
  CHECK(why == "meant for another server");
  std::vector<uint8_t> cut(solicit.begin(), solicit.begin() + 24);
  CHECK_FALSE(dhcp6::answer(cut.data(), cut.size(), lease, &why));
  CHECK(why == "option runs past the end");
}

// A router solicitation as a Linux workload sends it: from its link-local address to
// ff02::2, hop limit 255, with its source link-layer address option.
static std::vector<uint8_t> router_solicitation(bool unspecified_source) {
  std::vector<uint8_t> f(14 + 40 + 16, 0);
  const uint8_t head[] = {0x33, 0x33, 0, 0, 0, 2, 2, 0, 0, 0, 1, 3, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 16, 58, 255};
  std::copy(std::begin(head), std::end(head), f.begin());
  if (!unspecified_source) {
    const uint8_t src[] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 1, 3};
    std::copy(std::begin(src), std::end(src), f.begin() + 22);
  }
  f[38] = 0xff, f[39] = 0x02, f[53] = 2;
  f[54] = 133;
  f[62] = 1, f[63] = 1;
  return f;
}

TEST_CASE("router advertisement: answers a solicitation from the gateway's link-local address") {
  auto rs = router_solicitation(false);
  REQUIRE(ra::is_router_solicitation(rs.data(), rs.size()));
  Mac mac;
  std::array<uint8_t, 16> dst;
  ra::reply_destination(rs.data(), mac, dst);
  CHECK(mac == Mac{2, 0, 0, 0, 1, 3});  // back to the workload that asked
  CHECK(dst[0] == 0xfe);
  const Mac gw{0, 0, 0x5e, 0, 1, 0};
  auto f = ra::advertisement(gw, mac, dst);
  REQUIRE(f.size() == 14 + 40 + 24);
  CHECK(std::equal(gw.begin(), gw.end(), f.begin() + 6));
  CHECK(f[20] == 58);
  CHECK(f[21] == 255);  // hop limit: receivers drop ND from anything else
  auto ll = ra::link_local(gw);
  CHECK(ll == std::array<uint8_t, 16>{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0x5e, 0xff, 0xfe, 0, 1, 0});
  CHECK(std::equal(ll.begin(), ll.end(), f.begin() + 22));
  CHECK(f[54] == 134);
  CHECK(f[59] == 0xc0);                     // managed and other-config: addresses over DHCPv6
  CHECK(pkt::get16(f, 60) == ra::kRouterLifetime);
  CHECK(f[70] == 1);                        // source link-layer address option
  CHECK(std::equal(gw.begin(), gw.end(), f.begin() + 72));
  uint32_t pseudo = pkt::sum16(f.data() + 22, 32) + 58 + 24;
  CHECK(pkt::fold(pkt::sum16(f.data() + 54, 24, pseudo)) == 0);  // ICMPv6 checksum
}

TEST_CASE("router solicitation: from ::, answered to all nodes; malformed ones are not solicitations") {
  auto rs = router_solicitation(true);
  Mac mac;
  std::array<uint8_t, 16> dst;
  ra::reply_destination(rs.data(), mac, dst);
  CHECK(mac == Mac{0x33, 0x33, 0, 0, 0, 1});
  CHECK(dst == std::array<uint8_t, 16>{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  auto bad = rs;
  bad[21] = 64;  // crossed a router
  CHECK_FALSE(ra::is_router_solicitation(bad.data(), bad.size()));
  bad = rs;
  bad[55] = 1;  // code must be 0
  CHECK_FALSE(ra::is_router_solicitation(bad.data(), bad.size()));
  CHECK_FALSE(ra::is_router_solicitation(rs.data(), 14 + 40 + 7));  // truncated
  bad = rs;
  bad[54] = 135;  // a neighbour solicitation
  CHECK_FALSE(ra::is_router_solicitation(bad.data(), bad.size()));
}

TEST_CASE("mirror datagrams between agents: round trip, and what is refused") {
  std::vector<uint8_t> frame(14 + 46, 0xab);
  frame[12] = 0x08, frame[13] = 0;
  auto d = encode_mirror_datagram("tap0123456789a", frame.data(), frame.size());
  auto back = decode_mirror_datagram(d.data(), d.size());
  REQUIRE(back);
  CHECK(back->analyzer == "tap0123456789a");
  CHECK(std::vector<uint8_t>(back->frame, back->frame + back->len) == frame);
  CHECK_FALSE(decode_mirror_datagram(d.data(), 20 + 13));  // shorter than an Ethernet header
  auto bad = d;
  bad[0] = 'X';  // not ours
  CHECK_FALSE(decode_mirror_datagram(bad.data(), bad.size()));
  bad = d;
  std::fill(bad.begin() + 4, bad.begin() + 20, 'a');  // no NUL within the name field
  CHECK_FALSE(decode_mirror_datagram(bad.data(), bad.size()));
  bad = d;
  std::fill(bad.begin() + 4, bad.begin() + 20, 0);  // empty name
  CHECK_FALSE(decode_mirror_datagram(bad.data(), bad.size()));
}
