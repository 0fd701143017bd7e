#pragma once
// Strict UTF-8 (RFC 3629): no overlong forms, no UTF-16 surrogates, nothing above
// U+10FFFF. Paths, query strings and bodies are checked up front so that no handler,
// and no error message echoing the input, ever sees bytes nlohmann::json cannot dump.
#include <string_view>

namespace vrf {

bool valid_utf8(std::string_view s);

}  // namespace vrf
