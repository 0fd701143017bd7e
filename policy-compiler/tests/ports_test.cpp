#include <doctest/doctest.h>

#include "ports.h"

using namespace vrfabric::policy;
using namespace vrfabric::policy::detail;

namespace {
// Rebuild the covered ports from prefixes, checking they are disjoint and aligned.
std::vector<bool> covered(const std::vector<std::pair<uint16_t, uint8_t>>& prefixes) {
  std::vector<bool> seen(65536, false);
  for (auto [port, len] : prefixes) {
    int size = 1 << (16 - len);
    REQUIRE(port % size == 0);
    for (int p = port; p < port + size; ++p) {
      REQUIRE_FALSE(seen[p]);
      seen[p] = true;
    }
  }
  return seen;
}
}  // namespace

TEST_CASE("a port range becomes a handful of exact prefixes") {
  auto p = port_prefixes(1521, 1630);
  auto seen = covered(p);
  for (int port = 0; port < 65536; ++port) CHECK(seen[port] == (port >= 1521 && port <= 1630));
  CHECK(p.size() <= 2 * 16);
  CHECK(p.size() == 10);  // 1521/16 1522/15 1524/14 1528/13 1536/10 1600/12 1616/13 1624/14 1628/15 1630/16
  CHECK(port_prefixes(0, 65535) == std::vector<std::pair<uint16_t, uint8_t>>{{0, 0}});
  CHECK(port_prefixes(8080, 8080) == std::vector<std::pair<uint16_t, uint8_t>>{{8080, 16}});
  CHECK(port_prefixes(1024, 65535).size() == 6);  // 1024/6 2048/5 4096/4 8192/3 16384/2 32768/1
}

TEST_CASE("first match wins where ranges overlap, the rest gets the fallback") {
  FirstMatchPainter painter;
  painter.paint({8000, 8100}, {Action::Deny, 1});
  painter.paint({1, 9000}, {Action::Pass, 2});
  painter.paint({8050, 8060}, {Action::Pass, 3});  // shadowed entirely
  auto segs = painter.finish({Action::Deny, 9});
  REQUIRE(segs.size() == 5);
  CHECK(segs[0].lo == 0);   CHECK(segs[0].hi == 0);     CHECK(segs[0].verdict.id == 9);
  CHECK(segs[1].lo == 1);   CHECK(segs[1].hi == 7999);  CHECK(segs[1].verdict.id == 2);
  CHECK(segs[2].lo == 8000); CHECK(segs[2].hi == 8100); CHECK(segs[2].verdict.id == 1);
  CHECK(segs[3].lo == 8101); CHECK(segs[3].hi == 9000); CHECK(segs[3].verdict.id == 2);
  CHECK(segs[4].lo == 9001); CHECK(segs[4].hi == 65535); CHECK(segs[4].verdict.id == 9);
}

TEST_CASE("combining covers sweeps every boundary and merges equal neighbours") {
  std::vector<Segment> a = {{0, 99, {Action::Pass, 1}}, {100, 65535, {Action::Deny, 2}}};
  std::vector<Segment> b = {{0, 49, {Action::Deny, 3}}, {50, 65535, {Action::Pass, 4}}};
  auto both = combine({a, b}, [](const std::vector<Verdict>& v) {
    return v[0].action == Action::Pass && v[1].action == Action::Pass ? Verdict{Action::Pass, 5}
                                                                        : Verdict{Action::Deny, 0};
  });
  REQUIRE(both.size() == 3);
  CHECK(both[0].hi == 49);
  CHECK(both[1].lo == 50); CHECK(both[1].hi == 99); CHECK(both[1].verdict.action == Action::Pass);
  CHECK(both[2].lo == 100); CHECK(both[2].hi == 65535);
}
