// RIB structures: candidate paths per route (Adj-RIB-In after import policy, as in
// BIRD the Adj-RIB-In and Loc-RIB share one table), best-path and ECMP selection,
// and the per-route record of which peers it was advertised to (Adj-RIB-Out).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "vrfabric/bgp/message.h"

namespace vrfabric::bgp {

using AttrsPtr = std::shared_ptr<const PathAttributes>;

// The parts of an NLRI that belong to one path rather than to the route key
// (labels; ESI and gateway for EVPN types 2 and 5). See routeKey().
struct PathFields {
  uint32_t label = 0;
  std::optional<uint32_t> label2;
  Esi esi;
  IpAddress gateway;
  auto operator<=>(const PathFields&) const = default;
};
PathFields pathFieldsOf(const Nlri& n);
Nlri withPathFields(const Nlri& key, const PathFields& f);

inline constexpr uint32_t kLocalSource = 0;  // source id of locally originated paths

struct Path {
  uint32_t source = kLocalSource;  // peer slot
  PathFields fields;
  AttrsPtr attrs;
  bool stale = false;  // kept across a graceful restart of the source (RFC 4724 4.2)
};

// What best-path selection needs to know about where a path came from.
struct SourceInfo {
  uint32_t routerId = 0;
  IpAddress address;
  bool ibgp = false;
  bool local = false;
};

struct BestPathOptions {
  bool multipath = true;          // keep equal-cost paths beside the best one
  bool alwaysCompareMed = false;  // else MED is compared only between paths from one AS
};

// Negative when a is preferred, positive when b is. *ecmp tells whether a and b are
// equal up to (excluding) the final tie-breakers, i.e. usable together for multipath.
int comparePaths(const Path& a, const SourceInfo& sa, const Path& b, const SourceInfo& sb,
                 const BestPathOptions& opts, bool* ecmp);

// Which peers (by slot) a route has been advertised to. Slots < 64 need no allocation.
class PeerBitset {
 public:
  bool test(uint32_t slot) const;
  void set(uint32_t slot, bool on);
  bool any() const;

 private:
  uint64_t low_ = 0;
  std::unique_ptr<std::vector<uint64_t>> high_;
};

struct RibEntry {
  std::vector<Path> paths;  // sorted, best first
  uint8_t multipathCount = 0;  // paths[0, multipathCount) form the ECMP set
  bool dirty = false;          // queued for export/notification
  PeerBitset advertised;
  const Path* best() const { return paths.empty() ? nullptr : &paths.front(); }
};

// The Loc-RIB of one family.
class Rib {
 public:
  using SourceLookup = std::function<const SourceInfo&(uint32_t)>;
  using Table = std::unordered_map<Nlri, RibEntry, NlriHash>;

  Rib(SourceLookup lookup, BestPathOptions opts) : lookup_(std::move(lookup)), opts_(opts) {}

  // Adds or replaces the path of path.source for key. Returns the entry when the
  // best path or the ECMP set changed, else nullptr.
  RibEntry* add(const Nlri& key, Path path);
  // Removes the path of source. Returns the entry when selection changed.
  RibEntry* remove(const Nlri& key, uint32_t source);
  RibEntry* find(const Nlri& key);
  // Erases the entry if it has no paths and nothing advertised is left to withdraw.
  void eraseIfUnused(const Nlri& key);
  // Applies mutate to the entry's paths (e.g. marking them stale) and re-runs
  // selection. Returns true when the best path or the ECMP set changed.
  bool modify(RibEntry& e, const std::function<void(RibEntry&)>& mutate);
  Table& table() { return table_; }
  size_t size() const { return table_.size(); }

 private:
  void sortPaths(RibEntry& e);
  SourceLookup lookup_;
  BestPathOptions opts_;
  Table table_;
};

}  // namespace vrfabric::bgp
