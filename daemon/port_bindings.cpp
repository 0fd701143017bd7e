#include "port_bindings.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent_state.h"

namespace vrfabric {

namespace {

using json = nlohmann::json;

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// Namespace and interface names become paths (/run/netns/NAME) and netlink names: no
// slashes, no dot names, nothing a shell or the kernel would read differently.
void check_name(const std::string& what, const std::string& s, size_t max) {
  bool ok = !s.empty() && s.size() <= max && s != "." && s != "..";
  for (char c : s) ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  if (!ok)
    throw AgentError(fmt::format("{} '{}' is not a valid name (1-{} of letters, digits, '-', '_', '.')", what, s, max));
}

}  // namespace

PortBindings::PortBindings(std::string file) : file_(std::move(file)) {
  if (file_.empty()) return;
  int fd = open(file_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) throw AgentError(fmt::format("cannot read port bindings {}: {}", file_, strerror(errno)));
    return;
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
  close(fd);
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) {
    spdlog::error("port bindings {} are not a JSON object: starting without them", file_);
    return;
  }
  for (auto& [uuid, b] : j.items()) {
    try {
      attach(uuid, {b.at("netns").get<std::string>(), b.value("ifname", "eth0")});
    } catch (const std::exception& e) {
      spdlog::error("port bindings {}: {} left out: {}", file_, uuid, e.what());
    }
  }
}

void PortBindings::attach(const std::string& uuid, const PortBinding& b) {
  if (!is_uuid(uuid)) throw AgentError(fmt::format("'{}' is not a port uuid", uuid));
  check_name("namespace", b.netns, 64);
  check_name("interface", b.ifname, 15);
  for (auto& [other, ob] : ports_)
    if (other != uuid && ob == b) {
      spdlog::warn("refused to attach port {} to {}/{}: port {} is attached there", uuid, b.netns, b.ifname, other);
      throw AgentError(fmt::format("namespace '{}' already holds {} of another port", b.netns, b.ifname));
    }
  if (auto it = ports_.find(uuid); it != ports_.end() && it->second == b) return;
  ports_[uuid] = b;
  save();
}

bool PortBindings::detach(const std::string& uuid) {
  if (!ports_.erase(uuid)) return false;
  save();
  return true;
}

const PortBinding* PortBindings::find(const std::string& uuid) const {
  auto it = ports_.find(uuid);
  return it == ports_.end() ? nullptr : &it->second;
}

// Written whole to a new file and renamed over the old one: a crash leaves either.
void PortBindings::save() const {
  if (file_.empty()) return;
  json j = json::object();
  for (auto& [uuid, b] : ports_) j[uuid] = {{"netns", b.netns}, {"ifname", b.ifname}};
  std::string text = j.dump(1) + "\n", tmp = file_ + ".new";
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw AgentError(fmt::format("cannot write port bindings {}: {}", tmp, strerror(errno)));
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), file_.c_str()) != 0)
    throw AgentError(fmt::format("cannot write port bindings {}: {}", file_, strerror(errno)));
}

}  // namespace vrfabric
