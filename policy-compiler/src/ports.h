#pragma once
// Destination-port interval arithmetic: first-match painting of possibly overlapping ranges
// into a disjoint cover of 0..65535, combining several covers, and decomposing an interval
// into the port prefixes an LPM trie can hold.
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "vrfabric/policy/model.h"

namespace vrfabric::policy::detail {

struct Verdict {
  Action action = Action::Deny;
  uint32_t id = 0;  // rule id that decided
  bool operator==(const Verdict&) const = default;
};

struct Segment {
  int lo = 0, hi = 65535;
  Verdict verdict;
};

// Paints ranges in precedence order: a port keeps the verdict of the first range covering it.
class FirstMatchPainter {
 public:
  FirstMatchPainter() { free_[0] = 65535; }
  void paint(const PortRange& r, const Verdict& v);
  bool done() const { return free_.empty(); }
  // Ports no range covered get `fallback`; result sorted and adjacent equal verdicts merged.
  std::vector<Segment> finish(const Verdict& fallback);

 private:
  std::map<int, int> free_;  // lo -> hi of ports not painted yet
  std::vector<Segment> painted_;
};

// Sweeps several covers of 0..65535 at once; `merge` gets each layer's verdict for a stretch
// of ports on which none of them changes. Adjacent equal results are merged.
std::vector<Segment> combine(const std::vector<std::vector<Segment>>& layers,
                             const std::function<Verdict(const std::vector<Verdict>&)>& merge);

// Smallest set of (first port, prefix length) blocks covering lo..hi exactly.
std::vector<std::pair<uint16_t, uint8_t>> port_prefixes(int lo, int hi);

}  // namespace vrfabric::policy::detail
