#include "vrfabric/bgp/rib.h"

#include <algorithm>

namespace vrfabric::bgp {

PathFields pathFieldsOf(const Nlri& n) {
  PathFields f;
  if (auto* p = std::get_if<VpnPrefix>(&n)) f.label = p->label;
  else if (auto* a = std::get_if<EvpnEthernetAd>(&n)) f.label = a->label;
  else if (auto* m = std::get_if<EvpnMacIp>(&n)) {
    f.label = m->label;
    f.label2 = m->label2;
    f.esi = m->esi;
  } else if (auto* x = std::get_if<EvpnIpPrefix>(&n)) {
    f.label = x->label;
    f.esi = x->esi;
    f.gateway = x->gateway;
  }
  return f;
}

Nlri withPathFields(const Nlri& key, const PathFields& f) {
  Nlri n = key;
  if (auto* p = std::get_if<VpnPrefix>(&n)) p->label = f.label;
  else if (auto* a = std::get_if<EvpnEthernetAd>(&n)) a->label = f.label;
  else if (auto* m = std::get_if<EvpnMacIp>(&n)) {
    m->label = f.label;
    m->label2 = f.label2;
    m->esi = f.esi;
  } else if (auto* x = std::get_if<EvpnIpPrefix>(&n)) {
    x->label = f.label;
    x->esi = f.esi;
    x->gateway = f.gateway;
  }
  return n;
}

namespace {
template <typename T>
int cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}
}  // namespace

int comparePaths(const Path& a, const SourceInfo& sa, const Path& b, const SourceInfo& sb,
                 const BestPathOptions& opts, bool* ecmp) {
  const PathAttributes& x = *a.attrs;
  const PathAttributes& y = *b.attrs;
  *ecmp = false;
  int c;
  // RFC 7432 15.2: for a MAC, the higher MAC mobility sequence number is the newer location.
  if ((c = cmp(y.macMobilitySequence().value_or(0), x.macMobilitySequence().value_or(0)))) return c;
  // A path kept over a graceful restart loses to any fresh one (RFC 4724 4.2).
  if ((c = cmp(a.stale, b.stale))) return c;
  if ((c = cmp(y.localPref.value_or(100), x.localPref.value_or(100)))) return c;  // higher wins
  if ((c = cmp(sb.local, sa.local))) return c;                                    // local origin wins
  if ((c = cmp(x.asPathLength(), y.asPathLength()))) return c;
  if ((c = cmp(uint8_t(x.origin), uint8_t(y.origin)))) return c;
  if (opts.alwaysCompareMed || x.neighborAs() == y.neighborAs())
    if ((c = cmp(x.med.value_or(0), y.med.value_or(0)))) return c;
  if ((c = cmp(sa.ibgp, sb.ibgp))) return c;  // eBGP (ibgp=false) first
  *ecmp = true;
  // Tie-breakers (RFC 4271 9.1.2.2 f/g, RFC 4456 9): originator id stands in for the
  // router id of reflected paths, then the shorter cluster list, then the peer address.
  if ((c = cmp(x.originatorId.value_or(sa.routerId), y.originatorId.value_or(sb.routerId)))) return c;
  if ((c = cmp(x.clusterList.size(), y.clusterList.size()))) return c;
  return cmp(sa.address, sb.address);
}

bool PeerBitset::test(uint32_t slot) const {
  if (slot < 64) return (low_ >> slot) & 1;
  size_t word = slot / 64 - 1;
  return high_ && word < high_->size() && ((*high_)[word] >> (slot % 64)) & 1;
}

void PeerBitset::set(uint32_t slot, bool on) {
  uint64_t bit = uint64_t(1) << (slot % 64);
  if (slot < 64) {
    low_ = on ? low_ | bit : low_ & ~bit;
    return;
  }
  size_t word = slot / 64 - 1;
  if (!high_) {
    if (!on) return;
    high_ = std::make_unique<std::vector<uint64_t>>();
  }
  if (word >= high_->size()) high_->resize(word + 1);
  (*high_)[word] = on ? (*high_)[word] | bit : (*high_)[word] & ~bit;
}

bool PeerBitset::any() const {
  if (low_) return true;
  if (high_)
    for (auto w : *high_)
      if (w) return true;
  return false;
}

namespace {
// Identity of the selected set, to tell whether a change is visible to anyone.
struct Selection {
  std::vector<std::tuple<uint32_t, const PathAttributes*, PathFields, bool>> items;
  bool operator==(const Selection&) const = default;
};
Selection selectionOf(const RibEntry& e) {
  Selection s;
  for (size_t i = 0; i < e.multipathCount && i < e.paths.size(); ++i)
    s.items.emplace_back(e.paths[i].source, e.paths[i].attrs.get(), e.paths[i].fields, e.paths[i].stale);
  return s;
}
}  // namespace

void Rib::sortPaths(RibEntry& e) {
  std::stable_sort(e.paths.begin(), e.paths.end(), [&](const Path& a, const Path& b) {
    bool ecmp;
    return comparePaths(a, lookup_(a.source), b, lookup_(b.source), opts_, &ecmp) < 0;
  });
  e.multipathCount = e.paths.empty() ? 0 : 1;
  if (!opts_.multipath) return;
  while (e.multipathCount < e.paths.size() && e.multipathCount < 255) {
    bool ecmp;
    const Path& best = e.paths[0];
    const Path& p = e.paths[e.multipathCount];
    comparePaths(best, lookup_(best.source), p, lookup_(p.source), opts_, &ecmp);
    if (!ecmp) break;
    ++e.multipathCount;
  }
}

bool Rib::modify(RibEntry& e, const std::function<void(RibEntry&)>& mutate) {
  // The selection is snapshotted before the change: comparing after would miss it.
  Selection before = selectionOf(e);
  mutate(e);
  sortPaths(e);
  return !(selectionOf(e) == before);
}

RibEntry* Rib::add(const Nlri& key, Path path) {
  RibEntry& e = table_[key];
  bool changed = modify(e, [&](RibEntry& x) {
    auto it = std::find_if(x.paths.begin(), x.paths.end(), [&](const Path& p) { return p.source == path.source; });
    if (it != x.paths.end()) *it = std::move(path);
    else x.paths.push_back(std::move(path));
  });
  return changed ? &e : nullptr;
}

RibEntry* Rib::remove(const Nlri& key, uint32_t source) {
  auto t = table_.find(key);
  if (t == table_.end()) return nullptr;
  RibEntry& e = t->second;
  auto it = std::find_if(e.paths.begin(), e.paths.end(), [&](const Path& p) { return p.source == source; });
  if (it == e.paths.end()) return nullptr;
  return modify(e, [&](RibEntry& x) { x.paths.erase(it); }) ? &e : nullptr;
}

RibEntry* Rib::find(const Nlri& key) {
  auto t = table_.find(key);
  return t == table_.end() ? nullptr : &t->second;
}

void Rib::eraseIfUnused(const Nlri& key) {
  auto t = table_.find(key);
  if (t != table_.end() && t->second.paths.empty() && !t->second.advertised.any() && !t->second.dirty)
    table_.erase(t);
}

}  // namespace vrfabric::bgp
