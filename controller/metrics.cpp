#include "controller/metrics.h"

#include <fmt/format.h>

#include "controller/service.h"

namespace vrf {

void Metrics::observe(const std::string& method, const std::string& route, int status, double seconds) {
  std::lock_guard lk(mu_);
  ++requests_[{method, route, status}];
  Hist& h = latency_[{method, route}];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.n;
  h.sum += seconds;
}

void Metrics::watcher_delta(int d) {
  std::lock_guard lk(mu_);
  watchers_ += d;
}

std::string Metrics::render(ConfigService& svc) {
  std::string out;
  out += "# HELP vrf_controller_objects Stored configuration objects by type.\n# TYPE vrf_controller_objects gauge\n";
  for (auto& [type, n] : svc.object_counts()) out += fmt::format("vrf_controller_objects{{type=\"{}\"}} {}\n", type, n);
  out += "# HELP vrf_controller_revision Revision of the last committed mutation.\n# TYPE vrf_controller_revision gauge\n";
  out += fmt::format("vrf_controller_revision {}\n", svc.revision());
  std::lock_guard lk(mu_);
  out += "# HELP vrf_controller_watchers Open watch streams.\n# TYPE vrf_controller_watchers gauge\n";
  out += fmt::format("vrf_controller_watchers {}\n", watchers_);
  out += "# HELP vrf_controller_http_requests_total HTTP requests by route and status.\n"
         "# TYPE vrf_controller_http_requests_total counter\n";
  for (auto& [k, n] : requests_)
    out += fmt::format("vrf_controller_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                       std::get<0>(k), std::get<1>(k), std::get<2>(k), n);
  out += "# HELP vrf_controller_http_request_seconds HTTP request latency.\n"
         "# TYPE vrf_controller_http_request_seconds histogram\n";
  for (auto& [k, h] : latency_) {
    auto labels = fmt::format("method=\"{}\",route=\"{}\"", k.first, k.second);
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("vrf_controller_http_request_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kBuckets[i], h.counts[i]);
    out += fmt::format("vrf_controller_http_request_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.n);
    out += fmt::format("vrf_controller_http_request_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("vrf_controller_http_request_seconds_count{{{}}} {}\n", labels, h.n);
  }
  return out;
}

}  // namespace vrf
