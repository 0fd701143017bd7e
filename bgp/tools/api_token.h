// The bearer token of vr-bgpd's HTTP API, kept in a file only its owner can read.
#pragma once

#include <string>

namespace vrfabric::bgp::daemon {

// The token in `path` (its first line). Refuses a symlink (O_NOFOLLOW), anything but a
// regular file, a file another user owns, and one the group or others may read: such a
// token is already known to whoever else can read it. Throws std::runtime_error.
std::string readApiToken(const std::string& path);

// readApiToken, or, when nothing is at `path`, a fresh random token written there 0600.
std::string loadOrCreateApiToken(const std::string& path);

// Compares in time independent of where the strings differ.
bool sameToken(const std::string& a, const std::string& b);

}  // namespace vrfabric::bgp::daemon
