#include "controller/http_stream_limits.h"

namespace vrf {

std::shared_ptr<void> StreamLimiter::admit(const std::string& token_id, bool per_token_exempt, std::string& refusal) {
  std::lock_guard lk(mu_);
  if (total_ >= max_total_) {
    refusal = "too many open watch streams on this controller (limit " + std::to_string(max_total_) +
              ", max_watch_streams); retry later";
    return nullptr;
  }
  size_t& mine = per_token_[token_id];
  if (!per_token_exempt && mine >= max_per_token_) {
    refusal = "too many open watch streams for this token (limit " + std::to_string(max_per_token_) +
              ", max_watch_streams_per_token); close one first";
    if (mine == 0) per_token_.erase(token_id);
    return nullptr;
  }
  ++mine;
  ++total_;
  // Non-null (the limiter itself) so that the ticket tests true; the deleter only releases.
  return std::shared_ptr<void>(static_cast<void*>(this), [this, token_id](void*) { release(token_id); });
}

void StreamLimiter::release(const std::string& token_id) {
  std::lock_guard lk(mu_);
  --total_;
  auto it = per_token_.find(token_id);
  if (it != per_token_.end() && --it->second == 0) per_token_.erase(it);
}

size_t StreamLimiter::open() {
  std::lock_guard lk(mu_);
  return total_;
}

}  // namespace vrf
