// libFuzzer target for the agent's request parser: one local-API line through the limits
// and the JSON parse, then through every field parser the operations use. Every bad
// request must end in an AgentError (a specific message for the client); anything else
// that escapes, or a crash, is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "request.h"

using namespace vrfabric;

namespace {

template <typename F>
void expect_specific_error(F&& f) {
  try {
    f();
  } catch (const AgentError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json j;
  try {
    j = parse_request_line(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const AgentError&) {
    return 0;
  }
  Request r{j};
  expect_specific_error([&] { (void)r.str("op"); });
  expect_specific_error([&] { (void)vrf_spec(r); });
  expect_specific_error([&] { (void)interface_spec(r); });
  expect_specific_error([&] { (void)lease(r); });
  expect_specific_error([&] { (void)r.opt_u32("label"); });
  expect_specific_error([&] { (void)r.prefix(r.str("prefix"), "prefix"); });
  expect_specific_error([&] { (void)policy_spec(j); });
  if (auto* p = r.find("policy")) expect_specific_error([&] { (void)policy_spec(*p); });
  // The reply quotes what was sent; it must always serialise.
  (void)json{{"ok", true}, {"result", j}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
