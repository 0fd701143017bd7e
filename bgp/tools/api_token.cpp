#include "api_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include "controller/secret_file.h"

namespace vrfabric::bgp::daemon {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw std::runtime_error("API token file " + path + ": " + why);
}

// -1 when nothing is at the path.
int openToken(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return -1;
  if (fd < 0) refuse(path, errno == ELOOP ? "it is a symbolic link" : std::strerror(errno));
  return fd;
}

std::string readFrom(int fd, const std::string& path) {
  struct stat st{};
  std::string err;
  if (fstat(fd, &st) != 0) err = std::strerror(errno);
  else if (!S_ISREG(st.st_mode)) err = "not a regular file";
  else if (st.st_uid != geteuid()) err = "owned by another user";
  else if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    err = std::string("readable by group or others (mode ") + mode + "); chmod 600 it";
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; err.empty() && text.size() < 65536 && (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno != EINTR) err = std::strerror(errno);
      continue;
    }
    text.append(buf, size_t(n));
  }
  ::close(fd);
  if (!err.empty()) refuse(path, err);
  text = text.substr(0, text.find_first_of("\r\n"));
  if (text.empty()) refuse(path, "empty");
  return text;
}

std::string randomToken() {
  std::random_device rd;  // the kernel's getrandom()
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += hex[rd() & 15];
  return out;
}

}  // namespace

std::string readApiToken(const std::string& path) {
  int fd = openToken(path);
  if (fd < 0) refuse(path, "does not exist");
  return readFrom(fd, path);
}

std::string loadOrCreateApiToken(const std::string& path) {
  int fd = openToken(path);
  if (fd >= 0) return readFrom(fd, path);
  std::string token = randomToken();
  vrf::write_private_file(path, token);
  return token;
}

bool sameToken(const std::string& a, const std::string& b) {
  unsigned diff = a.size() != b.size();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= unsigned(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace vrfabric::bgp::daemon
