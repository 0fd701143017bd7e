#pragma once
// Slows down token guessing: every failed authentication takes one token from the
// bucket of the client's address; an empty bucket answers 429 without looking at the
// token, so guesses from that address stop counting until it refills. Valid tokens
// from other addresses are never affected; IPv6 clients are keyed by their /64 (one
// host usually owns the whole prefix).
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace vrf {

struct AuthThrottleSettings {
  double burst = 20;         // failures allowed at once
  double per_second = 2;     // refill rate
  size_t max_tracked = 65536;  // addresses remembered; full buckets are forgotten first
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AuthThrottle(AuthThrottleSettings s = {}) : s_(s) {}
  // Whole seconds before the next attempt from this address is looked at; 0 = now.
  int retry_after(const std::string& addr, Clock::time_point now = Clock::now());
  void record_failure(const std::string& addr, Clock::time_point now = Clock::now());
  size_t tracked();

  static std::string client_key(const std::string& addr);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  Bucket& refill(const std::string& key, Clock::time_point now);
  void forget_full(Clock::time_point now);

  AuthThrottleSettings s_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace vrf
