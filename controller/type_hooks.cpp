// Behaviour of individual object types beyond what the schema expresses: subnets and
// identifiers of virtual networks, address allocation for instance and floating IPs,
// MAC generation and one-request IP allocation for ports, tag naming and tag ids.
#include <map>

#include "controller/errors.h"
#include "controller/policy_names.h"
#include "controller/service.h"
#include "controller/uuid.h"

namespace vrf {

using schema::Schema;
using schema::SchemaError;

namespace {

// Fields that may be set at creation only.
void check_immutable(HookContext& c, std::initializer_list<const char*> fields) {
  if (!c.old) return;
  for (auto* f : fields)
    if (c.obj.value(f, json()) != c.old->body.value(f, json()))
      throw bad_request(std::string("field '") + f + "' cannot be changed after creation", f);
}

std::string fq_of(Store& st, const std::string& uuid) {
  auto row = st.get(uuid);
  return row ? row->type + " " + row->fq : uuid;
}

// ---------------- virtual-network ----------------

// Every subnet of the network, in declaration order, with the path naming it in errors.
template <typename F>
void for_each_subnet(json& vn, F&& f) {
  if (!vn.contains("network_ipam_refs")) return;
  auto& refs = vn["network_ipam_refs"];
  for (size_t i = 0; i < refs.size(); ++i) {
    if (!refs[i].contains("attr") || !refs[i]["attr"].contains("ipam_subnets")) continue;
    auto& subnets = refs[i]["attr"]["ipam_subnets"];
    for (size_t j = 0; j < subnets.size(); ++j)
      f(subnets[j], "network_ipam_refs[" + std::to_string(i) + "].attr.ipam_subnets[" + std::to_string(j) + "]");
  }
}

std::vector<SubnetPlan> subnets_of(const json& vn) {
  std::vector<SubnetPlan> out;
  json copy = vn;
  for_each_subnet(copy, [&](json& s, const std::string&) { out.push_back(plan_of(s)); });
  return out;
}

void vn_subnets(HookContext& c) {
  // Subnets keep their identity (and their allocations) across updates when their
  // prefix is unchanged; a client-supplied subnet_uuid is not trusted otherwise.
  std::map<std::string, std::string> old_by_prefix;
  if (c.old) {
    json old = c.old->body;
    for_each_subnet(old, [&](json& s, const std::string&) { old_by_prefix[s["subnet"]] = s["subnet_uuid"]; });
  }
  std::vector<std::pair<SubnetPlan, std::string>> plans;
  for_each_subnet(c.obj, [&](json& s, const std::string& path) {
    auto it = old_by_prefix.find(s["subnet"].get<std::string>());
    if (it != old_by_prefix.end()) s["subnet_uuid"] = it->second;
    else s.erase("subnet_uuid");
    plans.emplace_back(normalize_subnet(s, path), path);
  });
  check_no_overlap(plans);
  for (auto& [prefix, uuid] : old_by_prefix) {
    bool kept = false;
    for (auto& p : plans) kept |= p.first.uuid == uuid;
    int64_t used = kept ? 0 : c.svc.store().count_ips(uuid);
    if (used)
      throw conflict("subnet " + prefix + " cannot be removed: " + std::to_string(used) + " addresses are allocated from it",
                     "network_ipam_refs");
  }
}

void vn_identifiers(HookContext& c) {
  Store& st = c.svc.store();
  json old_vni = c.old ? c.old->body.value("vni", json()) : json();
  if (!c.obj.contains("vni") || c.obj["vni"].is_null()) {
    if (!old_vni.is_null()) c.obj["vni"] = old_vni;  // a VNI is never removed, only changed
    else if (auto v = st.alloc_id("vni", 1, 16777215, c.uuid)) c.obj["vni"] = *v;
    else throw conflict("no free VNI left");
  } else if (c.obj["vni"] != old_vni) {
    if (!c.who.global_admin())
      throw forbidden_field("vni", "VNIs are allocated by the controller; only the global admin may choose one");
    int64_t v = c.obj["vni"];
    if (auto owner = st.reserve_id("vni", v, c.uuid))
      throw conflict("field 'vni': " + std::to_string(v) + " is already used by " + fq_of(st, *owner), "vni");
    if (!old_vni.is_null()) st.release_id("vni", old_vni.get<int64_t>(), c.uuid);
  }
  // A route target decides which VRFs import a network's routes: a tenant choosing one
  // could pull another tenant's routes into its own VRF, or push its own into theirs.
  json old_rts = c.old ? c.old->body.value("route_target_list", json()) : json();
  json new_rts = c.obj.value("route_target_list", json());
  bool rts_given = c.old ? new_rts != old_rts : !new_rts.is_null() && !new_rts.empty();
  if (rts_given && !c.who.global_admin())
    throw forbidden_field("route_target_list",
                          "route targets are allocated by the controller; only the global admin may set them");
  if (!c.old && (!c.obj.contains("route_target_list") || c.obj["route_target_list"].empty())) {
    int64_t asn = c.svc.default_asn();
    if (auto u = st.uuid_by_fq("global-system-config", "default-global-system-config"))
      asn = st.get(*u)->body.value("autonomous_system", asn);
    auto n = st.alloc_id("rt", 8000000, 8999999, c.uuid);
    if (!n) throw conflict("no free route target number left");
    c.obj["route_target_list"] = {"target:" + std::to_string(asn) + ":" + std::to_string(*n)};
  }
}

void vn_before_write(HookContext& c) {
  if (!c.old || c.obj.value("network_ipam_refs", json()) != c.old->body.value("network_ipam_refs", json()))
    vn_subnets(c);
  vn_identifiers(c);
}

// ---------------- addresses (instance-ip, floating-ip) ----------------

struct AddressRequest {
  std::string vn_uuid;
  std::string family;                    // "v4" / "v6" / "" (from the address, else v4)
  std::vector<std::string> subnet_uuids;  // empty = any subnet of the network
  const char* address_field;
  const char* family_field;
};

// Assigns c.obj[address_field] from the network's subnets (or claims the requested one).
// Returns the subnet used.
SubnetPlan assign_address(HookContext& c, const AddressRequest& r) {
  Store& st = c.svc.store();
  auto vn = st.head(r.vn_uuid);
  if (!vn) throw bad_request("network " + r.vn_uuid + " does not exist");
  std::string vn_name = vn->fq;
  const auto& subnets = c.svc.network_subnets(vn->uuid, vn->revision, [&] { return subnets_of(st.get(vn->uuid)->body); });
  std::optional<IpAddr> requested;
  if (c.obj.contains(r.address_field)) requested = parse_ip(c.obj[r.address_field].get<std::string>());
  std::string family = r.family.empty() ? (requested && requested->v6 ? "v6" : "v4") : r.family;
  if (requested && requested->v6 != (family == "v6"))
    throw bad_request(std::string("field '") + r.address_field + "': address is not of family " + family, r.address_field);

  std::vector<SubnetPlan> usable;
  for (auto& s : subnets) {
    bool allowed = r.subnet_uuids.empty();
    for (auto& u : r.subnet_uuids) allowed |= u == s.uuid;
    if (allowed && s.cidr.net.v6 == (family == "v6")) usable.push_back(s);
  }
  std::string fam_name = family == "v6" ? "IPv6" : "IPv4";
  if (usable.empty()) throw conflict("network " + vn_name + " has no " + fam_name + " subnet to allocate from");
  c.obj[r.family_field] = family;
  if (requested) {
    for (auto& s : usable) {
      if (!s.cidr.contains(*requested)) continue;
      try {
        c.svc.allocator().claim(st, s, *requested, c.uuid);
      } catch (const ApiError& e) {
        throw ApiError(e.status, std::string("field '") + r.address_field + "': " + e.what(), r.address_field);
      }
      return s;
    }
    throw bad_request(std::string("field '") + r.address_field + "': " + format_ip(*requested) +
                          " is not in any subnet of network " + vn_name,
                      r.address_field);
  }
  std::string prefixes;
  uint64_t total = 0;
  for (auto& s : usable) {
    if (auto a = c.svc.allocator().allocate(st, s, c.uuid)) {
      c.obj[r.address_field] = format_ip(*a);
      return s;
    }
    prefixes += (prefixes.empty() ? "" : ", ") + s.cidr.str();
    total += c.svc.allocator().capacity(s);
  }
  throw conflict("pool exhausted: all " + std::to_string(total) + " " + fam_name + " addresses of network " + vn_name +
                 " (" + prefixes + ") are allocated");
}

void iip_before_write(HookContext& c) {
  if (c.old) {
    check_immutable(c, {"instance_ip_address", "instance_ip_family", "subnet_uuid", "virtual_network_refs"});
    return;
  }
  AddressRequest r{c.obj["virtual_network_refs"][0]["uuid"], c.obj.value("instance_ip_family", ""), {},
                   "instance_ip_address", "instance_ip_family"};
  if (c.obj.contains("subnet_uuid")) r.subnet_uuids.push_back(c.obj["subnet_uuid"]);
  c.obj["subnet_uuid"] = assign_address(c, r).uuid;
}

void fip_before_write(HookContext& c) {
  if (c.old) {
    check_immutable(c, {"floating_ip_address", "floating_ip_address_family"});
    return;
  }
  Store& st = c.svc.store();
  auto pool = st.get(c.obj["parent_uuid"]);
  AddressRequest r{pool->parent_uuid, c.obj.value("floating_ip_address_family", ""),
                   pool->body.value("subnet_uuids", std::vector<std::string>{}), "floating_ip_address",
                   "floating_ip_address_family"};
  assign_address(c, r);
}

// ---------------- virtual-machine-interface ----------------

// Allowed address pairs are prefixes of the port's own network: a pair elsewhere would let
// the port claim addresses (and, through policy, endpoint groups) it has nothing to do with.
void check_allowed_pairs(HookContext& c) {
  static const std::string field = "virtual_machine_interface_allowed_address_pairs";
  if (!c.obj.contains(field) || c.obj[field].empty()) return;
  std::vector<SubnetPlan> subnets;
  if (c.obj.contains("virtual_network_refs") && !c.obj["virtual_network_refs"].empty()) {
    auto vn = c.svc.store().get(c.obj["virtual_network_refs"][0].value("uuid", ""));
    // In a network another project shares, the other ports' addresses are not this
    // project's to claim, nor can it see which they are: no pairs there at all.
    if (vn && vn->project != owner_of(c.obj))
      throw bad_request("field '" + field + "': allowed address pairs are only for ports in their own project's networks",
                        field);
    if (vn) subnets = subnets_of(vn->body);
  }
  auto& pairs = c.obj[field];
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::string path = field + "[" + std::to_string(i) + "]";
    const json& ip = pairs[i]["ip"];
    std::string text = ip["ip_prefix"].get<std::string>() + "/" + std::to_string(ip["ip_prefix_len"].get<int64_t>());
    std::string why;
    auto cidr = parse_cidr(text, &why);
    if (!cidr) throw bad_request("field '" + path + ".ip': " + text + ": " + why, path + ".ip");
    if (cidr->str() != text)
      throw bad_request("field '" + path + ".ip': " + text + " has host bits set (the prefix is " + cidr->str() + ")",
                        path + ".ip");
    bool inside = false;
    for (auto& sn : subnets) inside |= sn.cidr.contains(cidr->net) && sn.cidr.len <= cidr->len;
    if (!inside)
      throw bad_request("field '" + path + ".ip': " + text + " is not inside a subnet of the port's network",
                        path + ".ip");
    if (pairs[i].contains("mac")) {
      std::string mac = pairs[i]["mac"];
      if (std::stoi(mac.substr(0, 2), nullptr, 16) & 1)
        throw bad_request("field '" + path + ".mac': " + mac + " is a multicast MAC", path + ".mac");
    }
  }
}

void vmi_before_write(HookContext& c) {
  // Its addresses were allocated from this network: moving the port would strand them.
  check_immutable(c, {"virtual_network_refs", "mac_address"});
  check_allowed_pairs(c);
  if (!c.obj.contains("mac_address")) {
    // Locally administered unicast (02:...), like the reference's generated MACs.
    std::string h = random_hex(5);
    std::string mac = "02";
    for (size_t i = 0; i < h.size(); i += 2) mac += ":" + h.substr(i, 2);
    c.obj["mac_address"] = mac;
  }
}

// Instance IPs requested with the port are created in the same transaction, so a port
// never exists without its address and a failed allocation leaves no port behind.
void vmi_after_create(HookContext& c) {
  if (!c.opts || c.opts->instance_ips.empty()) return;
  const TypeSpec& iip = *Schema::get().find("instance-ip");
  auto fq = c.obj["fq_name"].get<std::vector<std::string>>();
  json& out = (*c.extra)["instance-ips"];
  out = json::array();
  for (size_t i = 0; i < c.opts->instance_ips.size(); ++i) {
    std::string path = "instance_ips[" + std::to_string(i) + "]";
    json o = c.opts->instance_ips[i];
    if (!o.is_object()) throw bad_request("field '" + path + "': expected an object of instance-ip properties", path);
    auto name_fq = fq;
    name_fq.back() += "-ip" + std::to_string(i);
    o["fq_name"] = name_fq;
    o["virtual_network_refs"] = {{{"uuid", c.obj["virtual_network_refs"][0]["uuid"]}}};
    o["virtual_machine_interface_refs"] = {{{"uuid", c.uuid}}};
    try {
      Schema::get().validate_object(iip, o, false);
    } catch (const SchemaError& e) {
      throw bad_request(path + ": " + e.what(), path + "." + e.field);
    }
    o["created_with_interface"] = true;
    json nested;
    out.push_back(c.svc.create_locked(iip, o, c.who, {}, nested));
  }
}

// ...and they go with it: the addresses a port asked for at creation return to the
// pool when the port is deleted (explicitly created instance-ips still block it).
void vmi_before_delete(HookContext& c) {
  Store& st = c.svc.store();
  for (auto& r : st.referrers(c.uuid, 1000)) {
    if (r.from_type != "instance-ip") continue;
    auto iip = st.get(r.from_uuid);
    if (iip && iip->body.value("created_with_interface", false)) c.svc.remove_locked(*iip);
  }
}

// ---------------- tag ----------------

int64_t tag_type_id(Store& st, const std::string& type) {
  static const std::map<std::string, int64_t> builtin = {
      {"application", 1}, {"tier", 2}, {"deployment", 3}, {"site", 4}, {"label", 5}};
  if (auto it = builtin.find(type); it != builtin.end()) return it->second;
  if (auto id = st.id_of_owner("tag-type", type)) return *id;
  auto id = st.alloc_id("tag-type", 16, 32767, type);  // owned by the type name: stable forever
  if (!id) throw conflict("too many custom tag types");
  return *id;
}

void tag_before_write(HookContext& c) {
  if (c.old) {
    check_immutable(c, {"tag_type_name", "tag_value", "tag_id"});
    return;
  }
  std::string type = c.obj["tag_type_name"], value = c.obj["tag_value"];
  std::string name = c.obj["fq_name"].back();
  if (name != type + "=" + value)
    throw bad_request("field 'fq_name': a tag's name must be " + type + "=" + value + " (type=value), not " + name,
                      "fq_name");
  if (c.obj.contains("tag_id")) throw bad_request("field 'tag_id': assigned by the controller", "tag_id");
  int64_t tid = tag_type_id(c.svc.store(), type);
  auto idx = c.svc.store().alloc_id("tag:" + type, 1, 65535, c.uuid);
  if (!idx) throw conflict("no free tag id for type " + type);
  c.obj["tag_id"] = (tid << 16) | *idx;
}

// ---------------- policy objects ----------------

NameLookup store_lookup(Store& st) {
  return [&st](const std::string& kind, const std::string& fq) -> std::optional<NamedObject> {
    auto row = st.head_by_fq(kind, fq);
    if (!row) return std::nullopt;
    NamedObject n{row->project, false};
    if (kind == "virtual-network") {
      json body = st.get(row->uuid)->body;
      n.shared = body.value("is_shared", false) || body.value("router_external", false);
    }
    return n;
  };
}

// A mirror on a deny rule would copy packets that are never forwarded: the compiler
// refuses it, so it is refused here, before it can fail the project's whole policy.
void check_mirror_on_pass(const json& rule, const std::string& path) {
  if (rule.contains("mirror_to") && rule.value("action", "") == "deny")
    throw bad_request("field '" + path + "mirror_to': only a pass rule can mirror", path + "mirror_to");
}

void policy_before_write(HookContext& c, const std::string& kind) {
  if (kind == "firewall-rule") check_mirror_on_pass(c.obj, "");
  else if (kind == "network-policy" && c.obj.contains("rules"))
    for (size_t i = 0; i < c.obj["rules"].size(); ++i)
      check_mirror_on_pass(c.obj["rules"][i], "rules[" + std::to_string(i) + "].");
  check_policy_names(kind, c.obj, owner_of(c.obj), store_lookup(c.svc.store()));
}

}  // namespace

const TypeHooks* hooks_for(const std::string& type) {
  static const std::map<std::string, TypeHooks> hooks = {
      {"virtual-network", {vn_before_write, nullptr, nullptr}},
      {"instance-ip", {iip_before_write, nullptr, nullptr}},
      {"floating-ip", {fip_before_write, nullptr, nullptr}},
      {"virtual-machine-interface", {vmi_before_write, vmi_after_create, vmi_before_delete}},
      {"tag", {tag_before_write, nullptr, nullptr}},
      {"network-policy", {[](HookContext& c) { policy_before_write(c, "network-policy"); }, nullptr, nullptr}},
      {"security-group", {[](HookContext& c) { policy_before_write(c, "security-group"); }, nullptr, nullptr}},
      {"firewall-rule", {[](HookContext& c) { policy_before_write(c, "firewall-rule"); }, nullptr, nullptr}},
  };
  auto it = hooks.find(type);
  return it == hooks.end() ? nullptr : &it->second;
}

}  // namespace vrf
