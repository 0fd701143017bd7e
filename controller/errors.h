#pragma once
// The one error type the service layer throws; the REST layer turns it into
// {"error": {"status", "message", "field"}} with the given HTTP status.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace vrf {

struct ApiError : std::runtime_error {
  int status;
  std::string field;
  nlohmann::json details;
  ApiError(int st, const std::string& msg, std::string f = {}, nlohmann::json d = nullptr)
      : std::runtime_error(msg), status(st), field(std::move(f)), details(std::move(d)) {}
};

inline ApiError bad_request(const std::string& m, const std::string& f = {}) { return {400, m, f}; }
inline ApiError not_found(const std::string& m) { return {404, m}; }
inline ApiError conflict(const std::string& m, const std::string& f = {}, nlohmann::json d = nullptr) {
  return {409, m, f, std::move(d)};
}
inline ApiError forbidden(const std::string& m) { return {403, m}; }
// An agent token on a route that is not its host's agent route.
inline ApiError agent_token_forbidden() {
  return {403, "an agent token may only register its host and read its host's config (/agents/HOST/config, /agents/HOST/watch)"};
}
inline ApiError forbidden_field(const std::string& f, const std::string& m) { return {403, "field '" + f + "': " + m, f}; }

}  // namespace vrf
