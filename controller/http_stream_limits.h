#pragma once
// Admission of long-lived streams (/watch): a global bound and a bound per token, so
// one tenant's reader token cannot hold every stream slot (nor, through them, the
// threads that serve streams).
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace vrf {

class StreamLimiter {
 public:
  StreamLimiter(size_t max_total, size_t max_per_token) : max_total_(max_total), max_per_token_(max_per_token) {}
  // A ticket held for the stream's life, or nullptr with `refusal` saying which limit.
  // The global admin (agents, operators) is exempt from the per-token bound only.
  std::shared_ptr<void> admit(const std::string& token_id, bool per_token_exempt, std::string& refusal);
  size_t open();

 private:
  void release(const std::string& token_id);

  size_t max_total_, max_per_token_;
  std::mutex mu_;
  size_t total_ = 0;
  std::map<std::string, size_t> per_token_;
};

}  // namespace vrf
