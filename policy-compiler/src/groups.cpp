#include "groups.h"

#include <algorithm>
#include <tuple>

#include "netpolicy.h"
#include "tags.h"

namespace vrfabric::policy::detail {
namespace {

// Referenced prefixes by family and length, so the prefixes containing an address are found
// with one masked lookup per length present rather than a scan of every prefix.
class CidrSet {
 public:
  void add(const Prefix& p) { by_len_[{p.addr.family, p.len}].insert(p); }
  std::vector<Prefix> containing(const Address& a, int max_len) const {
    std::vector<Prefix> out;
    for (const auto& [key, set] : by_len_) {
      auto [family, len] = key;
      if (family != a.family || len > max_len) continue;
      Address masked = a;
      int host = family_bits(family) - len;
      if (host >= 128) masked.value = 0;
      else masked.value &= ~((u128(1) << host) - 1);
      if (set.count(Prefix{masked, len})) out.push_back(Prefix{masked, len});
    }
    return out;  // sorted by (family, len): deterministic
  }
  std::vector<Prefix> all() const {
    std::vector<Prefix> out;
    for (const auto& [key, set] : by_len_) out.insert(out.end(), set.begin(), set.end());
    return out;
  }

 private:
  std::map<std::pair<Family, int>, std::set<Prefix>> by_len_;
};

using GroupKey = std::tuple<Family, std::string, TagSet, std::vector<std::string>, std::vector<Prefix>>;

class GroupBuilder {
 public:
  explicit GroupBuilder(const Index& ix) : ix_(ix) {}

  uint32_t group(const GroupKey& key) {
    auto [it, fresh] = ids_.emplace(key, static_cast<uint32_t>(epgs_.size() + 1));
    if (fresh) {
      Epg e;
      e.id = it->second;
      std::tie(e.family, e.network, e.tags, e.security_groups, e.cidrs) = key;
      e.description = describe(e);
      epgs_.push_back(std::move(e));
    }
    return it->second;
  }
  Epg& epg(uint32_t id) { return epgs_[id - 1]; }
  std::vector<Epg> take() { return std::move(epgs_); }

 private:
  std::string describe(const Epg& e) const {
    std::string s = e.network.empty() ? "external" : "net=" + short_name(e.network);
    for (const auto& [type, names] : e.tags)
      for (const auto& n : names) s += " " + type + "=" + ix_.tag(n).value;
    for (const auto& sg : e.security_groups) s += " sg=" + short_name(sg);
    // The most specific CIDR is the telling one (the others contain it).
    if (!e.cidrs.empty() && (e.network.empty() || e.cidrs.size() > 1)) s += " in " + e.cidrs.back().str();
    return s + " (" + family_name(e.family) + ")";
  }

  const Index& ix_;
  std::map<GroupKey, uint32_t> ids_;
  std::vector<Epg> epgs_;
};

CidrSet referenced_cidrs(const Index& ix) {
  CidrSet set;
  set.add(*parse_prefix("0.0.0.0/0"));
  set.add(*parse_prefix("::/0"));
  for (const auto& [key, p] : ix.sg_remote_cidr) set.add(p);
  for (const auto& [name, prefixes] : ix.group_prefixes)
    for (const auto& p : prefixes) set.add(p);
  return set;
}

struct Installed {
  uint32_t epg;
  std::string owner;
};

}  // namespace

Groups build_groups(const Index& ix) {
  Groups out;
  out.connected = connected_networks(ix);
  CidrSet cidrs = referenced_cidrs(ix);
  GroupBuilder builder(ix);
  std::map<std::pair<uint32_t, Prefix>, Installed> installed;

  // Endpoint groups first, in interface name order, so ids (and member lists) are stable
  // whatever the input order.
  for (const auto& [name, itf] : ix.interfaces) {
    TagSet tags = effective_tags(ix, *itf);
    std::vector<std::string> sgs = itf->security_groups;
    std::sort(sgs.begin(), sgs.end());
    sgs.erase(std::unique(sgs.begin(), sgs.end()), sgs.end());
    InterfaceEpg ie{name, itf->network, ix.vrf.at(itf->network), {}};
    for (const auto& addr : ix.addresses.at(name)) {
      uint32_t id = builder.group({addr.family, itf->network, tags, sgs,
                                   cidrs.containing(addr, family_bits(addr.family))});
      builder.epg(id).interfaces.push_back(name);
      ie.addresses.emplace_back(addr, id);
      // Visible in its own VRF and in the VRFs of connected networks.
      for (const auto& net : out.connected.at(itf->network)) {
        uint32_t vrf = ix.vrf.at(net);
        auto [it, fresh] = installed.emplace(std::pair{vrf, host_prefix(addr)}, Installed{id, name});
        if (!fresh)
          throw PolicyError("virtual-machine-interface " + name, "addresses",
                            "address " + to_string(addr) + " is also used by " + it->second.owner +
                                " and both are reachable in the VRF of " + net);
      }
    }
    out.interfaces.push_back(std::move(ie));
  }

  // Allowed address pairs are in their port's group, after every port's own addresses: a
  // pair never displaces an address, and a prefix two ports share (VRRP) goes to the first.
  for (const auto& [name, itf] : ix.interfaces) {
    auto pairs = ix.allowed_pairs.find(name);
    if (pairs == ix.allowed_pairs.end()) continue;
    TagSet tags = effective_tags(ix, *itf);
    std::vector<std::string> sgs = itf->security_groups;
    std::sort(sgs.begin(), sgs.end());
    sgs.erase(std::unique(sgs.begin(), sgs.end()), sgs.end());
    for (const auto& p : pairs->second) {
      uint32_t id = builder.group({p.addr.family, itf->network, tags, sgs, cidrs.containing(p.addr, p.len)});
      auto& members = builder.epg(id).interfaces;
      if (std::find(members.begin(), members.end(), name) == members.end()) members.push_back(name);
      for (const auto& net : out.connected.at(itf->network))
        installed.emplace(std::pair{ix.vrf.at(net), p}, Installed{id, name});
    }
  }

  // External groups: a referenced prefix's addresses are in it and in every referenced prefix
  // containing it, and in no more specific one (those have their own LPM entries).
  for (const auto& p : cidrs.all()) {
    uint32_t id = builder.group({p.addr.family, "", {}, {}, cidrs.containing(p.addr, p.len)});
    for (const auto& [net, vrf] : ix.vrf)
      // An endpoint's host entry already carries the memberships of an equal /32 or /128.
      installed.emplace(std::pair{vrf, p}, Installed{id, "address group"});
  }

  out.epgs = builder.take();
  for (const auto& [key, inst] : installed) out.entries.push_back({key.first, key.second, inst.epg});
  return out;
}

}  // namespace vrfabric::policy::detail
