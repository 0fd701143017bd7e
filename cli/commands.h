#pragma once
// Command families of vrctl. main.cpp dispatches on the first word; each family parses
// the rest of the arguments itself and returns the process exit code.
#include <string>
#include <vector>

namespace vrctl {
using Args = std::vector<std::string>;

// `vrctl agent ...`: the node agent's local API on its unix socket (agent_commands.cpp).
int run_agent_command(const Args& args);
// Everything else (`get`, `describe`, `create`, `delete`, `edit`, `apply`, ...): the
// controller's REST API (controller_commands.cpp). Returns -1 if the verb is unknown.
int run_controller_command(const Args& args);
void print_controller_usage();
}  // namespace vrctl
