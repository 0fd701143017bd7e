#include "controller_client.h"

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>


namespace vrctl {

namespace {

// Options that take a value, and boolean switches.
struct Flag {
  const char* name;
  std::string Options::*value;
};
const Flag kValueFlags[] = {
    {"--server", &Options::server}, {"--token", &Options::token}, {"--project", &Options::project},
    {"-p", &Options::project},      {"--output", &Options::output}, {"-o", &Options::output},
    {"--tag", &Options::tag},       {"--since", &Options::since},   {"--types", &Options::types},
    {"--role", &Options::role},     {"--allocate-ip", &Options::allocate_ip},
    {"--ca", &Options::ca},
    {"--agent-host", &Options::agent_host},
};

void load_config_file(Options& o) {
  const char* home = std::getenv("HOME");
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  std::string path = xdg ? std::string(xdg) + "/vrctl/config.yaml" : home ? std::string(home) + "/.config/vrctl/config.yaml" : "";
  if (path.empty() || !std::filesystem::exists(path)) return;
  YAML::Node y;
  try {
    y = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw CliError(path + ": " + e.what());
  }
  if (y["server"]) o.server = y["server"].as<std::string>();
  if (y["token"]) o.token = y["token"].as<std::string>();
  if (y["project"]) o.project = y["project"].as<std::string>();
  if (y["ca"]) o.ca = y["ca"].as<std::string>();
  if (y["insecure"]) o.insecure = y["insecure"].as<bool>();
}

bool is_https(const std::string& url) { return url.rfind("https://", 0) == 0; }

}  // namespace

Options parse_options(const Args& args) {
  Options o;
  load_config_file(o);  // lowest precedence, then environment, then flags
  if (const char* s = std::getenv("VRCTL_SERVER")) o.server = s;
  if (const char* t = std::getenv("VRCTL_TOKEN")) o.token = t;
  if (const char* p = std::getenv("VRCTL_PROJECT")) o.project = p;
  if (const char* c = std::getenv("VRCTL_CA")) o.ca = c;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw CliError(a + " needs a value");
      return args[++i];
    };
    bool matched = false;
    for (auto& f : kValueFlags)
      if (a == f.name) {
        o.*(f.value) = value();
        matched = true;
        o.project_given |= f.value == &Options::project;
      }
    if (matched) continue;
    if (a == "-f" || a == "--filename") o.files.push_back(value());
    else if (a == "--set") o.sets.push_back(value());
    else if (a == "--ref") o.refs.push_back(value());
    else if (a == "--dry-run") o.dry_run = true;
    else if (a == "--prune") o.prune = true;
    else if (a == "--insecure") o.insecure = true;
    else if (a.size() > 1 && a[0] == '-' && a != "-") throw CliError("unknown option " + a);
    else o.positional.push_back(a);
  }
  if (o.output != "table" && o.output != "json" && o.output != "yaml")
    throw CliError("-o must be table, json or yaml");
  while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
  return o;
}

std::unique_ptr<httplib::Client> make_client(const Options& o) {
  bool https = is_https(o.server);
  if (!https && (!o.ca.empty() || o.insecure))
    throw CliError(std::string(o.insecure ? "--insecure" : "--ca") + " needs an https:// server URL (got " + o.server + ")");
  if (!o.ca.empty() && o.insecure) throw CliError("--ca and --insecure contradict each other: give one");
  if (!o.ca.empty() && ::access(o.ca.c_str(), R_OK) != 0)
    throw CliError("--ca " + o.ca + ": " + std::strerror(errno));
  std::unique_ptr<httplib::Client> c;
  try {
    c = std::make_unique<httplib::Client>(o.server);
  } catch (const std::exception& e) {
    throw CliError("bad server URL " + o.server + ": " + e.what());
  }
  if (!c->is_valid()) throw CliError("bad server URL " + o.server);
  if (https) {
    SSL_CTX_set_min_proto_version(c->ssl_context(), TLS1_2_VERSION);
    if (o.insecure) {
      std::cerr << "vrctl: warning: --insecure: the controller's certificate is not verified; "
                   "anyone on the path can read and change this session, token included\n";
      c->enable_server_certificate_verification(false);
    } else {
      c->enable_server_certificate_verification(true);
      if (!o.ca.empty()) c->set_ca_cert_path(o.ca);
    }
  }
  return c;
}

