#pragma once
// Which objects a project's policy may name, in one place for the two moments it matters:
// when a tenant writes a policy object (a name it may not use is a 400 naming the field)
// and when the controller compiles the fabric's policy (what slipped through, e.g. a
// network unshared since, is left out and reported, never compiled across tenants).
//
// Policy objects name other objects by fq_name strings, not by references the service
// checks: network-policy rules name networks and an analyzer port, security-group rules a
// remote group, firewall-rule endpoints a network, an address group or full tag names.
// A project's policy may name its own objects and global ones; networks also when they are
// `is_shared` or `router_external`; an analyzer (`mirror_to`) only in its own project (the
// copies are packets injected into that port). `any` in a network policy means the
// networks its project may name, so two tenants' allow-all policies never connect them.
// Policy objects of no project (written by the global admin) may name anything.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vrf {

using json = nlohmann::json;

// What the rules need to know of a named object.
struct NamedObject {
  std::optional<std::string> project;  // owning project uuid; nullopt = global
  bool shared = false;                 // a network with is_shared or router_external
};
using NameLookup = std::function<std::optional<NamedObject>(const std::string& kind, const std::string& fq)>;

// One name a policy object uses: where (field path), of which kind, and the JSON string.
struct PolicyName {
  std::string field;
  std::string kind;
  json* value;
};

// Visits every name `obj` (of `kind`) uses, in field order. "any" is not visited.
void for_each_policy_name(const std::string& kind, json& obj, const std::function<void(const PolicyName&)>& f);

// Empty when a policy object of `owner` may name `fq` of `kind`; else why not, worded the
// same whether the object exists elsewhere or not (a tenant learns nothing of others).
std::optional<std::string> name_refused(const std::optional<std::string>& owner, const std::string& kind,
                                        const std::string& fq, const NameLookup& lookup,
                                        bool missing_is_refused);

// Write-time check: throws a 400 naming the field. Names of the owner's own project that
// do not exist yet are accepted (`vrctl apply` writes policies before the networks they
// name); the compile leaves them out until they exist.
void check_policy_names(const std::string& kind, json& obj, const std::optional<std::string>& owner,
                        const NameLookup& lookup);

// A problem found in a stored policy object at compile time.
struct PolicyProblem {
  std::optional<std::string> project;  // whose it is to see and fix; nullopt = the global admin's
  std::string uuid, kind, fq_name, field, message;
};

// Compile-time confinement of the objects the compiler reads (kind -> list, as the list
// API returns them): "any" in network policies becomes the owner's nameable networks,
// names the owner may not use (or that do not exist) are taken out, rules left naming
// nothing are dropped (a firewall rule with its references from firewall policies).
std::vector<PolicyProblem> confine_policy_names(std::map<std::string, json>& objects);

// The owning project uuid of a listed object (its parent when that is a project).
std::optional<std::string> owner_of(const json& obj);

}  // namespace vrf
