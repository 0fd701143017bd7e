// `vrctl apply -f FILE|DIR`: declarative YAML documents made true on the controller.
//
// Each document is {kind: TYPE, fq_name: a:b:c, <fields of the type>}. Documents are
// validated against the schema before anything is sent, ordered so that parents and
// referenced objects come first, then created or updated (only the declared fields are
// compared, so server-filled values such as allocated VNIs do not count as drift).
// Reference cycles (e.g. two bgp-routers peering) are handled by creating first and
// adding the forward references afterwards. --prune deletes what a project holds but the
// files no longer declare.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "controller_client.h"

namespace vrctl {

namespace {

struct Doc {
  std::string file;
  int index = 0;
  const TypeSpec* t = nullptr;
  std::vector<std::string> fq;
  json body;  // fields to write, fq_name included
  std::string label() const {
    std::string s = file + ": document " + std::to_string(index);
    if (t) s += " (" + t->name + " " + join_fq(json(fq)) + ")";
    return s;
  }
  std::string key() const { return t->name + " " + join_fq(json(fq)); }
};

std::vector<std::string> expand(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (auto& p : paths) {
    if (std::filesystem::is_directory(p)) {
      std::vector<std::string> dir;
      for (auto& e : std::filesystem::directory_iterator(p)) {
        auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) dir.push_back(e.path().string());
      }
      std::sort(dir.begin(), dir.end());
      files.insert(files.end(), dir.begin(), dir.end());
    } else if (std::filesystem::exists(p) || p == "-") {
      files.push_back(p);
    } else {
      throw CliError(p + ": no such file or directory");
    }
  }
  return files;
}

Doc parse_doc(const std::string& file, int index, const YAML::Node& node) {
  Doc d;
  d.file = file;
  d.index = index;
  json j = yaml_to_json(node);
  if (!j.is_object()) throw CliError(d.label() + ": expected a mapping with kind and fq_name");
  if (!j.contains("kind") || !j["kind"].is_string()) throw CliError(d.label() + ": field 'kind': required (an object type)");
  d.t = Schema::get().find(j["kind"]);
  if (!d.t) throw CliError(d.label() + ": field 'kind': unknown type '" + j["kind"].get<std::string>() + "'");
  if (!j.contains("fq_name")) throw CliError(d.label() + ": field 'fq_name': required");
  try {
    d.fq = Schema::fq_from_json(j["fq_name"], "fq_name");
    j.erase("kind");
    j["fq_name"] = d.fq;
    // Refs are written by name in YAML; the server wants lists.
    for (auto& r : d.t->refs)
      if (j.contains(r.field) && j[r.field].is_array())
        for (auto& e : j[r.field])
          if (e.is_object() && e.contains("to")) e["to"] = Schema::fq_from_json(e["to"], r.field + ".to");
    Schema::get().validate_object(*d.t, j, false);
  } catch (const vrf::schema::SchemaError& e) {
    throw CliError(d.label() + ": " + e.what());
  }
  d.body = std::move(j);
  return d;
}

std::vector<Doc> load(const std::vector<std::string>& paths) {
  std::vector<Doc> docs;
  std::set<std::string> seen;
  for (auto& file : expand(paths)) {
    std::vector<YAML::Node> nodes;
    try {
      nodes = file == "-" ? YAML::LoadAll(std::cin) : YAML::LoadAllFromFile(file);
    } catch (const YAML::Exception& e) {
      throw CliError(file + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    int index = 0;
    for (auto& n : nodes) {
      ++index;
      if (n.IsNull()) continue;
      Doc d = parse_doc(file, index, n);
      if (!seen.insert(d.key()).second) throw CliError(d.label() + ": declared twice");
      docs.push_back(std::move(d));
    }
  }
  if (docs.empty()) throw CliError("no documents found in the given files");
  return docs;
}

// Objects a document needs first: its parent and everything it references, when those
// are declared in the same files (others must already exist on the server).
std::vector<size_t> deps_of(const Doc& d, const std::map<std::string, size_t>& by_key) {
  std::vector<size_t> deps;
  auto add = [&](const std::string& type, const json& fq) {
    auto it = by_key.find(type + " " + join_fq(fq));
    if (it != by_key.end()) deps.push_back(it->second);
  };
  if (d.fq.size() > 1)
    for (auto& p : d.t->parents)
      if (!p.empty()) add(p, json(std::vector<std::string>(d.fq.begin(), d.fq.end() - 1)));
  for (auto& r : d.t->refs)
    if (d.body.contains(r.field))
      for (auto& e : d.body[r.field])
        if (e.contains("to")) add(r.to, e["to"]);
  return deps;
}

// Declaration order, except that dependencies go first; cycles are broken in
// declaration order (their forward references are set in a second pass).
std::vector<size_t> order(const std::vector<Doc>& docs) {
  std::map<std::string, size_t> by_key;
  for (size_t i = 0; i < docs.size(); ++i) by_key[docs[i].key()] = i;
  std::vector<int> state(docs.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<size_t> out;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (state[i]) return;
    state[i] = 1;
    for (size_t d : deps_of(docs[i], by_key)) visit(d);
    state[i] = 2;
    out.push_back(i);
  };
  for (size_t i = 0; i < docs.size(); ++i) visit(i);
  return out;
}

// Declared value `want` is satisfied by stored value `have` if every declared key
// matches recursively (lists element by element); keys only the server set are ignored.
bool satisfied(const json& want, const json& have) {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (auto& [k, v] : want.items())
      if (!have.contains(k) ? !v.is_null() : !satisfied(v, have[k])) return false;
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
      if (!satisfied(want[i], have[i])) return false;
    return true;
  }
  return want == have;
}

struct Counts {
  int created = 0, updated = 0, unchanged = 0, deleted = 0;
};

class Applier {
 public:
  Applier(Api& api, std::vector<Doc> docs) : api_(api), docs_(std::move(docs)), dry_(api.opts().dry_run) {}

  void apply(bool create_only) {
    std::vector<std::pair<size_t, json>> deferred;  // forward references set after creation
    for (size_t i : order(docs_)) {
      const Doc& d = docs_[i];
      auto uuid = api_.find(*d.t, d.fq);
      if (!uuid) {
        json body = d.body, later = json::object();
        for (auto& r : d.t->refs) {
          if (!body.contains(r.field)) continue;
          json keep = json::array();
          for (auto& e : body[r.field]) (pending_ref(r.to, e) ? later[r.field] : keep).push_back(e);
          if (later.contains(r.field)) { later[r.field] = body[r.field]; body[r.field] = keep; }
        }
        std::cout << "+ create " << d.t->name << " " << join_fq(json(d.fq)) << "\n";
        if (!dry_) expect(api_.post("/" + d.t->plural, {{d.t->name, body}}), d);
        created_.insert(d.key());
        if (!later.empty()) deferred.emplace_back(i, later);
        ++counts_.created;
        continue;
      }
      if (create_only) throw CliError(d.label() + ": already exists (uuid " + *uuid + ")");
      json have = api_.must(api_.get("/" + d.t->name + "/" + *uuid + "?back_refs=false"), d.label())[d.t->name];
      json patch = json::object();
      for (auto& [k, v] : d.body.items())
        if (k != "fq_name" && !satisfied(v, have.value(k, json()))) patch[k] = v;
      if (patch.empty()) {
        std::cout << "= unchanged " << d.t->name << " " << join_fq(json(d.fq)) << "\n";
        ++counts_.unchanged;
        continue;
      }
      std::cout << "~ update " << d.t->name << " " << join_fq(json(d.fq)) << "\n";
      for (auto& [k, v] : patch.items())
        std::cout << "    " << k << ": " << have.value(k, json()).dump() << " -> " << v.dump() << "\n";
      if (!dry_) expect(api_.put("/" + d.t->name + "/" + *uuid, {{d.t->name, patch}}), d);
      ++counts_.updated;
    }
    for (auto& [i, refs] : deferred) {
      const Doc& d = docs_[i];
      if (dry_) continue;
      auto uuid = api_.find(*d.t, d.fq);
      expect(api_.put("/" + d.t->name + "/" + *uuid, {{d.t->name, refs}}), d);
    }
  }

  void remove_declared() {
    auto ord = order(docs_);
    std::vector<std::pair<std::string, std::string>> targets;  // type, fq
    for (auto it = ord.rbegin(); it != ord.rend(); ++it)
      targets.emplace_back(docs_[*it].t->name, join_fq(json(docs_[*it].fq)));
    delete_all(targets);
  }

  // Deletes everything the project owns that no document declares.
  void prune(const std::string& project_fq) {
    std::string project = api_.resolve(*Schema::get().find("project"), project_fq);
    std::set<std::string> declared;
    for (auto& d : docs_) declared.insert(d.key());
    std::vector<std::pair<std::string, std::string>> targets;
    for (auto& t : Schema::get().types()) {
      if (t.name == "project") continue;
      json page = api_.must(api_.get("/" + t.plural + "?limit=10000&project=" + project), "list " + t.plural);
      for (auto& o : page[t.plural]) {
        std::string fq = join_fq(o["fq_name"]);
        if (!declared.count(t.name + " " + fq)) targets.emplace_back(t.name, fq);
      }
    }
    delete_all(targets);
  }

  const Counts& counts() const { return counts_; }

 private:
  // A reference to an object declared here that does not exist yet (a cycle).
  bool pending_ref(const std::string& type, const json& e) {
    if (!e.contains("to")) return false;
    std::string key = type + " " + join_fq(e["to"]);
    if (created_.count(key)) return false;
    for (auto& d : docs_)
      if (d.key() == key) return !api_.find(*d.t, d.fq);
    return false;
  }

  void expect(Response r, const Doc& d) {
    if (r.status >= 200 && r.status < 300) return;
    throw CliError(d.label() + ": " + error_text(r));
  }

  // Referrers must go before what they reference; rather than re-deriving the graph from
  // the server, retry refused (409) deletions until a round makes no progress.
  void delete_all(std::vector<std::pair<std::string, std::string>> targets) {
    while (!targets.empty()) {
      std::vector<std::pair<std::string, std::string>> retry;
      std::string last_error;
      for (auto& [type, fq] : targets) {
        const TypeSpec& t = *Schema::get().find(type);
        auto uuid = api_.find(t, split_fq(fq));
        if (!uuid) continue;
        std::cout << "- delete " << type << " " << fq << "\n";
        if (dry_) { ++counts_.deleted; continue; }
        Response r = api_.del("/" + type + "/" + *uuid);
        if (r.status == 409) { retry.emplace_back(type, fq); last_error = error_text(r); continue; }
        api_.must(r, "delete " + type + " " + fq);
        ++counts_.deleted;
      }
      if (retry.size() == targets.size()) throw CliError("cannot delete: " + last_error);
      targets = std::move(retry);
    }
  }

  Api& api_;
  std::vector<Doc> docs_;
  bool dry_;
  Counts counts_;
  std::set<std::string> created_;
};

}  // namespace

int apply_files(Api& api, FileMode mode) {
  const Options& o = api.opts();
  if (o.files.empty()) throw CliError("-f FILE|DIR is required");
  if (o.prune && !o.project_given) throw CliError("--prune needs --project PROJECT (the scope to prune)");
  if (o.prune && mode != FileMode::apply) throw CliError("--prune applies to apply only");
  Applier a(api, load(o.files));
  if (mode == FileMode::remove) a.remove_declared();
  else a.apply(mode == FileMode::create);
  if (o.prune) a.prune(o.project);
  auto& c = a.counts();
  std::cout << (o.dry_run ? "dry run: " : "") << c.created << " created, " << c.updated << " updated, " << c.unchanged
            << " unchanged, " << c.deleted << " deleted\n";
  return 0;
}

}  // namespace vrctl
