#pragma once
// Prometheus text exposition: request counters and latency histograms per route
// template, plus gauges sampled from the service at scrape time.
#include <array>
#include <functional>
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
  // Counters of refused or throttled work (vrf_controller_NAME_total), and gauges read
  // at scrape time from their owner (the HTTP front's connections and threads).
  void declare(const std::string& name, const std::string& help);  // shows 0 before the first event
  void count(const std::string& name);
  static constexpr bool kCounter = true;  // a reading that only grows: rendered as NAME_total
  void add_gauge(const std::string& name, const std::string& help, std::function<double()> read, bool counter = false);
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
  std::map<std::string, std::pair<std::string, uint64_t>> counters_;  // name -> help, value
  struct Reading {
    std::string help;
    std::function<double()> read;
    bool counter;
  };
  std::map<std::string, Reading> gauges_;
};

}  // namespace vrf
