#include "controller_sync.h"

#include <httplib.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "host_config.h"

namespace vrfabric {

using json = nlohmann::json;

namespace {
std::string verify_error(long result) {
  return result == X509_V_OK ? "the certificate does not name the controller's host or address"
                             : X509_verify_cert_error_string(result);
}
}  // namespace

ControllerSync::ControllerSync(AgentState& state, std::mutex& state_mu, ControllerSyncConfig cfg)
    : state_(state), state_mu_(state_mu), cfg_(std::move(cfg)) {
  stream_ = std::thread([this] { run_stream(); });
  retry_ = std::thread([this] { run_retry(); });
}

ControllerSync::~ControllerSync() {
  stop_ = true;
  cv_.notify_all();
  stream_.join();
  retry_.join();
}

json ControllerSync::status() {
  std::lock_guard lk(mu_);
  return {{"controller", cfg_.url}, {"host", cfg_.host}, {"connected", connected_}, {"revision", revision_},
          {"pending_failures", pending_failures_}};
}

void ControllerSync::apply(const json& snapshot) {
  ReconcileReport rep;
  try {
    std::lock_guard lk(state_mu_);
    rep = reconcile(state_, snapshot);
  } catch (const std::exception& e) {
    spdlog::error("controller sent a snapshot this agent cannot use: {}", e.what());
    return;
  }
  std::lock_guard lk(mu_);
  last_ = snapshot;
  revision_ = snapshot.value("revision", int64_t{-1});
  pending_failures_ = rep.failed;
  spdlog::info("config revision {}: +{} -{} ({} to retry)", revision_, rep.added, rep.removed, rep.failed);
}

void ControllerSync::run_stream() {
  int backoff_ms = 200;
  while (!stop_) {
    httplib::Client cli(cfg_.url);
    if (cfg_.url.rfind("https://", 0) == 0) {  // verified always: the stream carries the host's whole config
      cli.enable_server_certificate_verification(true);
      if (!cfg_.ca_file.empty()) cli.set_ca_cert_path(cfg_.ca_file);
    }
    cli.set_connection_timeout(2);
    cli.set_read_timeout(30);  // the controller sends a keepalive well within this
    httplib::Headers auth = {{"Authorization", "Bearer " + cfg_.token}};
    json reg = {{"host", cfg_.host}, {"fabric_ip", ipv4_str(state_.config().fabric_ip)}};
    auto r = cli.Post("/agents/register", auth, reg.dump(), "application/json");
    if (!r || r->status != 200) {
      spdlog::warn("registering with {}: {}", cfg_.url,
                   r ? fmt::format("HTTP {} {}", r->status, r->body)
                     : r.error() == httplib::Error::SSLServerVerification
                         ? fmt::format("TLS certificate verification failed ({})", verify_error(cli.get_openssl_verify_result()))
                         : httplib::to_string(r.error()));
    } else {
      backoff_ms = 200;
      std::string buf;
      {
        std::lock_guard lk(mu_);
        connected_ = true;
      }
      cli.Get(fmt::format("/agents/{}/watch", cfg_.host), auth, [&](const char* data, size_t len) {
        buf.append(data, len);
        // Server-sent events: blocks separated by a blank line; we need the data lines.
        size_t end;
        while ((end = buf.find("\n\n")) != std::string::npos) {
          std::string block = buf.substr(0, end);
          buf.erase(0, end + 2);
          std::string payload;
          size_t pos = 0;
          while (pos < block.size()) {
            size_t nl = std::min(block.find('\n', pos), block.size());
            std::string line = block.substr(pos, nl - pos);
            if (line.rfind("data: ", 0) == 0) payload += line.substr(6);
            pos = nl + 1;
          }
          if (payload.empty()) continue;  // keepalive comment
          json snap = json::parse(payload, nullptr, false);
          if (snap.is_discarded())
            spdlog::error("controller stream: unreadable event");
          else
            apply(snap);
        }
        return !stop_.load();
      });
      std::lock_guard lk(mu_);
      connected_ = false;
    }
    if (stop_) break;
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(backoff_ms), [this] { return stop_.load(); });
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
}

// Objects that could not be applied (a workload namespace not there yet, an underlay
// neighbour not resolved) are retried from the last snapshot.
void ControllerSync::run_retry() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::seconds(2), [this] { return stop_.load(); });
    if (stop_ || pending_failures_ == 0 || !last_) continue;
    json snap = *last_;
    lk.unlock();
    apply(snap);
    lk.lock();
  }
}

}  // namespace vrfabric
