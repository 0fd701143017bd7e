#include "ports.h"

#include <algorithm>

namespace vrfabric::policy::detail {

void FirstMatchPainter::paint(const PortRange& r, const Verdict& v) {
  // Start at the free block that may contain r.lo, then walk blocks overlapping r.
  auto it = free_.upper_bound(r.lo);
  if (it != free_.begin()) --it;
  while (it != free_.end() && it->first <= r.hi) {
    int lo = it->first, hi = it->second;
    if (hi < r.lo) { ++it; continue; }
    int cut_lo = std::max(lo, r.lo), cut_hi = std::min(hi, r.hi);
    painted_.push_back({cut_lo, cut_hi, v});
    it = free_.erase(it);
    if (lo < cut_lo) free_[lo] = cut_lo - 1;
    if (hi > cut_hi) it = free_.emplace(cut_hi + 1, hi).first;
  }
}

static std::vector<Segment> merged(std::vector<Segment> segs) {
  std::sort(segs.begin(), segs.end(), [](const Segment& a, const Segment& b) { return a.lo < b.lo; });
  std::vector<Segment> out;
  for (const auto& s : segs) {
    if (!out.empty() && out.back().verdict == s.verdict && out.back().hi + 1 == s.lo)
      out.back().hi = s.hi;
    else
      out.push_back(s);
  }
  return out;
}

std::vector<Segment> FirstMatchPainter::finish(const Verdict& fallback) {
  for (auto [lo, hi] : free_) painted_.push_back({lo, hi, fallback});
  free_.clear();
  return merged(std::move(painted_));
}

std::vector<Segment> combine(const std::vector<std::vector<Segment>>& layers,
                             const std::function<Verdict(const std::vector<Verdict>&)>& merge) {
  std::vector<size_t> pos(layers.size(), 0);
  std::vector<Verdict> current(layers.size());
  std::vector<Segment> out;
  int lo = 0;
  while (lo <= 65535) {
    int hi = 65535;
    for (size_t i = 0; i < layers.size(); ++i) {
      while (layers[i][pos[i]].hi < lo) ++pos[i];
      current[i] = layers[i][pos[i]].verdict;
      hi = std::min(hi, layers[i][pos[i]].hi);
    }
    out.push_back({lo, hi, merge(current)});
    lo = hi + 1;
  }
  return merged(std::move(out));
}

std::vector<std::pair<uint16_t, uint8_t>> port_prefixes(int lo, int hi) {
  std::vector<std::pair<uint16_t, uint8_t>> out;
  while (lo <= hi) {
    // Largest aligned block starting at lo that does not pass hi.
    int size = lo == 0 ? 65536 : (lo & -lo);
    while (lo + size - 1 > hi) size >>= 1;
    int len = 16;
    for (int s = size; s > 1; s >>= 1) --len;
    out.emplace_back(static_cast<uint16_t>(lo), static_cast<uint8_t>(len));
    lo += size;
  }
  return out;
}

}  // namespace vrfabric::policy::detail
