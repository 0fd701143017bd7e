#include "controller/ipam.h"

#include "controller/errors.h"
#include "controller/store.h"
#include "controller/uuid.h"

namespace vrf {

bool SubnetPlan::reserved(u128 a) const {
  if (a == gateway.value || a == dns.value || a == cidr.first()) return true;
  return !cidr.net.v6 && cidr.len < 31 && a == cidr.last();  // IPv4 broadcast
}

bool SubnetPlan::in_pools(u128 a) const {
  for (auto& [lo, hi] : pools)
    if (a >= lo && a <= hi) return true;
  return false;
}

namespace {
IpAddr addr_field(const json& j, const std::string& key, const std::string& path, const Cidr& c) {
  auto a = parse_ip(j[key].get<std::string>());
  if (!a) throw bad_request("field '" + path + "." + key + "': not an IP address", path + "." + key);
  if (!c.contains(*a))
    throw bad_request("field '" + path + "." + key + "': " + format_ip(*a) + " is outside subnet " + c.str(),
                      path + "." + key);
  return *a;
}

SubnetPlan build(json& s, const std::string& path, bool fill) {
  std::string why;
  auto c = parse_cidr(s["subnet"].get<std::string>(), &why);
  if (!c) throw bad_request("field '" + path + ".subnet': " + why, path + ".subnet");
  if (c->bits() - c->len < 2)
    throw bad_request("field '" + path + ".subnet': " + c->str() + " is too small for a gateway and hosts",
                      path + ".subnet");
  SubnetPlan p;
  p.cidr = *c;
  if (fill) {
    if (!s.contains("subnet_uuid") || s["subnet_uuid"].is_null()) s["subnet_uuid"] = new_uuid();
    if (!s.contains("default_gateway") || s["default_gateway"].is_null())
      s["default_gateway"] = format_ip({c->first() + 1, c->net.v6});
    if (!s.contains("dns_server_address") || s["dns_server_address"].is_null())
      s["dns_server_address"] = s["default_gateway"];
  }
  p.uuid = s["subnet_uuid"];
  p.gateway = addr_field(s, "default_gateway", path, p.cidr);
  p.dns = addr_field(s, "dns_server_address", path, p.cidr);
  if (s.contains("allocation_pools") && !s["allocation_pools"].empty()) {
    auto& pools = s["allocation_pools"];
    for (size_t i = 0; i < pools.size(); ++i) {
      std::string pp = path + ".allocation_pools[" + std::to_string(i) + "]";
      IpAddr lo = addr_field(pools[i], "start", pp, p.cidr), hi = addr_field(pools[i], "end", pp, p.cidr);
      if (lo.value > hi.value) throw bad_request("field '" + pp + "': start is after end", pp);
      p.pools.emplace_back(lo.value, hi.value);
    }
  } else {
    p.pools.emplace_back(p.cidr.first(), p.cidr.last());
  }
  return p;
}
}  // namespace

SubnetPlan normalize_subnet(json& subnet, const std::string& path) { return build(subnet, path, true); }

SubnetPlan plan_of(const json& subnet) {
  json copy = subnet;
  return build(copy, "subnet", false);
}

void check_no_overlap(const std::vector<std::pair<SubnetPlan, std::string>>& subnets) {
  for (size_t i = 0; i < subnets.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (subnets[i].first.cidr.overlaps(subnets[j].first.cidr))
        throw bad_request("field '" + subnets[i].second + "': subnet " + subnets[i].first.cidr.str() +
                              " overlaps " + subnets[j].first.cidr.str() + " (" + subnets[j].second +
                              ") in the same network",
                          subnets[i].second);
}

AddressAllocator::PoolState& AddressAllocator::state(Store& st, const SubnetPlan& s) {
  touched_.insert(s.uuid);
  auto it = pools_.find(s.uuid);
  if (it != pools_.end()) return it->second;
  PoolState& ps = pools_[s.uuid];
  for (auto& a : st.allocated_ips(s.uuid))
    if (auto ip = parse_ip(a)) ps.used.insert(ip->value);
  return ps;
}

std::optional<IpAddr> AddressAllocator::allocate(Store& st, const SubnetPlan& s, const std::string& owner) {
  PoolState& ps = state(st, s);
  // Two sweeps: from the hint to the end of the pools, then from the start (addresses
  // released behind the hint are reused once the tail is full).
  for (int sweep = 0; sweep < 2; ++sweep) {
    for (auto& [lo, hi] : s.pools) {
      u128 a = sweep == 0 ? std::max(lo, ps.hint) : lo;
      for (; a <= hi && a >= lo; ++a) {
        if (s.reserved(a) || ps.used.count(a)) continue;
        IpAddr ip{a, s.cidr.net.v6};
        st.insert_ip(s.uuid, format_ip(ip), owner);
        ps.used.insert(a);
        ps.hint = a + 1;
        return ip;
      }
    }
  }
  return std::nullopt;
}

void AddressAllocator::claim(Store& st, const SubnetPlan& s, const IpAddr& a, const std::string& owner) {
  std::string txt = format_ip(a);
  if (a.value == s.gateway.value) throw conflict(txt + " is the gateway address of subnet " + s.cidr.str());
  if (a.value == s.dns.value) throw conflict(txt + " is the DNS server address of subnet " + s.cidr.str());
  if (s.reserved(a.value)) throw conflict(txt + " is the network or broadcast address of subnet " + s.cidr.str());
  PoolState& ps = state(st, s);
  // The holder is not named: in a shared or external network it may be another tenant's.
  if (ps.used.count(a.value)) throw conflict(txt + " is already allocated");
  st.insert_ip(s.uuid, txt, owner);
  ps.used.insert(a.value);
}

void AddressAllocator::released(const std::string& pool, const IpAddr& a) {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return;
  touched_.insert(pool);
  it->second.used.erase(a.value);
  if (a.value < it->second.hint) it->second.hint = a.value;
}

void AddressAllocator::rollback() {
  for (auto& p : touched_) pools_.erase(p);
  touched_.clear();
}

uint64_t AddressAllocator::capacity(const SubnetPlan& s) const {
  uint64_t n = 0;
  for (auto& [lo, hi] : s.pools) {
    u128 span = hi - lo + 1;
    n += span > u128(UINT64_MAX / 2) ? UINT64_MAX / 2 : uint64_t(span);
    std::set<u128> distinct = {s.cidr.first(), s.gateway.value, s.dns.value, s.cidr.last()};
    for (u128 r : distinct)
      if (r >= lo && r <= hi && s.reserved(r) && n) --n;
  }
  return n;
}

}  // namespace vrf