std::string transport_error(const Options& o, const httplib::Client& c, const httplib::Result& r) {
  std::string where = "cannot reach controller at " + o.server + ": ";
  switch (r.error()) {
    case httplib::Error::SSLServerVerification: {
      long v = c.get_openssl_verify_result();
      if (v == X509_V_OK)  // the chain is trusted; the name is not in it
        return where + "TLS certificate verification failed (the certificate does not name this host or address: "
                       "use a name or IP address from its subjectAltName)";
      return where + "TLS certificate verification failed (" + X509_verify_cert_error_string(v) + "); " +
             (o.ca.empty() ? "give the CA that signed it with --ca FILE" : "is --ca " + o.ca + " the CA that signed it?") +
             " (or skip verification with --insecure)";
    }
    case httplib::Error::SSLConnection:
      return where + "TLS handshake failed (does it serve https on this port?)";
    case httplib::Error::SSLLoadingCerts:
      return where + "cannot load CA certificates" + (o.ca.empty() ? std::string() : " from " + o.ca);
    default:
      return where + httplib::to_string(r.error());
  }
}

Api::Api(const Options& o) : o_(o) {
  cli_ = make_client(o);
  cli_->set_keep_alive(true);
  cli_->set_tcp_nodelay(true);
  cli_->set_connection_timeout(5);
  cli_->set_read_timeout(60);
  if (!o.token.empty()) cli_->set_bearer_token_auth(o.token.c_str());
}

Api::~Api() = default;

Response Api::call(const std::string& method, const std::string& path, const json* body) {
  httplib::Result r = method == "GET"    ? cli_->Get(path.c_str())
                      : method == "DELETE" ? cli_->Delete(path.c_str())
                      : method == "PUT"    ? cli_->Put(path.c_str(), body->dump(), "application/json")
                                           : cli_->Post(path.c_str(), body->dump(), "application/json");
  if (!r) throw CliError(transport_error(o_, *cli_, r));
  Response out{r->status, nullptr};
  if (!r->body.empty()) {
    try {
      out.body = json::parse(r->body);
    } catch (const json::exception&) {
      out.body = r->body;
    }
  }
  return out;
}

Response Api::get(const std::string& p) { return call("GET", p, nullptr); }
Response Api::post(const std::string& p, const json& b) { return call("POST", p, &b); }
Response Api::put(const std::string& p, const json& b) { return call("PUT", p, &b); }
Response Api::del(const std::string& p) { return call("DELETE", p, nullptr); }

std::string error_text(const Response& r) {
  if (r.body.is_object() && r.body.contains("error")) return r.body["error"].value("message", "error");
  if (r.status == 401) return "unauthorized (set --token, VRCTL_TOKEN or token: in ~/.config/vrctl/config.yaml)";
  return "HTTP " + std::to_string(r.status);
}

json Api::must(Response r, const std::string& context) {
  if (r.status >= 200 && r.status < 300) return r.body;
  throw CliError(context + ": " + error_text(r));
}

std::vector<std::string> Api::default_fq(const TypeSpec& t, const std::string& name) const {
  if (name.find(':') != std::string::npos) return split_fq(name);
  bool project_child = false;
  for (auto& p : t.parents) project_child |= p == "project";
  if (project_child) {  // (a top-level tag or policy is addressed by uuid)
    auto fq = split_fq(o_.project);
    fq.push_back(name);
    return fq;
  }
  if (t.allows_top_level()) return {name};
  if (t.name == "project") return {"default-domain", name};
  throw CliError("a " + t.name + " lives under a " + t.parents[0] + ": give its full name (a:b:...:" + name + ")");
}

std::optional<std::string> Api::find(const TypeSpec& t, const std::vector<std::string>& fq) {
  Response r = post("/fqname-to-id", {{"type", t.name}, {"fq_name", fq}});
  if (r.status == 404) return std::nullopt;
  return must(r, t.name + " " + join_fq(fq))["uuid"].get<std::string>();
}

