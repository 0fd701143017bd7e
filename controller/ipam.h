#pragma once
// IPAM: subnet definitions (defaults, checks) and the address allocator.
//
// Allocation is atomic because every mutation runs in one SQLite transaction under the
// service's write lock, and ip_alloc has PRIMARY KEY(pool, addr): an address can never be
// handed out twice. The in-memory "used" sets only make finding a free address O(1)
// amortised instead of a table scan; they are dropped whenever a transaction rolls back.
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/ipaddr.h"

namespace vrf {

class Store;
using json = nlohmann::json;

struct SubnetPlan {
  std::string uuid;  // allocation pool key
  Cidr cidr;
  IpAddr gateway, dns;
  std::vector<std::pair<u128, u128>> pools;  // inclusive ranges
  bool reserved(u128 a) const;               // network, broadcast, gateway, dns
  bool in_pools(u128 a) const;
};

// Fills defaults (gateway, dns, pools) into an ipam_subnet JSON and checks it; `path`
// names the field in errors. Assigns subnet_uuid if absent.
SubnetPlan normalize_subnet(json& subnet, const std::string& path);
SubnetPlan plan_of(const json& subnet);  // for an already-normalised subnet
// Refuses two subnets of one network that overlap (paths for the error message).
void check_no_overlap(const std::vector<std::pair<SubnetPlan, std::string>>& subnets);

class AddressAllocator {
 public:
  // Next free address of the subnet, or nullopt if it is exhausted.
  std::optional<IpAddr> allocate(Store& st, const SubnetPlan& s, const std::string& owner);
  // Claims a requested address; throws ApiError (409/400) with the reason if impossible.
  void claim(Store& st, const SubnetPlan& s, const IpAddr& a, const std::string& owner);
  void released(const std::string& pool, const IpAddr& a);
  void commit() { touched_.clear(); }
  void rollback();
  uint64_t capacity(const SubnetPlan& s) const;

 private:
  struct PoolState {
    std::set<u128> used;
    u128 hint = 0;
  };
  PoolState& state(Store& st, const SubnetPlan& s);
  std::map<std::string, PoolState> pools_;
  std::set<std::string> touched_;
};

}  // namespace vrf
