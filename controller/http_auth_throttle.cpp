#include "controller/http_auth_throttle.h"

#include <arpa/inet.h>

#include <cmath>

namespace vrf {

std::string AuthThrottle::client_key(const std::string& addr) {
  in6_addr a6{};
  if (addr.find(':') == std::string::npos || inet_pton(AF_INET6, addr.c_str(), &a6) != 1) return addr;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {  // ::ffff:a.b.c.d is an IPv4 client
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf);
  }
  std::fill(a6.s6_addr + 8, a6.s6_addr + 16, 0);
  char buf[INET6_ADDRSTRLEN];
  return std::string(inet_ntop(AF_INET6, &a6, buf, sizeof buf)) + "/64";
}

AuthThrottle::Bucket& AuthThrottle::refill(const std::string& key, Clock::time_point now) {
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{s_.burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    double secs = std::chrono::duration<double>(now - b.at).count();
    if (secs > 0) b.tokens = std::min(s_.burst, b.tokens + secs * s_.per_second);
    b.at = std::max(b.at, now);
  }
  return b;
}

int AuthThrottle::retry_after(const std::string& addr, Clock::time_point now) {
  std::lock_guard lk(mu_);
  auto key = client_key(addr);
  if (!buckets_.count(key)) return 0;  // never failed: nothing to remember
  Bucket& b = refill(key, now);
  if (b.tokens >= 1) return 0;
  return std::max(1, int(std::ceil((1 - b.tokens) / s_.per_second)));
}

void AuthThrottle::record_failure(const std::string& addr, Clock::time_point now) {
  std::lock_guard lk(mu_);
  if (buckets_.size() >= s_.max_tracked) forget_full(now);
  Bucket& b = refill(client_key(addr), now);
  b.tokens = std::max(0.0, b.tokens - 1);
}

// A full bucket holds no information. If every tracked address is still throttled
// (a flood from more addresses than max_tracked), forgetting all of them is the only
// bounded choice; each is throttled again after `burst` more failures.
void AuthThrottle::forget_full(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double secs = std::chrono::duration<double>(now - it->second.at).count();
    if (it->second.tokens + secs * s_.per_second >= s_.burst) it = buckets_.erase(it);
    else ++it;
  }
  if (buckets_.size() >= s_.max_tracked) buckets_.clear();
}

size_t AuthThrottle::tracked() {
  std::lock_guard lk(mu_);
  return buckets_.size();
}

}  // namespace vrf
