// vr-policyc: compile a policy YAML file and print the forwarder's tables.
#include <fstream>
#include <iostream>
#include <sstream>

#include "vrfabric/policy/compiler.h"
#include "vrfabric/policy/report.h"
#include "vrfabric/policy/yaml.h"

namespace {
const char* kUsage =
    "usage: vr-policyc FILE.yaml [--format text|json]\n"
    "Compiles network policies, security groups and application policy sets (controller\n"
    "object model, as `vrctl apply -f` takes it) into endpoint groups and the rule table the\n"
    "forwarder evaluates, and prints them. Exit status: 0 ok, 1 invalid input, 2 usage.\n";
}

int main(int argc, char** argv) {
  std::string file, format = "text";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--format" && i + 1 < argc) {
      format = argv[++i];
    } else if (a.rfind("--format=", 0) == 0) {
      format = a.substr(9);
    } else if (file.empty() && a.rfind("-", 0) != 0) {
      file = a;
    } else {
      std::cerr << "vr-policyc: unexpected argument " << a << "\n" << kUsage;
      return 2;
    }
  }
  if (file.empty() || (format != "text" && format != "json")) {
    std::cerr << kUsage;
    return 2;
  }
  std::ifstream in(file);
  if (!in) {
    std::cerr << "vr-policyc: cannot read " << file << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto compiled = vrfabric::policy::compile(vrfabric::policy::read_policy_yaml(text.str()));
    if (format == "json")
      std::cout << vrfabric::policy::to_json(compiled).dump(2) << "\n";
    else
      std::cout << vrfabric::policy::format_text(compiled);
  } catch (const vrfabric::policy::PolicyError& e) {
    std::cerr << "vr-policyc: " << file << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
