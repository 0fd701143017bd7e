#pragma once
// Prometheus text exposition: request counters and latency histograms per route
// template, plus gauges sampled from the service at scrape time.
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace vrf {

class ConfigService;

class Metrics {
 public:
  void observe(const std::string& method, const std::string& route, int status, double seconds);
  void watcher_delta(int d);
  std::string render(ConfigService& svc);

 private:
  static constexpr std::array<double, 11> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0};
  struct Hist {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t n = 0;
    double sum = 0;
  };
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Hist> latency_;
  int watchers_ = 0;
};

}  // namespace vrf
