#pragma once
// The listening unix socket of the local API, created with an explicit mode: whoever can
// connect to it configures the forwarder, so the umask must not decide who that is.
#include <optional>
#include <string>

namespace vrfabric {

struct LocalSocketOptions {
  std::string path;
  // nullopt: mode 0600 (the agent's user only); a group name: 0660, owned by that group.
  std::optional<std::string> group;
};

// Binds and listens (non-blocking, close-on-exec). Refuses to replace anything at the path
// that is not a socket, and a socket something still listens on (another agent); a stale
// socket (connection refused) is removed. Throws std::runtime_error saying which.
int listen_local_socket(const LocalSocketOptions& opt, int backlog);

}  // namespace vrfabric
