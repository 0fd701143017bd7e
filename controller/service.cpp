#include "controller/service.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>

#include "controller/errors.h"
#include "controller/uuid.h"

namespace vrf {

using schema::Schema;
using schema::SchemaError;

std::string join_fq(const std::vector<std::string>& fq) {
  std::string s;
  for (auto& n : fq) s += (s.empty() ? "" : ":") + n;
  return s;
}

std::vector<std::string> split_fq(const std::string& fq) { return Schema::fq_from_json(json(fq), "fq_name"); }

namespace {
std::string now_iso() {
  auto t = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&secs));
  return buf;
}

// The wrapped form {"virtual-network": {...}} is what the reference API uses; everything
// else at the top level of a request body is an option of the request.
json unwrap(const TypeSpec& t, const json& body) {
  if (!body.is_object() || !body.contains(t.name) || !body[t.name].is_object())
    throw bad_request("request body must be {\"" + t.name + "\": {...}}");
  return body[t.name];
}

ApiError from_schema(const SchemaError& e) { return bad_request(e.what(), e.field); }

// null means "absent" in a body (the validator skips null values): it is never stored,
// so readers of stored objects find a field either absent or of its type.
void drop_nulls(json& v) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end();) {
      if (it->is_null()) it = v.erase(it);
      else drop_nulls(*it++);
    }
  } else if (v.is_array()) {
    for (auto& e : v) drop_nulls(e);
  }
}

// Keys the controller writes in its answers (back references, hidden reference counts)
// are ignored on input, not stored.
void drop_answer_keys(json& obj) {
  for (auto it = obj.begin(); it != obj.end();) {
    const std::string& k = it.key();
    bool answer_only = k == "hidden_refs" || (k.size() > 10 && k.compare(k.size() - 10, 10, "_back_refs") == 0);
    if (answer_only) it = obj.erase(it);
    else ++it;
  }
}

// The object of a create (partial=false) or update body, checked against the schema
// before any lock is taken.
json validated(const TypeSpec& t, const json& body, bool partial) {
  json obj = unwrap(t, body);
  try {
    Schema::get().validate_object(t, obj, partial);
  } catch (const SchemaError& e) {
    throw from_schema(e);
  }
  return obj;
}
}  // namespace

ConfigService::ConfigService(Store& st, Settings s) : st_(st), settings_(s), mu_(st.mutex()) {
  rev_ = st_.last_revision();
  trimmed_below_ = st_.first_revision();
  published_rev_ = rev_;
  for (auto& t : st_.tokens()) tokens_[t.token_sha256] = Principal{t.id, t.project, t.role};
}

// One API mutation = one transaction. The revision counter and allocator caches are
// restored if anything throws, so a failed request leaves no trace in memory either.
template <typename F>
auto ConfigService::mutate(F&& f) -> decltype(f()) {
  std::lock_guard lk(mu_);
  int64_t rev_before = rev_;
  st_.begin();
  try {
    auto result = f();
    st_.commit();
    alloc_.commit();
    if (rev_ != rev_before) {
      std::lock_guard wl(watch_mu_);
      published_rev_ = rev_;
      watch_cv_.notify_all();
    }
    trim_change_log();
    return result;
  } catch (...) {
    st_.rollback();
    alloc_.rollback();
    vn_subnets_.clear();  // may hold plans of an update that never happened
    rev_ = rev_before;
    throw;
  }
}

// The change log keeps the last change_log_keep revisions; trimming runs in batches of
// a tenth of that, in its own small transaction after a mutation has been answered for.
void ConfigService::trim_change_log() {
  int64_t keep = settings_.change_log_keep;
  if (keep <= 0 || rev_ - trimmed_below_ < keep + keep / 10 + 1) return;
  int64_t below = rev_ - keep + 1;
  try {
    st_.begin();
    st_.trim_changes(below);
    st_.commit();
    trimmed_below_ = below;
  } catch (const std::exception& e) {
    st_.rollback();
    spdlog::warn("change log trim failed: {}", e.what());
  }
}

const std::vector<SubnetPlan>& ConfigService::network_subnets(const std::string& vn_uuid, int64_t revision,
                                                              const std::function<std::vector<SubnetPlan>()>& load) {
  auto& e = vn_subnets_[vn_uuid];
  if (e.first != revision || revision == 0) e = {revision, load()};
  return e.second;
}

