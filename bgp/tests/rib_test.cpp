// Best-path selection, ECMP, change detection and the Adj-RIB-Out bitset.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "vrfabric/bgp/rib.h"

using namespace vrfabric::bgp;

namespace {

// Sources: 0 local, 1 and 2 iBGP, 3 eBGP.
std::vector<SourceInfo> sources = {
    {0x01010101, {}, false, true},
    {0x0a000001, *IpAddress::parse("10.0.0.1"), true, false},
    {0x0a000002, *IpAddress::parse("10.0.0.2"), true, false},
    {0x0a000003, *IpAddress::parse("10.0.0.3"), false, false},
};

Path path(uint32_t source, PathAttributes a) {
  return Path{source, {}, std::make_shared<const PathAttributes>(std::move(a)), false};
}

PathAttributes withPath(std::vector<uint32_t> asns) {
  PathAttributes a;
  if (!asns.empty()) a.asPath = {{AsPathSegment::kSequence, asns}};
  return a;
}

// Which of two paths wins: 0 for a, 1 for b.
int winner(const Path& a, const Path& b) {
  bool ecmp;
  return comparePaths(a, sources[a.source], b, sources[b.source], {}, &ecmp) < 0 ? 0 : 1;
}

Rib makeRib() {
  return Rib([](uint32_t s) -> const SourceInfo& { return sources[s]; }, BestPathOptions{});
}

const Nlri kKey = *Prefix::parse("10.1.0.0/24");

}  // namespace

TEST_CASE("higher LOCAL_PREF wins over a shorter AS path") {
  PathAttributes a = withPath({1, 2, 3});
  a.localPref = 200;
  CHECK(winner(path(1, a), path(2, withPath({1}))) == 0);
}

TEST_CASE("locally originated beats received at equal LOCAL_PREF") {
  CHECK(winner(path(1, withPath({})), path(0, withPath({}))) == 1);
}

TEST_CASE("shorter AS path, then lower ORIGIN") {
  CHECK(winner(path(1, withPath({1, 2})), path(2, withPath({3}))) == 1);
  PathAttributes inc = withPath({1});
  inc.origin = Origin::Incomplete;
  CHECK(winner(path(1, inc), path(2, withPath({2}))) == 1);
  // an AS_SET counts as one hop
  PathAttributes set;
  set.asPath = {{AsPathSegment::kSet, {1, 2, 3}}};
  CHECK(set.asPathLength() == 1);
}

TEST_CASE("MED is compared only between paths from the same neighbouring AS") {
  PathAttributes lowMed = withPath({100}), highMed = withPath({100});
  lowMed.med = 10;
  highMed.med = 20;
  CHECK(winner(path(2, highMed), path(1, lowMed)) == 1);
  PathAttributes otherAs = withPath({200});
  otherAs.med = 5;
  // Different neighbour AS: MED ignored, falls through to router id (lower wins: source 1).
  CHECK(winner(path(1, highMed), path(2, otherAs)) == 0);
}

TEST_CASE("eBGP beats iBGP, then lowest router id / ORIGINATOR_ID, then shorter CLUSTER_LIST") {
  CHECK(winner(path(1, withPath({5})), path(3, withPath({5}))) == 1);
  PathAttributes reflected = withPath({5});
  reflected.originatorId = 0x0a0000ff;  // higher than source 2's router id
  CHECK(winner(path(1, reflected), path(2, withPath({5}))) == 1);
  PathAttributes a = withPath({5}), b = withPath({5});
  a.originatorId = b.originatorId = 0x05050505;
  a.clusterList = {1, 2};
  b.clusterList = {1};
  CHECK(winner(path(1, a), path(2, b)) == 1);
}

TEST_CASE("EVPN MAC mobility: the higher sequence number wins first (RFC 7432 15.2)") {
  PathAttributes moved = withPath({1, 2, 3});
  moved.extCommunities = {ExtCommunity::macMobility(2, false)};
  PathAttributes old = withPath({});
  old.localPref = 500;
  CHECK(winner(path(1, old), path(2, moved)) == 1);
}

TEST_CASE("a stale path (graceful restart) loses to a fresh one") {
  Path stale = path(1, withPath({}));
  stale.stale = true;
  CHECK(winner(stale, path(2, withPath({1, 2}))) == 1);
}

TEST_CASE("ECMP set holds paths equal up to the tie-breakers") {
  Rib rib = makeRib();
  CHECK(rib.add(kKey, path(1, withPath({7}))) != nullptr);
  RibEntry* e = rib.add(kKey, path(2, withPath({7})));
  REQUIRE(e != nullptr);
  CHECK(e->multipathCount == 2);
  CHECK(e->paths[0].source == 1);  // lower router id first
  // A worse path joins the candidates but not the ECMP set, so nothing visible changes.
  CHECK(rib.add(kKey, path(3, withPath({7, 8}))) == nullptr);
  CHECK(rib.find(kKey)->paths.size() == 3);
  CHECK(rib.find(kKey)->multipathCount == 2);
}

TEST_CASE("Rib reports changes only when the selection changes") {
  Rib rib = makeRib();
  RibEntry* e = rib.add(kKey, path(1, withPath({7})));
  REQUIRE(e);
  CHECK(rib.add(kKey, path(2, withPath({7, 8, 9}))) == nullptr);  // worse, not selected
  CHECK(rib.remove(kKey, 2) == nullptr);                          // removing it changes nothing
  auto replaced = rib.add(kKey, path(1, withPath({9})));          // replacing the best path
  CHECK(replaced != nullptr);
  RibEntry* gone = rib.remove(kKey, 1);
  REQUIRE(gone);
  CHECK(gone->paths.empty());
  rib.eraseIfUnused(kKey);
  CHECK(rib.find(kKey) == nullptr);
}

TEST_CASE("marking paths stale through modify() is seen as a change") {
  Rib rib = makeRib();
  rib.add(kKey, path(1, withPath({7})));
  rib.add(kKey, path(2, withPath({7, 8})));
  RibEntry* e = rib.find(kKey);
  bool changed = rib.modify(*e, [](RibEntry& x) {
    for (auto& p : x.paths)
      if (p.source == 1) p.stale = true;
  });
  CHECK(changed);
  CHECK(e->paths[0].source == 2);
}

TEST_CASE("PeerBitset handles slots beyond 64") {
  PeerBitset b;
  CHECK(!b.any());
  b.set(3, true);
  b.set(200, true);
  CHECK(b.test(3));
  CHECK(b.test(200));
  CHECK(!b.test(199));
  b.set(3, false);
  CHECK(b.any());
  b.set(200, false);
  CHECK(!b.any());
}

TEST_CASE("route keys drop labels, ESI and gateway; path fields restore them") {
  EvpnMacIp m{*RouteDistinguisher::parse("1:1"), *Esi::parse("00:11:22:33:44:55:66:77:88:99"), 0,
              *MacAddress::parse("02:00:00:00:00:01"), std::nullopt, 100, 5000};
  Nlri key = routeKey(m);
  CHECK(std::get<EvpnMacIp>(key).label == 0);
  CHECK(std::get<EvpnMacIp>(key).esi.isZero());
  CHECK(withPathFields(key, pathFieldsOf(m)) == Nlri(m));
  EvpnMacIp other = m;
  other.label = 200;
  CHECK(routeKey(other) == key);
  CHECK(NlriHash()(routeKey(other)) == NlriHash()(key));
}
