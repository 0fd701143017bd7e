#pragma once
// Shared plumbing of the controller commands of vrctl: options (flags, environment,
// ~/.config/vrctl/config.yaml), the HTTP client, name resolution and output formats.
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "controller/schema.h"

namespace httplib {
class Client;
class Result;
}

namespace vrctl {

using json = nlohmann::json;
using vrf::schema::Schema;
using vrf::schema::TypeSpec;

// A failed command: message already says what and where; exit code 1.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string server = "http://127.0.0.1:8082";
  std::string token;
  std::string project = "default-domain:default-project";
  std::string output = "table";  // table | json | yaml
  std::vector<std::string> files;
  std::vector<std::string> sets, refs;
  std::string tag, since, types, role, allocate_ip, agent_host;
  std::string ca;         // https: verify the controller against this CA (else the system's)
  bool insecure = false;  // https: do not verify the controller at all
  bool dry_run = false, prune = false, project_given = false;
  Args positional;
};

// Parses global and command flags; everything else is positional.
Options parse_options(const Args& args);

// A client of o.server: http:// or https:// (verified against --ca, the system's CAs,
// or, with --insecure, not at all: a warning on stderr says so).
std::unique_ptr<httplib::Client> make_client(const Options& o);
// Why a request got no answer, in the user's terms (TLS failures name the remedy).
std::string transport_error(const Options& o, const httplib::Client& c, const httplib::Result& r);

struct Response {
  int status = 0;
  json body;
};

class Api {
 public:
  explicit Api(const Options& o);
  ~Api();
  Response get(const std::string& path);
  Response post(const std::string& path, const json& body);
  Response put(const std::string& path, const json& body);
  Response del(const std::string& path);
  // Like the above but throws CliError with the server's message unless 2xx.
  json must(Response r, const std::string& context);
  // uuid of TYPE NAME (NAME = uuid, a:b:c, or a name under the current project).
  std::optional<std::string> find(const TypeSpec& t, const std::vector<std::string>& fq);
  std::string resolve(const TypeSpec& t, const std::string& name);
  std::vector<std::string> default_fq(const TypeSpec& t, const std::string& name) const;
  std::string project_uuid();
  const Options& opts() const { return o_; }
  std::string server() const { return o_.server; }

 private:
  Response call(const std::string& method, const std::string& path, const json* body);
  Options o_;
  std::unique_ptr<httplib::Client> cli_;
};

const TypeSpec& type_arg(const std::string& name);
std::string error_text(const Response& r);
std::string join_fq(const json& fq);
std::vector<std::string> split_fq(const std::string& s);
std::string url_encode(const std::string& s);

json yaml_to_json(const YAML::Node& n);
std::string to_yaml(const json& j);
// Aligned columns; the first row is the header.
void print_rows(const std::vector<std::vector<std::string>>& rows);
void print_objects(const TypeSpec& t, const json& objects, const std::string& format);

// apply / create -f / delete -f (controller_apply.cpp)
enum class FileMode { apply, create, remove };
int apply_files(Api& api, FileMode mode);

}  // namespace vrctl
