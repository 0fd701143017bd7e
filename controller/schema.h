#pragma once
// The object model, loaded from schema_data.h, and the generic validator derived from it.
// Header-only (depends on nlohmann-json only) so vrctl can validate YAML documents and
// print help with exactly the rules the controller applies.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "controller/ipaddr.h"
#include "controller/schema_data.h"

namespace vrf::schema {

using json = nlohmann::json;

// A validation failure: `field` is a dotted path inside the object (e.g.
// "network_ipam_refs[0].attr.ipam_subnets[1].subnet").
struct SchemaError : std::runtime_error {
  std::string field;
  SchemaError(std::string f, const std::string& msg) : std::runtime_error(msg), field(std::move(f)) {}
};

struct FieldSpec {
  std::string kind;  // string name integer boolean ip cidr mac uuid route_target port json enum list struct
  std::string struct_name;
  std::vector<std::string> enum_values;
  std::shared_ptr<FieldSpec> elem;  // for lists
  bool required = false;
  bool has_min = false, has_max = false;
  int64_t min = 0, max = 0;
  std::string help;
  std::string describe() const {
    if (kind == "list") return "list of " + elem->describe();
    if (kind == "struct") return struct_name;
    if (kind == "enum") {
      std::string s = "one of";
      for (auto& e : enum_values) s += " " + e;
      return s;
    }
    return kind;
  }
};

using FieldMap = std::vector<std::pair<std::string, FieldSpec>>;  // declaration order kept for help

struct RefSpec {
  std::string field, to, attr_struct;
  bool required = false, single = false;
};

struct TypeSpec {
  std::string name, plural, short_name, help;
  std::vector<std::string> parents;  // "" = may be top level
  FieldMap props;
  std::vector<RefSpec> refs;
  std::string underscore() const {  // virtual-network -> virtual_network (field naming)
    std::string s = name;
    for (auto& c : s) if (c == '-') c = '_';
    return s;
  }
  const FieldSpec* prop(const std::string& n) const {
    for (auto& [k, v] : props) if (k == n) return &v;
    return nullptr;
  }
  const RefSpec* ref(const std::string& n) const {
    for (auto& r : refs) if (r.field == n) return &r;
    return nullptr;
  }
  bool allows_top_level() const {
    for (auto& p : parents) if (p.empty()) return true;
    return false;
  }
};

// Keys every object body may carry besides its properties and refs.
inline const std::vector<std::string>& meta_keys() {
  static const std::vector<std::string> k = {"uuid", "fq_name", "parent_type", "parent_uuid", "href",
                                             "revision", "created_at", "updated_at", "name",
                                             "created_with_interface", "hidden_refs"};
  return k;
}

class Schema {
 public:
  static const Schema& get() {
    static const Schema s(json::parse(kSchemaJson));
    return s;
  }
  const std::vector<TypeSpec>& types() const { return types_; }
  // Accepts the type name, its plural or its short alias.
  const TypeSpec* find(const std::string& n) const {
    for (auto& t : types_)
      if (t.name == n || t.plural == n || t.short_name == n) return &t;
    return nullptr;
  }
  const FieldMap* find_struct(const std::string& n) const {
    auto it = structs_.find(n);
    return it == structs_.end() ? nullptr : &it->second;
  }

  // Validates an object body (properties, refs, meta keys). partial=true for updates:
  // required fields may be absent. Throws SchemaError naming the first bad field.
  void validate_object(const TypeSpec& t, const json& body, bool partial) const {
    if (!body.is_object()) throw SchemaError("", "object body must be a JSON object");
    for (auto& [k, v] : body.items()) {
      if (k == "uuid" && !(v.is_string() && valid_uuid(v.get<std::string>())))
        throw SchemaError(k, "field 'uuid': expected a UUID string, got " + (v.is_string() ? "'" + v.get<std::string>() + "'" : type_of(v)));
      if (k == "parent_type" && !(v.is_string() && allowed_parent(t, v.get<std::string>())))
        throw SchemaError(k, "field 'parent_type': not a parent type of " + t.name);
      if (is_meta(k)) continue;  // the rest is set by the controller and ignored on input
      if (auto* p = t.prop(k)) {
        if (!v.is_null()) validate_value(*p, v, k);
      } else if (auto* r = t.ref(k)) {
        if (!v.is_null()) validate_refs(*r, v, k);
      } else {
        throw SchemaError(k, "unknown field '" + k + "' for " + t.name + hint(t, k));
      }
    }
    if (partial) return;
    for (auto& [k, p] : t.props)
      if (p.required && (!body.contains(k) || body[k].is_null()))
        throw SchemaError(k, "required field '" + k + "' is missing (" + p.describe() + ")");
    for (auto& r : t.refs)
      if (r.required && (!body.contains(r.field) || body[r.field].empty()))
        throw SchemaError(r.field, "required reference '" + r.field + "' to a " + r.to + " is missing");
  }

