#include "table.h"

#include <algorithm>
#include <string>
#include <vector>

namespace vrctl {

namespace {
std::string cell(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (auto& e : v) s += (s.empty() ? "" : ",") + cell(e);
    return s.empty() ? "-" : s;
  }
  return v.dump();
}
}  // namespace

void print_table(std::ostream& out, const nlohmann::json& rows) {
  // JSON objects come back with sorted keys; identifying columns go first, the rest after.
  static const std::vector<std::string> first = {"vrf", "name", "prefix", "mac", "remote", "type"};
  std::vector<std::string> cols;
  for (auto& r : rows)
    for (auto& [k, v] : r.items())
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  auto rank = [&](const std::string& c) {
    auto it = std::find(first.begin(), first.end(), c);
    return it == first.end() ? first.size() : static_cast<size_t>(it - first.begin());
  };
  std::stable_sort(cols.begin(), cols.end(), [&](auto& a, auto& b) { return rank(a) < rank(b); });
  std::vector<size_t> width(cols.size());
  std::vector<std::vector<std::string>> cells;
  for (size_t c = 0; c < cols.size(); ++c) width[c] = cols[c].size();
  for (auto& r : rows) {
    std::vector<std::string> line;
    for (size_t c = 0; c < cols.size(); ++c) {
      line.push_back(r.contains(cols[c]) ? cell(r[cols[c]]) : "-");
      width[c] = std::max(width[c], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto emit = [&](const std::vector<std::string>& line, bool upper) {
    for (size_t c = 0; c < line.size(); ++c) {
      std::string s = line[c];
      if (upper) std::transform(s.begin(), s.end(), s.begin(), ::toupper);
      out << s << (c + 1 < line.size() ? std::string(width[c] - s.size() + 2, ' ') : "");
    }
    out << "\n";
  };
  if (cols.empty()) return;
  emit(cols, true);
  for (auto& line : cells) emit(line, false);
}

}  // namespace vrctl
