#pragma once
// Which workload namespace each port is plugged into. Only the host's runtime (the CNI
// plugin, the VM launcher) knows where a workload lives, and it says so over the local API
// for the port's uuid (`port.attach`): the controller's snapshot names ports, never
// namespaces, so nothing a tenant names (a VM's name, a port's name) can steer its veth
// into another tenant's workload. A namespace holds at most one port per interface name.
// Bindings are kept in a file (mode 0600) so that a restarted agent adopts its veths.
#include <map>
#include <string>

namespace vrfabric {

struct PortBinding {
  std::string netns;            // /run/netns/NAME
  std::string ifname = "eth0";  // the interface's name inside it
  bool operator==(const PortBinding&) const = default;
};

class PortBindings {
 public:
  // Loads `file` when it exists; an empty path keeps bindings in memory only.
  explicit PortBindings(std::string file = {});
  // Throws AgentError: a malformed uuid or name, or a namespace interface another port holds.
  void attach(const std::string& uuid, const PortBinding& b);
  bool detach(const std::string& uuid);
  const PortBinding* find(const std::string& uuid) const;
  const std::map<std::string, PortBinding>& all() const { return ports_; }

 private:
  std::string file_;
  std::map<std::string, PortBinding> ports_;
  void save() const;
};

}  // namespace vrfabric
