#include <cstdio>
#include "commands.h"

static void usage() {
  std::puts("usage: vrctl agent [--socket PATH] <command> ...   talk to a node agent (vrctl agent help)");
  vrctl::print_controller_usage();
}

int main(int argc, char** argv) {
  vrctl::Args args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "agent") return vrctl::run_agent_command(vrctl::Args(args.begin() + 1, args.end()));
  int rc = vrctl::run_controller_command(args);
  if (rc == -1) {
    std::fprintf(stderr, "vrctl: unknown command '%s'\n", args[0].c_str());
    usage();
    return 2;
  }
  return rc;
}