Store& ConfigService::reader() {
  thread_local std::map<std::string, std::unique_ptr<Store>> readers;  // by database path
  auto& r = readers[st_.path()];
  if (!r) r = std::make_unique<Store>(st_.path(), Store::Mode::reader);
  return *r;
}

ObjRow ConfigService::load_visible(Store& st, const TypeSpec* t, const std::string& uuid, const Principal& who) {
  auto row = st.get(uuid);
  if (!row || (t && row->type != t->name) || !who.can_read(row->project))
    throw not_found((t ? t->name : std::string("object")) + " " + uuid + " not found");
  return *row;
}

// References the global admin made from a project's object to another project's are
// not shown to that project: they are dropped from the answer and counted per field
// under "hidden_refs". Returns whether anything was hidden.
bool ConfigService::hide_invisible_refs(Store& st, const TypeSpec& t, json& obj, const Principal& who) {
  if (who.global_admin() || !obj.is_object()) return false;
  json hidden = json::object();
  for (auto& r : t.refs) {
    auto it = obj.find(r.field);
    if (it == obj.end() || !it->is_array()) continue;
    json kept = json::array();
    int64_t n = 0;
    for (auto& e : *it) {
      auto target = e.contains("uuid") && e["uuid"].is_string() ? st.head(e["uuid"].get<std::string>()) : std::nullopt;
      if (target && who.can_read(target->project)) kept.push_back(e);
      else ++n;
    }
    if (n) {
      *it = std::move(kept);
      hidden[r.field] = n;
    }
  }
  if (hidden.empty()) return false;
  obj["hidden_refs"] = std::move(hidden);
  return true;
}

// A reference list the caller replaces keeps the entries it cannot see: a tenant can
// neither see nor remove what the global admin linked to its object.
void ConfigService::keep_invisible_refs(const TypeSpec& t, const json& old, json& patch, json& ref_uuids,
                                        const Principal& who) {
  for (auto& r : t.refs) {
    if (!ref_uuids.contains(r.field)) continue;
    if (!who.global_admin() && old.contains(r.field))
      for (auto& e : old[r.field]) {
        auto target = st_.head(e.value("uuid", ""));
        if (target && who.can_read(target->project)) continue;
        if (!patch.contains(r.field) || patch[r.field].is_null()) patch[r.field] = json::array();
        patch[r.field].push_back(e);
        ref_uuids[r.field].push_back(e.value("uuid", ""));
      }
    // An emptied list (or null) removes the field from the stored object.
    if (ref_uuids[r.field].empty()) patch[r.field] = nullptr;
  }
}

json ConfigService::with_meta(ObjRow row) {
  json j = std::move(row.body);
  j["href"] = "/" + row.type + "/" + row.uuid;
  return j;
}

// Resolves every reference in `obj` to {to, uuid, attr} against the store, refusing
// dangling or invisible targets (400 naming the field). Returns {field: [uuids]}.
json ConfigService::resolve_refs(const TypeSpec& t, json& obj, const Principal& who) {
  json uuids = json::object();
  for (auto& r : t.refs) {
    if (!obj.contains(r.field)) continue;
    if (obj[r.field].is_null()) { obj.erase(r.field); uuids[r.field] = json::array(); continue; }
    json out = json::array(), ids = json::array();
    auto& list = obj[r.field];
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = r.field + "[" + std::to_string(i) + "]";
      auto& e = list[i];
      std::optional<ObjRow> target;
      std::string what;
      if (e.contains("uuid")) {
        what = e["uuid"].get<std::string>();
        target = st_.head(what);
      } else {
        what = join_fq(Schema::fq_from_json(e["to"], path + ".to"));
        target = st_.head_by_fq(r.to, what);
      }
      if (!target || target->type != r.to || !who.can_read(target->project))
        throw bad_request("field '" + path + "': " + r.to + " " + what + " does not exist", path);
      json ref = {{"to", split_fq(target->fq)}, {"uuid", target->uuid}};
      if (e.contains("attr") && !e["attr"].is_null()) ref["attr"] = e["attr"];
      out.push_back(std::move(ref));
      ids.push_back(target->uuid);
    }
    list = std::move(out);
    uuids[r.field] = std::move(ids);
  }
  return uuids;
}

