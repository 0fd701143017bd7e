#pragma once
// The policy layers that apply to a pair of endpoint groups, each as an ordered rule list
// (first match wins) with a fallback verdict. Layers are independent; decide.h ANDs them.
#include <vector>

#include "groups.h"
#include "ports.h"
#include "rule_ids.h"

namespace vrfabric::policy::detail {

struct LayerRule {
  uint8_t protocol = kAnyProtocol;
  std::vector<PortRange> ports;  // empty: all ports
  Verdict verdict;
};

struct Layer {
  std::vector<LayerRule> rules;
  Verdict fallback;
};

class LayerBuilder {
 public:
  // Registers a rule id for every configured rule and implicit default in `ids`.
  LayerBuilder(const Index& ix, const std::vector<Epg>& epgs, RuleIds& ids);
  // Layers in a fixed order: source SG egress, destination SG ingress, network policy (one
  // or two sub-layers), then one per applicable application-policy-set.
  std::vector<Layer> layers(const Epg& src, const Epg& dst) const;
  uint32_t no_policy_id() const { return no_policy_; }
  bool under_policy(const Epg& e) const;  // some layer applies to flows from or to the group

 private:
  struct FwItem {
    const FirewallRule* rule;
    uint32_t id;
    std::vector<LayerRule> services;      // protocol/ports with the rule's verdict
    std::vector<bool> side1, side2;       // by EPG index: matches endpoint_1 / endpoint_2
  };
  struct Aps {
    const ApplicationPolicySet* aps;
    uint32_t default_id;
    std::vector<FwItem> items;            // policy sequence, then rule sequence
    // By source EPG index: the items that can match with that group as the source, in order.
    // Pairs then only look at those instead of every rule of the set.
    std::vector<std::vector<uint32_t>> by_source;
    std::vector<bool> applies;            // by EPG index: bound to the group's application
  };

  void add_sg_layer(const Epg& self, const Epg& remote, SgDirection dir, std::vector<Layer>& out) const;
  void add_network_layers(const Epg& src, const Epg& dst, std::vector<Layer>& out) const;
  void add_network_side(const std::string& network, const Epg& src, const Epg& dst, Verdict fallback,
                        std::vector<Layer>& out) const;
  bool applies(const Aps& a, const Epg& e) const;
  bool matches(const FirewallEndpoint& ep, const Epg& e) const;
  bool same_values(const std::vector<std::string>& types, const Epg& a, const Epg& b) const;
  void index_groups(const std::vector<Epg>& epgs);
  void add_aps(const Aps& a, const Epg& src, const Epg& dst, std::vector<Layer>& out) const;

  const Index& ix_;
  std::map<std::pair<std::string, size_t>, uint32_t> sg_ids_, np_ids_;
  uint32_t sg_egress_default_, sg_ingress_default_, np_cross_default_, np_same_default_, no_policy_;
  std::vector<Aps> aps_;
  // Per EPG index, computed once because pairs ask again and again: every tag name carried
  // (sorted), and tag type -> sorted values (for match_tags).
  std::vector<std::vector<std::string>> tag_names_;
  std::vector<std::map<std::string, std::vector<std::string>>> tag_values_;
  // Network layers depend only on the two networks: computed once per pair of networks.
  mutable std::map<std::pair<std::string, std::string>, std::vector<Layer>> network_layers_;
};

}  // namespace vrfabric::policy::detail
