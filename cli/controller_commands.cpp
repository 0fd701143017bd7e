// vrctl commands that talk to vr-controller's REST API. Types, aliases, help and table
// columns all come from the controller's schema table (controller/schema_data.h).
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "commands.h"
#include "controller_client.h"

namespace vrctl {

namespace {

json list_all(Api& api, const TypeSpec& t, const std::string& filter) {
  json items = json::array();
  int64_t marker = 0;
  while (true) {
    json page = api.must(api.get("/" + t.plural + "?detail=true&limit=1000&marker=" + std::to_string(marker) + filter),
                         "list " + t.plural);
    for (auto& o : page[t.plural]) items.push_back(o);
    if (!page.contains("next_marker")) return items;
    marker = page["next_marker"];
  }
}

int cmd_get(Api& api, const Options& o, bool describe) {
  if (o.positional.size() < 2) throw CliError(std::string("usage: vrctl ") + (describe ? "describe" : "get") + " TYPE [NAME...]");
  const TypeSpec& t = type_arg(o.positional[1]);
  json objects = json::array();
  if (o.positional.size() > 2) {
    for (size_t i = 2; i < o.positional.size(); ++i) {
      std::string uuid = api.resolve(t, o.positional[i]);
      objects.push_back(api.must(api.get("/" + t.name + "/" + uuid + (describe ? "" : "?back_refs=false")),
                                 t.name + " " + o.positional[i])[t.name]);
    }
  } else {
    std::string filter;
    if (o.project_given) filter += "&project=" + url_encode(o.project);
    if (!o.tag.empty()) filter += "&tag=" + url_encode(o.tag);
    objects = list_all(api, t, filter);
  }
  // The compile's verdict on policy objects is not part of what was written: describe
  // shows it beside the object (what was left out of the compile, or why it failed).
  static const std::set<std::string> kWithPolicyStatus = {"project", "network-policy", "security-group",
                                                          "firewall-rule"};
  if (describe && kWithPolicyStatus.count(t.name) && !objects.empty()) {
    json status = api.must(api.get("/policy-status"), "policy status");
    for (auto& obj : objects)
      for (auto& p : status.value("problems", json::array()))
        if (p.value("uuid", "") == obj.value("uuid", "")) obj["policy_problems"].push_back(p["message"]);
  }
  // describe shows everything, as YAML unless asked otherwise
  print_objects(t, objects, describe && o.output == "table" ? "yaml" : o.output);
  return 0;
}

// `--set key=value` (value parsed as YAML, so numbers, booleans and lists work) and
// `--ref field=a:b:c` build an object body from the command line.
json body_from_flags(Api& api, const TypeSpec& t, const Options& o) {
  json body = json::object();
  for (auto& s : o.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) throw CliError("--set expects key=value, got '" + s + "'");
    try {
      body[s.substr(0, eq)] = yaml_to_json(YAML::Load(s.substr(eq + 1)));
    } catch (const YAML::Exception& e) {
      throw CliError("--set " + s + ": " + e.what());
    }
  }
  for (auto& r : o.refs) {
    auto eq = r.find('=');
    if (eq == std::string::npos) throw CliError("--ref expects field=name, got '" + r + "'");
    std::string field = r.substr(0, eq), target = r.substr(eq + 1);
    const auto* ref = t.ref(field);
    if (!ref) throw CliError("--ref: " + t.name + " has no reference field '" + field + "'");
    body[field].push_back({{"to", api.default_fq(type_arg(ref->to), target)}});
  }
  return body;
}

int cmd_create(Api& api, const Options& o) {
  if (!o.files.empty()) return apply_files(api, FileMode::create);
  if (o.positional.size() != 3) throw CliError("usage: vrctl create TYPE NAME [--set k=v]... [--ref field=name]... | -f FILE");
  const TypeSpec& t = type_arg(o.positional[1]);
  json body = body_from_flags(api, t, o);
  body["fq_name"] = api.default_fq(t, o.positional[2]);
  try {
    Schema::get().validate_object(t, body, false);
  } catch (const vrf::schema::SchemaError& e) {
    throw CliError(std::string(e.what()));
  }
  std::string query = o.allocate_ip.empty() ? "" : "?allocate_ip=" + o.allocate_ip;
  json out = api.must(api.post("/" + t.plural + query, {{t.name, body}}), "create " + t.name);
  print_objects(t, json::array({out[t.name]}), o.output);
  if (out.contains("instance-ips") && o.output == "table")
    for (auto& ip : out["instance-ips"]) std::cout << "instance-ip " << ip["instance_ip_address"].get<std::string>() << "\n";
  return 0;
}

int cmd_delete(Api& api, const Options& o) {
  if (!o.files.empty()) return apply_files(api, FileMode::remove);
  if (o.positional.size() < 3) throw CliError("usage: vrctl delete TYPE NAME... | -f FILE");
  const TypeSpec& t = type_arg(o.positional[1]);
  for (size_t i = 2; i < o.positional.size(); ++i) {
    std::string uuid = api.resolve(t, o.positional[i]);
    api.must(api.del("/" + t.name + "/" + uuid), "delete " + t.name + " " + o.positional[i]);
    std::cout << t.name << " " << o.positional[i] << " deleted\n";
  }
  return 0;
}

// The editable form of an object: its writable fields only, refs by name.
json editable(const TypeSpec& t, const json& obj) {
  json doc = {{"kind", t.name}, {"fq_name", join_fq(obj["fq_name"])}};
  for (auto& [k, f] : t.props)
    if (obj.contains(k)) doc[k] = obj[k];
  for (auto& r : t.refs) {
    if (!obj.contains(r.field)) continue;
    for (auto& ref : obj[r.field]) {
      json e = {{"to", join_fq(ref["to"])}};
      if (ref.contains("attr")) e["attr"] = ref["attr"];
      doc[r.field].push_back(e);
    }
  }
  return doc;
}

int cmd_edit(Api& api, const Options& o) {
  if (o.positional.size() != 3) throw CliError("usage: vrctl edit TYPE NAME");
  const TypeSpec& t = type_arg(o.positional[1]);
  std::string uuid = api.resolve(t, o.positional[2]);
  json before = editable(t, api.must(api.get("/" + t.name + "/" + uuid + "?back_refs=false"), "get")[t.name]);
  char path[] = "/tmp/vrctl-edit-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  if (fd < 0) throw CliError("cannot create a temporary file");
  std::string text = to_yaml(before);
  if (write(fd, text.data(), text.size()) != ssize_t(text.size())) { close(fd); unlink(path); throw CliError("write failed"); }
  close(fd);
  const char* editor = std::getenv("VISUAL") ? std::getenv("VISUAL") : std::getenv("EDITOR") ? std::getenv("EDITOR") : "vi";
  int rc = std::system((std::string(editor) + " '" + path + "'").c_str());
  json after;
  try {
    after = yaml_to_json(YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    unlink(path);
    throw CliError(std::string("edited file is not valid YAML: ") + e.what());
  }
  unlink(path);
  if (rc != 0) throw CliError("editor exited with status " + std::to_string(rc) + "; nothing changed");
  if (!after.is_object() || after.value("fq_name", json()) != before["fq_name"] || after.value("kind", json()) != t.name)
    throw CliError("kind and fq_name cannot be edited");
  json patch = json::object();
  for (auto& [k, v] : after.items())
    if (k != "kind" && k != "fq_name" && before.value(k, json()) != v) patch[k] = v;
  for (auto& [k, v] : before.items())
    if (!after.contains(k)) patch[k] = nullptr;  // removed in the editor
  if (patch.empty()) {
    std::cout << "no changes\n";
    return 0;
  }
  try {
    Schema::get().validate_object(t, patch, true);
  } catch (const vrf::schema::SchemaError& e) {
    throw CliError(std::string(e.what()));
  }
  api.must(api.put("/" + t.name + "/" + uuid, {{t.name, patch}}), "update " + t.name);
  std::cout << t.name << " " << join_fq(before["fq_name"]) << " updated (" << patch.size() << " fields)\n";
  return 0;
}

int cmd_token(Api& api, const Options& o) {
  std::string sub = o.positional.size() > 1 ? o.positional[1] : "";
  if (sub == "create") {
    json req = {{"role", o.role.empty() ? "member" : o.role}};
    if (o.project_given || req["role"] != "admin") req["project"] = o.project;
    if (!o.agent_host.empty()) {
      if (o.project_given || !o.role.empty()) throw CliError("--agent-host takes neither --project nor --role");
      req = {{"agent_host", o.agent_host}};  // a credential for that host's agent only
    }
    json t = api.must(api.post("/tokens", req), "create token");
    if (o.output == "table") std::cout << t["token"].get<std::string>() << "\n";
    else std::cout << (o.output == "json" ? t.dump(2) + "\n" : to_yaml(t));
    return 0;
  }
  if (sub == "list") {
    json t = api.must(api.get("/tokens"), "list tokens")["tokens"];
    std::vector<std::vector<std::string>> rows = {{"ID", "ROLE", "PROJECT_UUID"}};
    for (auto& e : t) rows.push_back({e["id"], e["role"], e["project_uuid"].is_null() ? "(global)" : e["project_uuid"]});
    if (o.output == "table") print_rows(rows);
    else std::cout << (o.output == "json" ? t.dump(2) + "\n" : to_yaml(t));
    return 0;
  }
  if (sub == "delete" && o.positional.size() == 3) {
    api.must(api.del("/token/" + o.positional[2]), "delete token");
    return 0;
  }
  throw CliError(
      "usage: vrctl token create [--project P] [--role admin|member|reader] | token create --agent-host HOST | token list | "
      "token delete ID");
}

// Follows the change stream (server-sent events) and prints one line per change.
int cmd_watch(const Options& o) {
  auto client = make_client(o);
  httplib::Client& cli = *client;
  cli.set_read_timeout(3600);
  httplib::Headers h = {{"Authorization", "Bearer " + o.token}};
  std::string path = "/watch?";
  if (!o.since.empty()) path += "since=" + o.since + "&";
  if (!o.types.empty()) path += "types=" + o.types;
  std::string buf;
  auto r = cli.Get(path.c_str(), h, [&](const char* data, size_t n) {
    buf.append(data, n);
    for (size_t end; (end = buf.find("\n\n")) != std::string::npos; buf.erase(0, end + 2)) {
      auto d = buf.find("data: ");
      if (d == std::string::npos || d > end) continue;
      json ev = json::parse(buf.substr(d + 6, end - d - 6));
      if (o.output == "json") std::cout << ev.dump() << std::endl;
      else
        std::cout << ev["revision"] << " " << ev["op"].get<std::string>() << " " << ev["type"].get<std::string>() << " "
                  << join_fq(ev["object"]["fq_name"]) << " " << ev["uuid"].get<std::string>() << std::endl;
    }
    return true;
  });
  if (!r) throw CliError("watch: " + transport_error(o, cli, r));
  if (r->status != 200) throw CliError("watch: " + error_text({r->status, json::parse(r->body, nullptr, false)}));
  return 0;
}

int cmd_types() {
  std::vector<std::vector<std::string>> rows = {{"TYPE", "SHORT", "PARENT", "DESCRIPTION"}};
  for (auto& t : Schema::get().types()) {
    std::string parents;
    for (auto& p : t.parents) parents += (parents.empty() ? "" : ",") + (p.empty() ? std::string("(top)") : p);
    rows.push_back({t.name, t.short_name, parents, t.help});
  }
  print_rows(rows);
  return 0;
}

int cmd_explain(const Options& o) {
  if (o.positional.size() != 2) throw CliError("usage: vrctl explain TYPE");
  const TypeSpec& t = type_arg(o.positional[1]);
  std::cout << t.name << " (" << t.plural << ", " << t.short_name << "): " << t.help << "\nproperties:\n";
  for (auto& [k, f] : t.props)
    std::cout << "  " << k << ": " << f.describe() << (f.required ? " (required)" : "") << (f.help.empty() ? "" : "  - " + f.help) << "\n";
  if (!t.refs.empty()) std::cout << "references:\n";
  for (auto& r : t.refs)
    std::cout << "  " << r.field << ": to " << r.to << (r.attr_struct.empty() ? "" : " with attr " + r.attr_struct)
              << (r.required ? " (required)" : "") << (r.single ? " (at most one)" : "") << "\n";
  return 0;
}

}  // namespace

void print_controller_usage() {
  std::puts(
      "usage: vrctl COMMAND ...   talk to vr-controller (REST API)\n"
      "  get TYPE [NAME...] [--tag TYPE=VALUE] [-o table|json|yaml]   list or show objects\n"
      "  describe TYPE NAME...                   everything about an object, with back references\n"
      "  create TYPE NAME [--set k=v]... [--ref field=name]... [--allocate-ip v4|v6|both]\n"
      "  create -f FILE|DIR                      create the objects a YAML file declares\n"
      "  delete TYPE NAME... | delete -f FILE|DIR\n"
      "  edit TYPE NAME                          edit in $EDITOR, send the changed fields\n"
      "  apply -f FILE|DIR [--dry-run] [--prune --project P]   declarative create-or-update\n"
      "  watch [--since REV] [--types a,b]       follow the change stream\n"
      "  token create [--project P] [--role R] | token create --agent-host HOST | token list | token delete ID\n"
      "  types                                   object types (TYPE accepts name, plural or short)\n"
      "  explain TYPE                            fields and references of a type\n"
      "options: --server URL (VRCTL_SERVER), --token T (VRCTL_TOKEN), --project a:b (VRCTL_PROJECT,\n"
      "         default default-domain:default-project); defaults from ~/.config/vrctl/config.yaml\n"
      "         (keys server, token, project, ca, insecure). NAME is a uuid, a full fq_name a:b:c, or a name in the project.\n"
      "         https:// servers: --ca FILE (VRCTL_CA) verifies the controller against that CA (its name or\n"
      "         IP address checked), else against the system's CAs; --insecure skips verification (warned).");
}

int run_controller_command(const Args& args) {
  static const std::map<std::string, int> verbs = {{"get", 0},   {"describe", 1}, {"create", 2}, {"delete", 3},
                                                   {"edit", 4},  {"apply", 5},    {"token", 6},  {"watch", 7},
                                                   {"types", 8}, {"explain", 9}};
  auto v = verbs.find(args[0]);
  if (v == verbs.end()) return -1;
  try {
    Options o = parse_options(args);
    if (v->second == 8) return cmd_types();
    if (v->second == 9) return cmd_explain(o);
    if (v->second == 7) return cmd_watch(o);
    Api api(o);
    switch (v->second) {
      case 0: return cmd_get(api, o, false);
      case 1: return cmd_get(api, o, true);
      case 2: return cmd_create(api, o);
      case 3: return cmd_delete(api, o);
      case 4: return cmd_edit(api, o);
      case 5: return apply_files(api, FileMode::apply);
      default: return cmd_token(api, o);
    }
  } catch (const CliError& e) {
    std::fprintf(stderr, "vrctl: %s\n", e.what());
    return 1;
  }
}

}  // namespace vrctl