// Writes a created or updated object: next revision, row, reference edges, change log.
// The body is serialised once and stored twice (object and change).
void ConfigService::persist(ObjRow& row, const char* op, const json& ref_uuids) {
  row.revision = ++rev_;
  row.body["revision"] = row.revision;
  std::string text = row.body.dump();
  if (op == std::string("create")) st_.insert(row, text);
  else st_.update(row, text);
  for (auto& [field, ids] : ref_uuids.items()) st_.set_refs(row.uuid, field, ids.get<std::vector<std::string>>());
  st_.append_change(row.revision, op, row, text);
  spdlog::debug("{} type={} fq_name={} uuid={} revision={}", op, row.type, row.fq, row.uuid, row.revision);
}

json ConfigService::create(const TypeSpec& t, const json& body, const Principal& who, CreateOptions opts) {
  json obj = validated(t, body, false);
  obj.erase("created_with_interface");  // set by the controller only (see vmi_after_create)
  drop_nulls(obj);
  drop_answer_keys(obj);
  json out = mutate([&] {
    json extra = json::object();
    json created = create_locked(t, std::move(obj), who, opts, extra);
    hide_invisible_refs(st_, t, created, who);
    json out = {{t.name, created}};
    for (auto& [k, v] : extra.items()) out[k] = v;
    return out;
  });
  audit("create", t.name, out[t.name], who);
  return out;
}

// One info line per committed mutation, naming the token that made it.
void ConfigService::audit(const char* op, const std::string& type, const json& obj, const Principal& who) {
  spdlog::info("audit op={} type={} fq_name={} uuid={} revision={} token_id={}", op, type, join_fq(obj.value("fq_name", std::vector<std::string>{})),
               obj.value("uuid", ""), obj.value("revision", int64_t(0)), who.token_id);
}

json ConfigService::create_locked(const TypeSpec& t, json obj, const Principal& who, const CreateOptions& opts,
                                  json& extra) {
  if (!obj.contains("fq_name")) throw bad_request("field 'fq_name': required (e.g. [\"default-domain\", \"project\", \"name\"])", "fq_name");
  std::vector<std::string> fq;
  try {
    fq = Schema::fq_from_json(obj["fq_name"], "fq_name");
  } catch (const SchemaError& e) {
    throw from_schema(e);
  }
  if (fq.empty()) throw bad_request("field 'fq_name': must not be empty", "fq_name");

  // Parent: the object named by fq_name minus its last element, of an allowed parent type.
  std::optional<ObjRow> parent;
  std::string parent_fq = join_fq(std::vector<std::string>(fq.begin(), fq.end() - 1));
  if (fq.size() == 1) {
    if (!t.allows_top_level())
      throw bad_request("field 'fq_name': a " + t.name + " lives under a " + t.parents[0] +
                            "; fq_name needs the parent's names first",
                        "fq_name");
  } else {
    std::string wanted = obj.value("parent_type", "");
    for (auto& p : t.parents) {
      if (p.empty() || (!wanted.empty() && p != wanted)) continue;
      if ((parent = st_.head_by_fq(p, parent_fq))) { obj["parent_type"] = p; break; }
    }
    if (!parent || !who.can_read(parent->project))
      throw bad_request("field 'fq_name': parent " + parent_fq + " (" + t.parents[0] + ") does not exist", "fq_name");
  }

  bool own_uuid = obj.contains("uuid");
  std::string uuid = own_uuid ? obj["uuid"].get<std::string>() : new_uuid();
  std::optional<std::string> owner = t.name == "project" ? std::optional(uuid) : parent ? parent->project : std::nullopt;
  if (!who.can_write(owner))
    throw forbidden("token may not create " + t.name + " " + join_fq(fq));
  if (auto existing = st_.uuid_by_fq(t.name, join_fq(fq)))
    throw conflict(t.name + " " + join_fq(fq) + " already exists (uuid " + *existing + ")", "fq_name");
  // A tenant choosing a uuid would learn from the conflict that another tenant's object
  // has it; uuids are the controller's to give, except to the global admin (migrations).
  if (own_uuid && !who.global_admin())
    throw forbidden_field("uuid", "uuids are assigned by the controller; only the global admin may choose one");
  if (own_uuid && st_.head(uuid)) throw conflict("uuid " + uuid + " is already in use", "uuid");

  json ref_uuids = resolve_refs(t, obj, who);
  obj["uuid"] = uuid;
  obj["fq_name"] = fq;
  obj.erase("name");
  obj.erase("href");
  if (parent) obj["parent_uuid"] = parent->uuid;
  else { obj.erase("parent_type"); obj.erase("parent_uuid"); }
  obj["created_at"] = obj["updated_at"] = now_iso();

  const TypeHooks* hooks = hooks_for(t.name);
  HookContext ctx{*this, who, uuid, obj, nullptr, &opts, &extra};
  if (hooks && hooks->before_write) hooks->before_write(ctx);

  ObjRow row{uuid, t.name, join_fq(fq), parent ? parent->uuid : "", owner, std::move(obj), 0};
  persist(row, "create", ref_uuids);
  if (hooks && hooks->after_create) {
    HookContext after{*this, who, uuid, row.body, nullptr, &opts, &extra};  // obj was moved into row
    hooks->after_create(after);
  }
  return with_meta(std::move(row));
}

