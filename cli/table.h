#pragma once
// Renders a JSON array of objects as an aligned text table; columns in first-seen order.
#include <nlohmann/json.hpp>
#include <ostream>

namespace vrctl {
void print_table(std::ostream& out, const nlohmann::json& rows);
}
