#include "local_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <vector>

namespace vrfabric {

namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path empty or too long: " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

gid_t group_id(const std::string& name) {
  std::vector<char> buf(16384);
  group g{}, *found = nullptr;
  int rc = getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (rc != 0 || !found) throw std::runtime_error(fmt::format("--socket-group: no group named '{}'", name));
  return found->gr_gid;
}

// Something at the path: keep it unless it is a socket nobody listens on.
void clear_stale(const std::string& path, const sockaddr_un& addr) {
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error(fmt::format("cannot inspect {}: {}", path, strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error(fmt::format("{} exists and is not a socket; refusing to replace it", path));
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
  int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(probe);
  if (rc == 0) throw std::runtime_error(fmt::format("{} is in use: another process listens on it", path));
  if (err != ECONNREFUSED)
    throw std::runtime_error(fmt::format("cannot tell whether {} is in use: {}", path, strerror(err)));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    throw std::runtime_error(fmt::format("cannot remove stale socket {}: {}", path, strerror(errno)));
}

}  // namespace

int listen_local_socket(const LocalSocketOptions& opt, int backlog) {
  sockaddr_un addr = unix_address(opt.path);
  std::optional<gid_t> gid;
  if (opt.group) gid = group_id(*opt.group);  // before anything is touched
  clear_stale(opt.path, addr);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
  // bind() creates the file with the umask's mode: make it 0600 from the first instant,
  // then widen to the group only once the group owns it.
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old);
  auto fail = [&](const char* what, int e) {
    close(fd);
    if (what != std::string("bind")) unlink(opt.path.c_str());
    throw std::runtime_error(fmt::format("cannot {} {}: {}", what, opt.path, strerror(e)));
  };
  if (rc != 0) fail("bind", err);
  if (chmod(opt.path.c_str(), 0600) != 0) fail("chmod", errno);
  if (gid) {
    if (chown(opt.path.c_str(), static_cast<uid_t>(-1), *gid) != 0) fail("chown", errno);
    if (chmod(opt.path.c_str(), 0660) != 0) fail("chmod", errno);
  }
  if (listen(fd, backlog) != 0) fail("listen on", errno);
  return fd;
}

}  // namespace vrfabric