json ConfigService::update(const TypeSpec& t, const std::string& uuid, const json& body, const Principal& who) {
  json patch = validated(t, body, true);
  drop_answer_keys(patch);
  for (auto& [k, v] : patch.items()) drop_nulls(v);  // a top-level null removes the field
  json out = mutate([&] {
    ObjRow old = load_visible(st_, &t, uuid, who);
    if (!who.can_write(old.project, t.name == "project")) throw forbidden("token may not modify " + t.name + " " + old.fq);
    for (const char* k : {"uuid", "fq_name", "parent_type", "parent_uuid"}) {
      if (!patch.contains(k)) continue;
      json mine = patch[k];
      if (k == std::string("fq_name")) {
        try {
          mine = Schema::fq_from_json(patch[k], k);
        } catch (const SchemaError& e) {
          throw from_schema(e);
        }
      }
      if (mine != old.body.value(k, json())) throw bad_request(std::string("field '") + k + "' cannot be changed", k);
    }
    for (const char* k : {"revision", "created_at", "updated_at", "href", "hidden_refs"}) patch.erase(k);
    json ref_uuids = resolve_refs(t, patch, who);
    keep_invisible_refs(t, old.body, patch, ref_uuids, who);
    json merged = old.body;
    for (auto& [k, v] : patch.items()) {
      if (v.is_null()) merged.erase(k);
      else merged[k] = v;
    }
    merged["updated_at"] = now_iso();
    json extra;
    const TypeHooks* hooks = hooks_for(t.name);
    HookContext ctx{*this, who, uuid, merged, &old, nullptr, &extra};
    if (hooks && hooks->before_write) hooks->before_write(ctx);

    ObjRow row = old;
    row.body = std::move(merged);
    persist(row, "update", ref_uuids);
    json view = with_meta(std::move(row));
    hide_invisible_refs(st_, t, view, who);
    return json{{t.name, std::move(view)}};
  });
  audit("update", t.name, out[t.name], who);
  return out;
}

json ConfigService::remove(const TypeSpec& t, const std::string& uuid, const Principal& who) {
  json out = mutate([&] {
    ObjRow row = load_visible(st_, &t, uuid, who);
    bool self = t.name == "project";
    if (!who.can_write(row.project, self) || (self && !who.global_admin()))
      throw forbidden("token may not delete " + t.name + " " + row.fq);
    const TypeHooks* hooks = hooks_for(t.name);
    if (hooks && hooks->before_delete) {
      HookContext ctx{*this, who, uuid, row.body, &row, nullptr, nullptr};
      hooks->before_delete(ctx);
    }
    json gone = {{"uuid", uuid}, {"fq_name", split_fq(row.fq)}};
    gone["revision"] = remove_locked(std::move(row), &who);
    return gone;
  });
  audit("delete", t.name, out, who);
  return out;
}

