// Speakers talking over real loopback TCP: route reflection with subscriptions,
// RT constraint, RFC 7606 isolation of a misbehaving peer, graceful restart.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "raw_peer.h"
#include "vrfabric/bgp/speaker.h"

using namespace vrfabric::bgp;
using vrfabric::bgp::test::RawPeer;
using vrfabric::bgp::test::waitFor;

namespace {

uint16_t port() {
  static const uint16_t p = uint16_t(30000 + getpid() % 20000);
  return p;
}

uint32_t id(const char* a) { return IpAddress::parse(a)->v4Value(); }

SpeakerConfig speakerAt(const char* addr, uint32_t as) {
  SpeakerConfig c;
  c.localAs = as;
  c.routerId = id(addr);
  c.listenAddress = IpAddress::parse(addr);
  c.listenPort = port();
  c.connectRetrySeconds = 1;
  return c;
}

PeerConfig peer(const char* addr, uint32_t as, const char* local, std::vector<Family> families, bool passive,
                bool rrClient = false) {
  PeerConfig p;
  p.address = *IpAddress::parse(addr);
  p.port = port();
  p.remoteAs = as;
  p.localAddress = IpAddress::parse(local);
  p.families = std::move(families);
  p.passive = passive;
  p.routeReflectorClient = rrClient;
  return p;
}

ExtCommunity rt(const char* s) { return *ExtCommunity::parseRouteTarget(s); }

EvpnMacIp macRoute(uint8_t n) {
  EvpnMacIp m{*RouteDistinguisher::parse("10.0.0.1:1"), {}, 0, {}, IpAddress::v4(0x0a000000 + n), 100, std::nullopt};
  m.mac.bytes = {2, 0, 0, 0, 0, n};
  return m;
}

PathAttributes attrsWith(std::vector<ExtCommunity> comms, const char* nh = "192.0.2.1") {
  PathAttributes a;
  a.nextHop = *IpAddress::parse(nh);
  a.extCommunities = std::move(comms);
  return a;
}

// Thread-safe record of the routes a subscription currently sees.
struct Collector {
  std::mutex mu;
  std::map<std::string, RouteEvent> routes;
  RouteCallback callback() {
    return [this](const RouteEvent& ev) {
      std::lock_guard<std::mutex> l(mu);
      if (ev.withdrawn()) routes.erase(nlriString(ev.key));
      else routes[nlriString(ev.key)] = ev;
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return routes.size();
  }
  std::optional<RouteEvent> get(const Nlri& n) {
    std::lock_guard<std::mutex> l(mu);
    auto it = routes.find(nlriString(routeKey(n)));
    if (it == routes.end()) return std::nullopt;
    return it->second;
  }
};

bool established(Speaker& s, size_t n) { return s.summary()["established"].get<size_t>() == n; }
size_t evpnRoutes(Speaker& s) { return s.summary()["families"]["evpn"]["routes"].get<size_t>(); }

OpenMessage openFor(uint32_t as, const char* routerId, std::vector<Family> fams,
                    std::optional<GracefulRestartCapability> gr = std::nullopt) {
  OpenMessage o;
  o.myAs = as;
  o.holdTime = 30;
  o.bgpId = id(routerId);
  o.as4 = true;
  o.routeRefresh = true;
  o.families = std::move(fams);
  o.gracefulRestart = gr;
  return o;
}

UpdateMessage announce(const Nlri& n, uint32_t as, const char* nh) {
  UpdateMessage u;
  u.announced = {n};
  u.attrs.asPath = {{AsPathSegment::kSequence, {as}}};
  u.attrs.nextHop = *IpAddress::parse(nh);
  u.attrs.extCommunities = {rt("65000:1")};
  return u;
}

struct Quiet {
  Quiet() { spdlog::set_level(spdlog::level::warn); }
} quiet;

}  // namespace

TEST_CASE("route reflector: a client's routes reach the other client with RFC 4456 attributes") {
  Speaker rr(speakerAt("127.0.0.11", 65000)), a(speakerAt("127.0.0.12", 65000)), b(speakerAt("127.0.0.13", 65000));
  rr.start();
  a.start();
  b.start();
  rr.addPeer(peer("127.0.0.12", 65000, "127.0.0.11", {Family::Evpn}, true, true));
  rr.addPeer(peer("127.0.0.13", 65000, "127.0.0.11", {Family::Evpn}, true, true));
  a.addPeer(peer("127.0.0.11", 65000, "127.0.0.12", {Family::Evpn}, false));
  b.addPeer(peer("127.0.0.11", 65000, "127.0.0.13", {Family::Evpn}, false));
  Collector vrf1, all;
  b.subscribe(Family::Evpn, rt("65000:1"), vrf1.callback());
  b.subscribe(Family::Evpn, std::nullopt, all.callback());
  REQUIRE(waitFor([&] { return established(rr, 2); }));

  a.originate(macRoute(1), attrsWith({rt("65000:1"), ExtCommunity::encapsulation(TunnelType::Vxlan)}));
  a.originate(macRoute(2), attrsWith({rt("65000:2")}));
  REQUIRE(waitFor([&] { return all.size() == 2 && vrf1.size() == 1; }));
  auto ev = vrf1.get(macRoute(1));
  REQUIRE(ev);
  const auto& attrs = *ev->paths.at(0).attrs;
  CHECK(attrs.originatorId == id("127.0.0.12"));
  CHECK(attrs.clusterList == std::vector<uint32_t>{id("127.0.0.11")});
  CHECK(attrs.nextHop == *IpAddress::parse("192.0.2.1"));  // unchanged through the reflector
  CHECK(std::get<EvpnMacIp>(ev->paths[0].nlri).label == 100);

  a.withdraw(macRoute(1));
  CHECK(waitFor([&] { return vrf1.size() == 0 && all.size() == 1; }));
  // Re-tagging a route out of the VRF is a withdrawal for that VRF's subscriber.
  a.originate(macRoute(2), attrsWith({rt("65000:1")}));
  CHECK(waitFor([&] { return vrf1.size() == 1; }));
  a.originate(macRoute(2), attrsWith({rt("65000:3")}));
  CHECK(waitFor([&] { return vrf1.size() == 0 && all.size() == 1; }));
}

TEST_CASE("RT constraint: a peer receives only the VPN routes whose targets it imports (RFC 4684)") {
  std::vector<Family> fams = {Family::Evpn, Family::RtConstraint};
  Speaker rr(speakerAt("127.0.0.41", 65000)), a(speakerAt("127.0.0.42", 65000)), b(speakerAt("127.0.0.43", 65000)),
      c(speakerAt("127.0.0.44", 65000));
  for (auto* s : {&rr, &a, &b, &c}) s->start();
  rr.addPeer(peer("127.0.0.42", 65000, "127.0.0.41", fams, true, true));
  rr.addPeer(peer("127.0.0.43", 65000, "127.0.0.41", fams, true, true));
  rr.addPeer(peer("127.0.0.44", 65000, "127.0.0.41", {Family::Evpn}, true, true));  // no RTC: gets all
  a.addPeer(peer("127.0.0.41", 65000, "127.0.0.42", fams, false));
  b.addPeer(peer("127.0.0.41", 65000, "127.0.0.43", fams, false));
  c.addPeer(peer("127.0.0.41", 65000, "127.0.0.44", {Family::Evpn}, false));
  b.setImportTargets({rt("65000:1")});
  REQUIRE(waitFor([&] { return established(rr, 3); }));
  a.originate(macRoute(1), attrsWith({rt("65000:1")}));
  a.originate(macRoute(2), attrsWith({rt("65000:2")}));
  REQUIRE(waitFor([&] { return evpnRoutes(c) == 2; }));
  REQUIRE(waitFor([&] { return evpnRoutes(b) == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(evpnRoutes(b) == 1);  // still only the imported one
  b.setImportTargets({rt("65000:1"), rt("65000:2")});
  CHECK(waitFor([&] { return evpnRoutes(b) == 2; }));
  b.setImportTargets({rt("65000:2")});
  CHECK(waitFor([&] { return evpnRoutes(b) == 1; }));
}

TEST_CASE("RFC 7606: a malformed UPDATE resets only its own session; treat-as-withdraw keeps it up") {
  Speaker s(speakerAt("127.0.0.21", 65000));
  s.start();
  s.addPeer(peer("127.0.0.22", 65001, "127.0.0.21", {Family::Evpn}, true));
  s.addPeer(peer("127.0.0.23", 65002, "127.0.0.21", {Family::Evpn}, true));
  RawPeer good("127.0.0.23", "127.0.0.21", port());
  good.establish(openFor(65002, "127.0.0.23", {Family::Evpn}));
  good.sendUpdate(announce(macRoute(7), 65002, "127.0.0.23"));
  REQUIRE(waitFor([&] { return evpnRoutes(s) == 1; }));

  {
    RawPeer bad("127.0.0.22", "127.0.0.21", port());
    bad.establish(openFor(65001, "127.0.0.22", {Family::Evpn}));
    REQUIRE(waitFor([&] { return established(s, 2); }));
    // MP_REACH whose EVPN route claims 37 bytes but carries 3: session reset with 3/9.
    std::vector<uint8_t> msg(16, 0xff);
    std::vector<uint8_t> body = {0x00, 0x00, 0x00, 0x16, 0x90, 0x0e, 0x00, 0x0e, 0x00, 0x19, 0x46, 0x04, 127, 0, 0, 22,
                                 0x00, 0x02, 0x25, 0x00, 0x00, 0x00, 0x40, 0x01, 0x01, 0x00};
    msg.push_back(0);
    msg.push_back(uint8_t(19 + body.size()));
    msg.push_back(2);
    msg.insert(msg.end(), body.begin(), body.end());
    bad.send(msg);
    auto n = bad.readUntil<NotificationMessage>();
    REQUIRE(n);
    CHECK(n->code == err::kUpdate);
    CHECK(n->subcode == err::kOptionalAttr);
  }
  CHECK(waitFor([&] { return established(s, 1); }));
  CHECK(evpnRoutes(s) == 1);  // the good peer's route is untouched

  // Now the good peer re-sends its route with ORIGIN = 5: treat-as-withdraw.
  UpdateMessage u = announce(macRoute(7), 65002, "127.0.0.23");
  std::vector<uint8_t> bytes;
  REQUIRE(encodeUpdate(u, CodecContext{}, bytes));
  const uint8_t origin[] = {0x40, 0x01, 0x01, 0x00};
  auto it = std::search(bytes.begin(), bytes.end(), std::begin(origin), std::end(origin));
  REQUIRE(it != bytes.end());
  it[3] = 5;
  good.send(bytes);
  CHECK(waitFor([&] { return evpnRoutes(s) == 0; }));
  CHECK(established(s, 1));
  auto nb = s.neighbors();
  bool counted = false;
  for (auto& n : nb)
    if (n["address"] == "127.0.0.23") counted = n["stats"]["treat-as-withdraw"].get<int>() == 1;
  CHECK(counted);
}

TEST_CASE("graceful restart helper: routes kept stale across a restart, swept after End-of-RIB (RFC 4724)") {
  Speaker s(speakerAt("127.0.0.51", 65000));
  s.start();
  s.addPeer(peer("127.0.0.52", 65001, "127.0.0.51", {Family::Evpn}, true));
  GracefulRestartCapability gr{false, 30, {{Family::Evpn, true}}};
  {
    RawPeer p("127.0.0.52", "127.0.0.51", port());
    p.establish(openFor(65001, "127.0.0.52", {Family::Evpn}, gr));
    p.sendUpdate(announce(macRoute(1), 65001, "127.0.0.52"));
    p.sendUpdate(announce(macRoute(2), 65001, "127.0.0.52"));
    REQUIRE(waitFor([&] { return evpnRoutes(s) == 2; }));
  }  // TCP closed without a NOTIFICATION: the peer "restarts"
  REQUIRE(waitFor([&] { return established(s, 0); }));
  CHECK(evpnRoutes(s) == 2);
  auto rib = s.rib(Family::Evpn);
  CHECK(rib["routes"][0]["paths"][0]["stale"] == true);

  RawPeer again("127.0.0.52", "127.0.0.51", port());
  gr.restartState = true;
  again.establish(openFor(65001, "127.0.0.52", {Family::Evpn}, gr));
  again.sendUpdate(announce(macRoute(1), 65001, "127.0.0.52"));
  std::vector<uint8_t> eor;
  encodeEndOfRib(Family::Evpn, eor);
  again.send(eor);
  CHECK(waitFor([&] { return evpnRoutes(s) == 1; }));
  CHECK(s.rib(Family::Evpn)["routes"][0]["paths"][0]["stale"] == false);
}

TEST_CASE("graceful restart helper: the restart timer removes routes of a peer that never returns") {
  Speaker s(speakerAt("127.0.0.61", 65000));
  s.start();
  s.addPeer(peer("127.0.0.62", 65001, "127.0.0.61", {Family::Evpn}, true));
  {
    RawPeer p("127.0.0.62", "127.0.0.61", port());
    p.establish(openFor(65001, "127.0.0.62", {Family::Evpn}, GracefulRestartCapability{false, 1, {{Family::Evpn, true}}}));
    p.sendUpdate(announce(macRoute(1), 65001, "127.0.0.62"));
    REQUIRE(waitFor([&] { return evpnRoutes(s) == 1; }));
  }
  REQUIRE(waitFor([&] { return established(s, 0); }));
  CHECK(evpnRoutes(s) == 1);
  CHECK(waitFor([&] { return evpnRoutes(s) == 0; }, std::chrono::seconds(5)));
}

TEST_CASE("without graceful restart a dropped session removes the peer's routes at once") {
  Speaker s(speakerAt("127.0.0.71", 65000));
  s.start();
  s.addPeer(peer("127.0.0.72", 65001, "127.0.0.71", {Family::Evpn}, true));
  {
    RawPeer p("127.0.0.72", "127.0.0.71", port());
    p.establish(openFor(65001, "127.0.0.72", {Family::Evpn}));
    p.sendUpdate(announce(macRoute(1), 65001, "127.0.0.72"));
    REQUIRE(waitFor([&] { return evpnRoutes(s) == 1; }));
  }
  CHECK(waitFor([&] { return evpnRoutes(s) == 0; }));
}

TEST_CASE("an OPEN from the wrong AS is refused with Bad Peer AS") {
  Speaker s(speakerAt("127.0.0.81", 65000));
  s.start();
  s.addPeer(peer("127.0.0.82", 65001, "127.0.0.81", {Family::Evpn}, true));
  RawPeer p("127.0.0.82", "127.0.0.81", port());
  std::vector<uint8_t> out;
  encodeOpen(openFor(65099, "127.0.0.82", {Family::Evpn}), out);
  p.send(out);
  auto n = p.readUntil<NotificationMessage>();
  REQUIRE(n);
  CHECK(n->code == err::kOpen);
  CHECK(n->subcode == err::kBadPeerAs);
}

TEST_CASE("connection collision: the connection opened by the higher BGP identifier survives (RFC 4271 6.8)") {
  test::Listener listener("127.0.0.92", port());
  Speaker s(speakerAt("127.0.0.91", 65000));
  s.start();
  s.addPeer(peer("127.0.0.92", 65001, "127.0.0.91", {Family::Evpn}, false));
  RawPeer theirs(listener.accept());  // the speaker's outgoing connection
  RawPeer ours("127.0.0.92", "127.0.0.91", port());  // and ours towards it: a collision
  // Our identifier 127.0.0.92 is higher than the speaker's 127.0.0.91, so the
  // connection we opened must survive and the speaker's must get Cease/7.
  std::vector<uint8_t> open;
  encodeOpen(openFor(65001, "127.0.0.92", {Family::Evpn}), open);
  theirs.send(open);
  REQUIRE(theirs.readUntil<OpenMessage>());
  ours.send(open);
  std::vector<uint8_t> ka;
  encodeKeepalive(ka);
  ours.send(ka);
  auto cease = theirs.readUntil<NotificationMessage>();
  REQUIRE(cease);
  CHECK(cease->code == err::kCease);
  CHECK(cease->subcode == err::kConnectionCollision);
  CHECK(ours.readUntil<KeepaliveMessage>());
  CHECK(waitFor([&] { return established(s, 1); }));
}

TEST_CASE("ROUTE-REFRESH from a peer makes the speaker re-send its Adj-RIB-Out (RFC 2918)") {
  Speaker s(speakerAt("127.0.0.101", 65000));
  s.start();
  s.addPeer(peer("127.0.0.102", 65001, "127.0.0.101", {Family::Evpn}, true));
  s.originate(macRoute(1), attrsWith({rt("65000:1")}));
  RawPeer p("127.0.0.102", "127.0.0.101", port());
  p.establish(openFor(65001, "127.0.0.102", {Family::Evpn}));
  auto first = p.readUntil<UpdateMessage>();
  REQUIRE(first);
  CHECK(first->announced.size() == 1);
  std::vector<uint8_t> rr;
  encodeRouteRefresh({Family::Evpn, 0}, rr);
  p.send(rr);
  std::optional<UpdateMessage> again;
  while ((again = p.readUntil<UpdateMessage>()) && again->announced.empty()) {
  }  // skip the End-of-RIB
  REQUIRE(again);
  CHECK(again->announced == first->announced);
  // eBGP export: our AS prepended, next hop kept (EVPN), LOCAL_PREF not sent.
  CHECK(again->attrs.asPath.at(0).asns == std::vector<uint32_t>{65000});
  CHECK(again->attrs.nextHop == *IpAddress::parse("192.0.2.1"));
  CHECK(!again->attrs.localPref);
}

TEST_CASE("import and export policy hooks filter and edit routes per peer") {
  Speaker s(speakerAt("127.0.0.111", 65000));
  s.start();
  PeerConfig in = peer("127.0.0.112", 65001, "127.0.0.111", {Family::Evpn}, true);
  in.importPolicy = policy::allOf({policy::matchRouteTargets({rt("65000:1")}), policy::setLocalPref(250)});
  s.addPeer(in);
  PeerConfig out = peer("127.0.0.113", 65002, "127.0.0.111", {Family::Evpn}, true);
  out.exportPolicy = policy::addExtCommunities({rt("65000:77")});
  s.addPeer(out);
  RawPeer src("127.0.0.112", "127.0.0.111", port());
  src.establish(openFor(65001, "127.0.0.112", {Family::Evpn}));
  RawPeer dst("127.0.0.113", "127.0.0.111", port());
  dst.establish(openFor(65002, "127.0.0.113", {Family::Evpn}));
  UpdateMessage wanted = announce(macRoute(1), 65001, "127.0.0.112");  // carries 65000:1
  UpdateMessage unwanted = announce(macRoute(2), 65001, "127.0.0.112");
  unwanted.attrs.extCommunities = {rt("65000:2")};
  src.sendUpdate(wanted);
  src.sendUpdate(unwanted);
  REQUIRE(waitFor([&] { return evpnRoutes(s) == 1; }));
  auto rib = s.rib(Family::Evpn);
  CHECK(rib["routes"][0]["paths"][0]["local-pref"] == 250);
  std::optional<UpdateMessage> u;
  while ((u = dst.readUntil<UpdateMessage>()) && u->announced.empty()) {
  }
  REQUIRE(u);
  CHECK(u->announced.size() == 1);
  CHECK(u->attrs.extCommunities == std::vector<ExtCommunity>{rt("65000:1"), rt("65000:77")});
}

TEST_CASE("IPv6 transport: a session over ::1 carries VPN-IPv6 and IPv6 unicast routes") {
  auto at = [](uint16_t p, uint32_t as, const char* rid) {
    SpeakerConfig c;
    c.localAs = as;
    c.routerId = id(rid);
    c.listenAddress = IpAddress::parse("::1");
    c.listenPort = p;
    c.connectRetrySeconds = 1;
    return c;
  };
  uint16_t pa = uint16_t(port() + 1), pb = uint16_t(port() + 2);
  Speaker a(at(pa, 65000, "1.0.0.1")), b(at(pb, 65001, "1.0.0.2"));
  a.start();
  b.start();
  PeerConfig toB;
  toB.address = *IpAddress::parse("::1");
  toB.port = pb;
  toB.remoteAs = 65001;
  toB.families = {Family::Vpnv6, Family::Ipv6Unicast};
  a.addPeer(toB);
  PeerConfig toA = toB;
  toA.port = pa;
  toA.remoteAs = 65000;
  toA.passive = true;
  b.addPeer(toA);
  REQUIRE(waitFor([&] { return established(a, 1) && established(b, 1); }));
  a.originate(VpnPrefix{*RouteDistinguisher::parse("65000:6"), *Prefix::parse("2001:db8:6::/48"), mplsLabelField(600)},
              attrsWith({rt("65000:6")}, "2001:db8::1"));
  a.originate(*Prefix::parse("2001:db8:7::/48"), attrsWith({}, "2001:db8::1"));
  REQUIRE(waitFor([&] {
    auto s = b.summary()["families"];
    return s["vpnv6"]["routes"] == 1 && s["ipv6"]["routes"] == 1;
  }));
  auto v6 = b.rib(Family::Ipv6Unicast)["routes"][0]["paths"][0];
  CHECK(v6["next-hop"] == "::1");  // eBGP unicast: next hop self (the session address)
  auto vpn = b.rib(Family::Vpnv6)["routes"][0]["paths"][0];
  CHECK(vpn["next-hop"] == "2001:db8::1");  // VPN: the PE's next hop is kept
  CHECK(vpn["nlri"]["label"] == 600);
}
