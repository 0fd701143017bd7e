// libFuzzer: the JSON limits and the UTF-8 check must never crash, and a text they let
// through must parse into a tree that stays within the limits (so that copying and
// dumping it, which recurse, stay shallow).
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "controller/http_json_limits.h"
#include "controller/http_utf8.h"

namespace {

size_t depth_of(const nlohmann::json& j) {
  size_t d = 0;
  if (j.is_structured())
    for (auto& e : j) d = std::max(d, depth_of(e));
  return j.is_structured() ? d + 1 : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)vrf::valid_utf8(text);
  vrf::JsonLimits limits{8, 200};
  if (vrf::json_limit_violation(text, limits)) return 0;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && depth_of(j) > limits.max_depth) std::abort();
  return 0;
}