int64_t ConfigService::remove_locked(ObjRow row, const Principal* who) {
  auto kids = st_.children(row.uuid, 20);
  if (!kids.empty()) {
    json list = json::array();
    for (auto& k : kids) list.push_back({{"type", k.type}, {"fq_name", k.fq}, {"uuid", k.uuid}});
    throw conflict(row.type + " " + row.fq + " still has children, e.g. " + kids[0].type + " " + kids[0].fq, "",
                   {{"children", list}});
  }
  // Referrers in projects the caller cannot see (references the global admin made
  // across projects) are counted, never named.
  auto refs = st_.referrers(row.uuid, 1000);
  if (!refs.empty()) {
    json list = json::array();
    std::string names;
    int64_t others = 0;
    for (auto& r : refs) {
      auto from = st_.head(r.from_uuid);
      if (who && (!from || !who->can_read(from->project))) { ++others; continue; }
      if (list.size() >= 20) continue;
      list.push_back({{"type", r.from_type}, {"fq_name", r.from_fq}, {"uuid", r.from_uuid}, {"field", r.field}});
      if (names.size() < 300) names += (names.empty() ? "" : ", ") + r.from_type + " " + r.from_fq;
    }
    json details = {{"referrers", list}};
    if (others) {
      details["other_referrers"] = others;
      names += (names.empty() ? "" : " and ") + std::to_string(others) + " object(s) of other projects";
    }
    throw conflict(row.type + " " + row.fq + " is still referenced by " + names, "", details);
  }
  for (auto& [pool, addr] : st_.release_owner(row.uuid))
    if (auto ip = parse_ip(addr)) alloc_.released(pool, *ip);
  st_.remove(row.uuid);
  row.revision = ++rev_;
  st_.append_change(row.revision, "delete", row, row.body.dump());
  spdlog::debug("delete type={} fq_name={} uuid={} revision={}", row.type, row.fq, row.uuid, row.revision);
  return row.revision;
}

json ConfigService::read(const TypeSpec& t, const std::string& uuid, const Principal& who, bool back_refs) {
  Store& st = reader();
  ObjRow row = load_visible(st, &t, uuid, who);
  json j = with_meta(row);
  hide_invisible_refs(st, t, j, who);
  if (back_refs) {
    for (auto& r : st.referrers(uuid, 1000)) {
      auto from = st.get(r.from_uuid);
      if (!from || !who.can_read(from->project)) continue;
      std::string key = Schema::get().find(r.from_type)->underscore() + "_back_refs";
      j[key].push_back({{"to", split_fq(r.from_fq)}, {"uuid", r.from_uuid}, {"href", "/" + r.from_type + "/" + r.from_uuid}});
    }
  }
  return {{t.name, j}};
}

json ConfigService::list(const TypeSpec& t, const ListParams& p, const Principal& who) {
  Store& st = reader();
  ListQuery q;
  q.type = t.name;
  q.parent_uuid = p.parent_id;
  // A filter naming another project's object answers exactly as one naming nothing:
  // the project is checked first (400 either way), a parent the caller cannot see
  // lists nothing, like a parent that does not exist.
  if (p.project) {
    auto u = schema::Schema::valid_uuid(*p.project) ? std::optional(*p.project) : st.uuid_by_fq("project", *p.project);
    auto row = u ? st.head(*u) : std::nullopt;
    if (!row || row->type != "project" || !who.can_read(row->project))
      throw bad_request("project " + *p.project + " does not exist", "project");
    q.project = *u;
  }
  if (p.parent_fq_name) {
    // Any of the allowed parent types with that name (there is at most one per type).
    for (auto& pt : t.parents)
      if (!pt.empty())
        if (auto row = st.head_by_fq(pt, *p.parent_fq_name); row && who.can_read(row->project)) q.parent_uuid = row->uuid;
    if (!q.parent_uuid) return {{t.plural, json::array()}};
  }
  q.fq = p.fq_name;
  q.tag_name = p.tag;
  if (!who.global_admin()) q.visible_project = *who.project;
  q.after_id = p.marker;
  q.limit = p.limit;
  json items = json::array();
  auto rows = st.list(q);
  for (auto& [id, row] : rows) {
    if (p.detail) {
      items.push_back(with_meta(std::move(row)));
      hide_invisible_refs(st, t, items.back(), who);
    }
    else items.push_back({{"uuid", row.uuid}, {"fq_name", split_fq(row.fq)}, {"href", "/" + row.type + "/" + row.uuid}});
  }
  json out = {{t.plural, std::move(items)}};
  if (int(rows.size()) == p.limit) out["next_marker"] = rows.back().first;
  return out;
}

