#include "controller/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vrf {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("cannot write " + path + ": " + why);
}

// Opens `path` for writing and makes it private, refusing what would leak the secret;
// -1 with errno ENOENT when it does not exist and `create` is false.
int open_private(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (create ? O_CREAT : 0), 0600);
  if (fd < 0 && errno == ENOENT && !create) return -1;
  if (fd < 0) fail(path, errno == ELOOP ? "it is a symbolic link" : std::strerror(errno));
  struct stat st{};
  std::string err;
  if (fstat(fd, &st) != 0) err = std::strerror(errno);
  else if (!S_ISREG(st.st_mode)) err = "not a regular file";
  else if (st.st_nlink > 1) err = "it has other hard links";
  else if (st.st_uid != geteuid()) err = "owned by another user";
  else if (fchmod(fd, 0600) != 0) err = std::strerror(errno);
  if (!err.empty()) {
    ::close(fd);
    fail(path, err);
  }
  return fd;
}

}  // namespace

void prepare_private_file(const std::string& path) {
  int fd = open_private(path, false);
  if (fd >= 0) ::close(fd);
}

void write_private_file(const std::string& path, const std::string& content) {
  int fd = open_private(path, true);
  std::string err, line = content + "\n";
  if (ftruncate(fd, 0) != 0) err = std::strerror(errno);
  for (size_t off = 0; err.empty() && off < line.size();) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n < 0 && errno != EINTR) err = std::strerror(errno);
    if (n > 0) off += size_t(n);
  }
  if (::close(fd) != 0 && err.empty()) err = std::strerror(errno);
  if (!err.empty()) fail(path, err);
}

void restrict_to_owner(const std::string& path) {
  if (::chmod(path.c_str(), 0600) != 0 && errno != ENOENT)
    throw std::runtime_error("cannot chmod 0600 " + path + ": " + std::strerror(errno));
}

}  // namespace vrf
