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

void Metrics::declare(const std::string& name, const std::string& help) {
  std::lock_guard lk(mu_);
  counters_.try_emplace(name, help, 0);
}

void Metrics::count(const std::string& name) {
  std::lock_guard lk(mu_);
  ++counters_[name].second;
}

void Metrics::add_gauge(const std::string& name, const std::string& help, std::function<double()> read, bool counter) {
  std::lock_guard lk(mu_);
  gauges_[name] = {help, std::move(read), counter};
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
  for (auto& [name, c] : counters_)
    out += fmt::format("# HELP vrf_controller_{0}_total {1}\n# TYPE vrf_controller_{0}_total counter\n"
                       "vrf_controller_{0}_total {2}\n", name, c.first, c.second);
  for (auto& [name, g] : gauges_) {
    auto full = "vrf_controller_" + name + (g.counter ? "_total" : "");
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", full, g.help, g.counter ? "counter" : "gauge", g.read());
  }
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
