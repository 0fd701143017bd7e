#pragma once
// Who is calling and what they may touch. A token is either the global admin (no
// project) or bound to one project with a role:
//   admin  - read/write the project's objects, update the project, manage its tokens
//   member - read/write the project's objects
//   reader - read the project's objects
// Everybody authenticated may read global objects (domains, global config, global tags,
// bgp-routers); only the global admin writes them. Objects of other projects are
// invisible: they answer 404 exactly as if they did not exist.
// An agent token (role "agent:HOST", no project) is none of these: it may only register
// HOST and read HOST's config stream (southbound.cpp); every other route refuses it.
#include <optional>
#include <string>

namespace vrf {

struct Principal {
  std::string token_id;
  std::optional<std::string> project;  // nullopt = global admin
  std::string role;                    // admin | member | reader

  bool global_admin() const { return !project && role == "admin"; }
  // The host an agent token belongs to, or nullopt for every other token.
  std::optional<std::string> agent_host() const {
    if (project || role.rfind("agent:", 0) != 0) return std::nullopt;
    return role.substr(6);
  }
  bool can_read(const std::optional<std::string>& owner) const {
    return global_admin() || (project && (!owner || *owner == *project));
  }
  bool can_write(const std::optional<std::string>& owner, bool is_project_object = false) const {
    if (global_admin()) return true;
    if (!project || !owner || *owner != *project) return false;
    return is_project_object ? role == "admin" : (role == "admin" || role == "member");
  }
  bool can_manage_tokens(const std::optional<std::string>& for_project) const {
    return global_admin() || (for_project && project == for_project && role == "admin");
  }
};

inline bool valid_role(const std::string& r) { return r == "admin" || r == "member" || r == "reader"; }

}  // namespace vrf
