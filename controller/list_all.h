#pragma once
// Every visible object of a type, with details, across all pages of the list API.
#include "controller/service.h"

namespace vrf {

inline json list_all(ConfigService& svc, const char* type, const Principal& who) {
  const auto* t = schema::Schema::get().find(type);
  json out = json::array();
  ListParams p;
  p.detail = true;
  p.limit = 10000;
  for (;;) {
    json page = svc.list(*t, p, who);
    for (auto& o : page[t->plural]) out.push_back(std::move(o));
    if (!page.contains("next_marker")) return out;
    p.marker = page["next_marker"].get<int64_t>();
  }
}

}  // namespace vrf
