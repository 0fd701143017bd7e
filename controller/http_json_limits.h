#pragma once
// Size limits checked on a JSON text before any tree is built. nlohmann's tree is
// recursive to copy, compare and dump, so a 200 KB body nested 100,000 levels deep
// overflows the stack long after parsing succeeded; counting on the SAX events costs
// no allocation and stops at the first element past a limit.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vrf {

struct JsonLimits {
  size_t max_depth = 64;          // nested arrays/objects
  size_t max_elements = 100000;   // values, keys included
};

struct JsonLimitViolation {
  std::string limit;    // "max_json_depth" or "max_json_elements": the setting to raise
  std::string message;  // for the client, names the limit and its value
};

// nullopt when the text stays within the limits; malformed JSON is not a violation
// (the real parse reports it with its position).
std::optional<JsonLimitViolation> json_limit_violation(std::string_view text, const JsonLimits& limits);

}  // namespace vrf
