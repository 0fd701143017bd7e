#pragma once
// rule_id -> description: what an operator reads when vrctl shows which rule decided a flow;
// and which rule ids mirror their flows to an analyzer interface.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vrfabric::policy::detail {

class RuleIds {
 public:
  RuleIds() { descriptions_[0] = "default deny (no entry: nothing allows this flow)"; }
  uint32_t add(std::string description) {
    uint32_t id = static_cast<uint32_t>(descriptions_.size());
    descriptions_.emplace(id, std::move(description));
    return id;
  }
  // A pass is decided by every layer that applied; its id names all of their rules.
  // A rule that passed in two layers (one policy attached to both networks) is named once.
  uint32_t combination(std::vector<uint32_t> ids) {
    std::vector<uint32_t> unique;
    for (uint32_t id : ids)
      if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(id);
    ids = std::move(unique);
    if (ids.size() == 1) return ids.front();
    auto [it, fresh] = combos_.emplace(ids, 0);
    if (fresh) {
      std::string d = "pass:";
      for (size_t i = 0; i < ids.size(); ++i) d += (i ? " + " : " ") + descriptions_.at(ids[i]);
      it->second = add(std::move(d));
      // A pass any of whose rules mirrors is mirrored (to the first such rule's analyzer).
      for (uint32_t id : ids)
        if (auto m = mirrors_.find(id); m != mirrors_.end()) {
          mirrors_.emplace(it->second, m->second);
          break;
        }
    }
    return it->second;
  }
  void mirror(uint32_t id, const std::string& analyzer) {
    if (!analyzer.empty()) mirrors_[id] = analyzer;
  }
  std::map<uint32_t, std::string> take_mirrors() { return std::move(mirrors_); }
  const std::string& description(uint32_t id) const { return descriptions_.at(id); }
  std::map<uint32_t, std::string> take() { return std::move(descriptions_); }

 private:
  std::map<uint32_t, std::string> descriptions_;
  std::map<std::vector<uint32_t>, uint32_t> combos_;
  std::map<uint32_t, std::string> mirrors_;  // rule id -> analyzer interface
};

}  // namespace vrfabric::policy::detail