  void validate_value(const FieldSpec& f, const json& v, const std::string& path) const {
    auto bad = [&](const std::string& what) { throw SchemaError(path, "field '" + path + "': " + what); };
    const std::string& k = f.kind;
    if (k == "json") return;
    if (k == "boolean") { if (!v.is_boolean()) bad("expected true or false, got " + type_of(v)); return; }
    if (k == "integer" || k == "port") {
      if (!v.is_number_integer()) bad("expected an integer, got " + type_of(v));
      int64_t n = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
      int64_t lo = k == "port" ? 0 : f.min, hi = k == "port" ? 65535 : f.max;
      if ((k == "port" || f.has_min) && n < lo) bad(std::to_string(n) + " is below the minimum " + std::to_string(lo));
      if ((k == "port" || f.has_max) && n > hi) bad(std::to_string(n) + " is above the maximum " + std::to_string(hi));
      return;
    }
    if (k == "list") {
      if (!v.is_array()) bad("expected a list, got " + type_of(v));
      for (size_t i = 0; i < v.size(); ++i) validate_value(*f.elem, v[i], path + "[" + std::to_string(i) + "]");
      return;
    }
    if (k == "struct") {
      if (!v.is_object()) bad("expected an object (" + f.struct_name + "), got " + type_of(v));
      validate_struct(*find_struct(f.struct_name), v, path);
      return;
    }
    if (!v.is_string()) bad("expected a string (" + f.describe() + "), got " + type_of(v));
    const std::string s = v.get<std::string>();
    std::string why;
    if (k == "enum") {
      for (auto& e : f.enum_values) if (e == s) return;
      bad("'" + s + "' is not " + f.describe());
    } else if (k == "name") {
      if (!valid_name(s)) bad("'" + s + "' is not a valid name (1-255 characters, no ':' '/' or spaces)");
    } else if (k == "ip") {
      if (!parse_ip(s)) bad("'" + s + "' is not an IPv4 or IPv6 address");
    } else if (k == "cidr") {
      if (!parse_cidr(s, &why)) bad(why);
    } else if (k == "mac") {
      if (!valid_mac(s)) bad("'" + s + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    } else if (k == "uuid") {
      if (!valid_uuid(s)) bad("'" + s + "' is not a UUID");
    } else if (k == "route_target") {
      if (!valid_route_target(s)) bad("'" + s + "' is not a route target (target:ASN:N or target:IP:N)");
    } else if (s.size() > 4096) {
      bad("string longer than 4096 characters");
    }
  }

  static bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 255) return false;
    for (unsigned char c : s)
      if (c <= ' ' || c == ':' || c == '/' || c == 0x7f) return false;
    return true;
  }
  static bool valid_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? s[i] != '-' : !isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  }
  static bool valid_mac(const std::string& s) {
    if (s.size() != 17) return false;
    for (size_t i = 0; i < 17; ++i)
      if (i % 3 == 2 ? s[i] != ':' : !isxdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
  }
  static bool valid_route_target(const std::string& s) {
    if (s.rfind("target:", 0) != 0) return false;
    auto rest = s.substr(7);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
    auto num = rest.substr(colon + 1), admin = rest.substr(0, colon);
    if (num.find_first_not_of("0123456789") != std::string::npos || num.size() > 10) return false;
    if (admin.find_first_not_of("0123456789") == std::string::npos) return admin.size() <= 10;
    auto ip = parse_ip(admin);
    return ip && !ip->v6;
  }
  static bool allowed_parent(const TypeSpec& t, const std::string& p) {
    for (auto& x : t.parents)
      if (!x.empty() && x == p) return true;
    return false;
  }
  static std::string type_of(const json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "a list";
    return "an object";
  }
  static bool is_meta(const std::string& k) {
    for (auto& m : meta_keys()) if (m == k) return true;
    return k.size() > 10 && k.compare(k.size() - 10, 10, "_back_refs") == 0;
  }
  // "a:b:c" or ["a","b","c"] -> list; throws on anything else.
  static std::vector<std::string> fq_from_json(const json& v, const std::string& path) {
    std::vector<std::string> fq;
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      size_t pos = 0;
      while (true) {
        auto c = s.find(':', pos);
        fq.push_back(s.substr(pos, c - pos));
        if (c == std::string::npos) break;
        pos = c + 1;
      }
    } else if (v.is_array()) {
      for (auto& e : v) {
        if (!e.is_string()) throw SchemaError(path, "field '" + path + "': fq_name elements must be strings");
        fq.push_back(e.get<std::string>());
      }
    } else {
      throw SchemaError(path, "field '" + path + "': expected an fq_name (list of names or a:b:c), got " + type_of(v));
    }
    for (auto& n : fq)
      if (!valid_name(n)) throw SchemaError(path, "field '" + path + "': '" + n + "' is not a valid name");
    return fq;
  }

 private:
  explicit Schema(const json& j) {
    // Declare all struct names first: structs refer to each other in any order.
    for (auto& [name, fields] : j["structs"].items()) structs_[name];
    for (auto& [name, fields] : j["structs"].items()) structs_[name] = parse_fields(fields);
    common_ = parse_fields(j["common"]);
    for (auto& t : j["types"]) {
      TypeSpec ts;
      ts.name = t["name"];
      ts.plural = t["plural"];
      ts.short_name = t.value("short", "");
      ts.help = t.value("help", "");
      ts.parents = t["parents"].get<std::vector<std::string>>();
      ts.props = common_;
      if (t.contains("properties")) {
        auto p = parse_fields(t["properties"]);
        ts.props.insert(ts.props.end(), p.begin(), p.end());
      }
      if (t.contains("refs"))
        for (auto& [field, r] : t["refs"].items())
          ts.refs.push_back({field, r["to"], r.value("attr", ""), r.value("required", false), r.value("single", false)});
      types_.push_back(std::move(ts));
    }
  }
  FieldMap parse_fields(const json& j) {
    FieldMap m;
    for (auto& [name, spec] : j.items()) m.emplace_back(name, parse_field(spec));
    return m;
  }
  FieldSpec parse_field(const json& spec) {
    FieldSpec f;
    json s = spec.is_string() ? json{{"type", spec}} : spec;
    std::string type = s.value("type", s.contains("enum") ? "enum" : "string");
    f.required = s.value("required", false);
    f.help = s.value("help", "");
    if (s.contains("min")) { f.has_min = true; f.min = s["min"].get<int64_t>(); }
    if (s.contains("max")) { f.has_max = true; f.max = s["max"].get<int64_t>(); }
    if (type.rfind("list<", 0) == 0) {
      json inner = s;
      inner["type"] = type.substr(5, type.size() - 6);
      inner.erase("required");
      f.kind = "list";
      f.elem = std::make_shared<FieldSpec>(parse_field(inner));
      return f;
    }
    if (type == "enum") f.enum_values = s["enum"].get<std::vector<std::string>>();
    static const char* scalars[] = {"string", "name", "integer", "boolean", "ip", "cidr", "mac",
                                    "uuid", "route_target", "port", "json", "enum"};
    for (auto* sc : scalars)
      if (type == sc) { f.kind = type; return f; }
    if (!structs_.count(type)) throw std::logic_error("schema: unknown type " + type);
    f.kind = "struct";
    f.struct_name = type;
    return f;
  }
  void validate_struct(const FieldMap& fields, const json& v, const std::string& path) const {
    for (auto& [k, val] : v.items()) {
      const FieldSpec* f = nullptr;
      for (auto& [fk, fs] : fields) if (fk == k) f = &fs;
      if (!f) throw SchemaError(path + "." + k, "field '" + path + "." + k + "': unknown field '" + k + "'");
      if (!val.is_null()) validate_value(*f, val, path + "." + k);
    }
    for (auto& [fk, fs] : fields)
      if (fs.required && (!v.contains(fk) || v[fk].is_null()))
        throw SchemaError(path + "." + fk, "field '" + path + "." + fk + "': required field missing (" + fs.describe() + ")");
  }
  void validate_refs(const RefSpec& r, const json& v, const std::string& path) const {
    if (!v.is_array()) throw SchemaError(path, "field '" + path + "': expected a list of references");
    if (r.single && v.size() > 1) throw SchemaError(path, "field '" + path + "': at most one reference allowed");
    for (size_t i = 0; i < v.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      const json& e = v[i];
      if (!e.is_object()) throw SchemaError(p, "field '" + p + "': expected {\"to\": fq_name} or {\"uuid\": ...}");
      for (auto& [k, val] : e.items()) {
        if (k == "to") fq_from_json(val, p + ".to");
        else if (k == "uuid") { if (!val.is_string() || !valid_uuid(val.get<std::string>())) throw SchemaError(p + ".uuid", "field '" + p + ".uuid': not a UUID"); }
        else if (k == "href") continue;
        else if (k == "attr") {
          if (r.attr_struct.empty()) { if (!val.is_null()) throw SchemaError(p + ".attr", "field '" + p + ".attr': this reference takes no attributes"); }
          else if (!val.is_null()) validate_value(struct_field(r.attr_struct), val, p + ".attr");
        } else throw SchemaError(p + "." + k, "field '" + p + "." + k + "': unknown key in reference (to, uuid, attr)");
      }
      if (!e.contains("to") && !e.contains("uuid"))
        throw SchemaError(p, "field '" + p + "': reference needs \"to\" (fq_name) or \"uuid\"");
    }
  }
  static FieldSpec struct_field(const std::string& name) {
    FieldSpec f;
    f.kind = "struct";
    f.struct_name = name;
    return f;
  }
  static std::string hint(const TypeSpec& t, const std::string& k) {
    std::string s = " (known:";
    for (auto& [n, f] : t.props) s += " " + n;
    for (auto& r : t.refs) s += " " + r.field;
    return s + ")";
  }

  std::map<std::string, FieldMap> structs_;
  FieldMap common_;
  std::vector<TypeSpec> types_;
};

}  // namespace vrf::schema