json ConfigService::fq_name_to_id(const std::string& type, const json& fq, const Principal& who) {
  auto* t = Schema::get().find(type);
  if (!t) throw bad_request("field 'type': unknown type '" + type + "'", "type");
  std::string name;
  try {
    name = join_fq(Schema::fq_from_json(fq, "fq_name"));
  } catch (const SchemaError& e) {
    throw from_schema(e);
  }
  Store& st = reader();
  auto row = st.head_by_fq(t->name, name);
  // The same answer whether the name is another project's or nobody's.
  if (!row || !who.can_read(row->project)) throw not_found(t->name + " " + name + " not found");
  return {{"uuid", row->uuid}};
}

json ConfigService::id_to_fq_name(const std::string& uuid, const Principal& who) {
  Store& st = reader();
  ObjRow row = load_visible(st, nullptr, uuid, who);
  return {{"type", row.type}, {"fq_name", split_fq(row.fq)}};
}

Principal ConfigService::authenticate(const std::string& bearer) {
  std::shared_lock lk(tokens_mu_);
  auto it = tokens_.find(sha256_hex(bearer));
  if (it == tokens_.end()) throw ApiError(401, "invalid or missing bearer token");
  return it->second;
}

// A host name as agents register it (a DNS label or an address): nothing that could
// look like another role or break the "agent:HOST" form.
static bool valid_agent_host(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

json ConfigService::create_token(const json& req, const Principal& who) {
  if (!req.is_object()) throw bad_request("request body must be {\"project\": ..., \"role\": ...} or {\"agent_host\": ...}");
  if (req.contains("agent_host")) return create_agent_token(req, who);
  for (auto& [k, v] : req.items())
    if (k != "project" && k != "role") throw bad_request("field '" + k + "': unknown field (project, role, agent_host)", k);
  std::string role = req.value("role", "");
  if (!valid_role(role)) throw bad_request("field 'role': must be admin, member or reader", "role");
  TokenRow t;
  json out = mutate([&] {
    std::optional<std::string> project;
    if (req.contains("project") && !req["project"].is_null()) {
      if (!req["project"].is_string()) throw bad_request("field 'project': expected a uuid or fq_name string", "project");
      std::string p = req["project"];
      auto u = Schema::valid_uuid(p) ? std::optional(p) : st_.uuid_by_fq("project", p);
      auto row = u ? st_.get(*u) : std::nullopt;
      if (!row || row->type != "project" || !who.can_read(row->project))
        throw bad_request("field 'project': project " + p + " does not exist", "project");
      project = row->uuid;
    } else if (role != "admin") {
      throw bad_request("field 'project': required for role " + role, "project");
    }
    if (!who.can_manage_tokens(project)) throw forbidden("token may not create tokens for this project");
    std::string token = random_hex(24);
    t = TokenRow{new_uuid(), sha256_hex(token), project, role};
    st_.insert_token(t);
    return json{{"id", t.id}, {"token", token}, {"project_uuid", project ? json(*project) : json()}, {"role", role}};
  });
  std::unique_lock lk(tokens_mu_);  // the cache follows the committed table
  tokens_[t.token_sha256] = Principal{t.id, t.project, t.role};
  return out;
}

// A credential for one host's agent: it may register that host and follow that host's
// config stream, nothing else (southbound.cpp); only the global admin hands them out.
json ConfigService::create_agent_token(const json& req, const Principal& who) {
  for (auto& [k, v] : req.items())
    if (k != "agent_host") throw bad_request("field '" + k + "': not allowed with agent_host", k);
  if (!req["agent_host"].is_string() || !valid_agent_host(req["agent_host"].get<std::string>()))
    throw bad_request("field 'agent_host': must be a host name (letters, digits, '-', '.', '_')", "agent_host");
  if (!who.global_admin()) throw forbidden("only the global admin may create agent tokens");
  std::string host = req["agent_host"];
  std::string token = random_hex(24);
  TokenRow t{new_uuid(), sha256_hex(token), std::nullopt, "agent:" + host};
  mutate([&] {
    st_.insert_token(t);
    return 0;
  });
  std::unique_lock lk(tokens_mu_);  // the cache follows the committed table
  tokens_[t.token_sha256] = Principal{t.id, t.project, t.role};
  return json{{"id", t.id}, {"token", token}, {"project_uuid", nullptr}, {"role", t.role}, {"agent_host", host}};
}

json ConfigService::list_tokens(const Principal& who) {
  Store& st = reader();
  json out = json::array();
  for (auto& t : st.tokens())
    if (who.can_manage_tokens(t.project))
      out.push_back({{"id", t.id}, {"project_uuid", t.project ? json(*t.project) : json()}, {"role", t.role}});
  return {{"tokens", out}};
}

void ConfigService::delete_token(const std::string& id, const Principal& who) {
  std::string digest;
  {
    std::shared_lock lk(tokens_mu_);
    for (auto& [d, p] : tokens_)
      if (p.token_id == id && who.can_manage_tokens(p.project)) digest = d;
  }
  if (digest.empty()) throw not_found("token " + id + " not found");
  mutate([&] { return st_.delete_token(id); });
  std::unique_lock lk(tokens_mu_);  // the cache follows the committed table
  tokens_.erase(digest);
}

json ConfigService::create_default(const std::string& type, const json& obj, const Principal& admin) {
  auto* t = Schema::get().find(type);
  json fq = obj["fq_name"];
  if (st_.uuid_by_fq(type, join_fq(fq.get<std::vector<std::string>>()))) return nullptr;
  json extra;
  return create_locked(*t, obj, admin, {}, extra);
}

std::optional<std::string> ConfigService::bootstrap() {
  Principal admin{"bootstrap", std::nullopt, "admin"};
  mutate([&] {
    create_default("global-system-config",
                   {{"fq_name", {"default-global-system-config"}},
                    {"autonomous_system", settings_.default_asn},
                    {"encapsulation_priorities", {"MPLSoUDP", "MPLSoGRE", "VXLAN"}}},
                   admin);
    create_default("domain", {{"fq_name", {"default-domain"}}}, admin);
    create_default("project", {{"fq_name", {"default-domain", "default-project"}}}, admin);
    create_default("network-ipam", {{"fq_name", {"default-domain", "default-project", "default-network-ipam"}}}, admin);
    return 0;
  });
  {
    std::shared_lock lk(tokens_mu_);
    if (!tokens_.empty()) return std::nullopt;
  }
  return create_token({{"role", "admin"}}, admin)["token"].get<std::string>();
}

int64_t ConfigService::revision() {
  std::lock_guard lk(watch_mu_);
  return published_rev_;
}

WatchBatch ConfigService::changes_since(int64_t rev, int limit, const Principal& who) {
  Store& st = reader();
  WatchBatch b;
  b.scanned_to = rev;
  // A watcher behind the oldest logged change cannot be replayed: tell it to re-list.
  if (int64_t first = st.first_revision(); first > rev + 1) {
    b.reset = true;
    b.scanned_to = st.last_revision();
    return b;
  }
  for (auto& c : st.changes_since(rev, limit)) {
    b.scanned_to = c.rev;
    if (!who.can_read(c.project)) continue;
    if (!who.global_admin())
      if (auto* t = Schema::get().find(c.type)) {
        json body = json::parse(c.body);
        if (hide_invisible_refs(st, *t, body, who)) c.body = body.dump();
      }
    b.changes.push_back(std::move(c));
  }
  return b;
}

bool ConfigService::wait_for_change(int64_t rev, std::chrono::milliseconds timeout) {
  std::unique_lock lk(watch_mu_);
  watch_cv_.wait_for(lk, timeout, [&] { return stopping_ || published_rev_ > rev; });
  return !stopping_;
}

void ConfigService::stop() {
  std::lock_guard lk(watch_mu_);
  stopping_ = true;
  watch_cv_.notify_all();
}

std::map<std::string, int64_t> ConfigService::object_counts() {
  Store& st = reader();
  std::map<std::string, int64_t> m;
  for (auto& t : Schema::get().types()) m[t.name] = st.count(t.name);
  return m;
}

}  // namespace vrf