std::string Api::resolve(const TypeSpec& t, const std::string& name) {
  if (Schema::valid_uuid(name)) return name;
  auto fq = default_fq(t, name);
  auto u = find(t, fq);
  if (!u) throw CliError(t.name + " " + join_fq(fq) + " not found");
  return *u;
}

std::string Api::project_uuid() { return resolve(type_arg("project"), o_.project); }

const TypeSpec& type_arg(const std::string& name) {
  if (auto* t = Schema::get().find(name)) return *t;
  throw CliError("unknown type '" + name + "' (see: vrctl types)");
}

std::string join_fq(const json& fq) {
  std::string s;
  for (auto& n : fq) s += (s.empty() ? "" : ":") + n.get<std::string>();
  return s;
}

std::vector<std::string> split_fq(const std::string& s) {
  try {
    return Schema::fq_from_json(json(s), "fq_name");
  } catch (const std::exception& e) {
    throw CliError(e.what());
  }
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') out += char(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// YAML scalars carry no type; a plain (unquoted) scalar that reads as a boolean, an
// integer or null is taken as such, anything quoted stays a string.
json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      if (!s.empty() && s.find_first_not_of("-0123456789") == std::string::npos && s.size() < 19 &&
          s.find('-', 1) == std::string::npos && s != "-")
        return std::stoll(s);
      return s;
    }
  }
  return nullptr;
}

namespace {
void emit(YAML::Emitter& e, const json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      emit(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    // fq_names and short scalar lists read best inline
    bool flat = !j.empty() && j.size() <= 8 && std::all_of(j.begin(), j.end(), [](auto& v) { return v.is_primitive(); });
    e << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (auto& v : j) emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    std::string s = j.get<std::string>();
    // Quote strings that would otherwise read back as another type.
    bool ambiguous = s.empty() || s == "true" || s == "false" || s == "null" || s == "~" ||
                     s.find_first_not_of("-+.0123456789eE") == std::string::npos;
    if (ambiguous) e << YAML::DoubleQuoted;
    e << s;
  } else if (j.is_null()) {
    e << YAML::Null;
  } else if (j.is_boolean()) {
    e << j.get<bool>();
  } else if (j.is_number_integer()) {
    e << j.get<int64_t>();
  } else {
    e << j.dump();
  }
}
}  // namespace

std::string to_yaml(const json& j) {
  YAML::Emitter e;
  emit(e, j);
  return std::string(e.c_str()) + "\n";
}

void print_objects(const TypeSpec& t, const json& objects, const std::string& format) {
  if (format == "json") {
    std::cout << objects.dump(2) << "\n";
    return;
  }
  if (format == "yaml") {
    std::cout << to_yaml(objects);
    return;
  }
  // Table columns come from the schema: the name, then every scalar (or list of
  // scalars) property some row has, in schema order, then the uuid.
  if (objects.empty()) {
    std::cout << "No " << t.plural << " found.\n";
    return;
  }
  std::vector<std::string> cols = {"fq_name"};
  for (auto& [k, f] : t.props) {
    bool scalar = f.kind != "struct" && f.kind != "json" && (f.kind != "list" || f.elem->kind != "struct");
    bool present = std::any_of(objects.begin(), objects.end(), [&](auto& o) { return o.contains(k); });
    if (scalar && present) cols.push_back(k);
  }
  cols.push_back("uuid");
  std::vector<std::vector<std::string>> rows(1);
  for (auto& c : cols) {
    std::string h = c;
    for (auto& ch : h) ch = char(toupper(ch));
    rows[0].push_back(h);
  }
  for (auto& o : objects) {
    rows.emplace_back();
    for (auto& c : cols) {
      json v = c == "fq_name" ? json(join_fq(o["fq_name"])) : o.value(c, json());
      std::string cell = v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump();
      if (v.is_array()) {
        cell.clear();
        for (auto& e : v) cell += (cell.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
      }
      rows.back().push_back(cell);
    }
  }
  print_rows(rows);
}

void print_rows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i)
      std::cout << r[i] << (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "\n");
}

}  // namespace vrctl
