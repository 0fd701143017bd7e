#pragma once
// Files holding secrets (the admin token) and the database: readable by the
// controller's user only.
#include <string>

namespace vrf {

// Writes `content` to `path` with mode 0600, also when the file exists (its mode is
// reset). Refuses a symlink at `path` (O_NOFOLLOW), anything but a regular file, a file
// with other hard links, or one owned by another user: each would hand the secret to
// whoever prepared the path.
void write_private_file(const std::string& path, const std::string& content);

// The same checks and chmod on an existing file at `path`, without writing it; absent
// is fine. Run before a secret is created, so that a bad path fails before the secret
// exists (it could not be shown again).
void prepare_private_file(const std::string& path);

// chmod 0600 of an existing file (the database and its -wal/-shm); absent is fine.
void restrict_to_owner(const std::string& path);

}  // namespace vrf
