#pragma once
// HTTP front end of the configuration service. Collection and object routes are derived
// from the schema (/virtual-networks, /virtual-network/UUID, ...); a handful of fixed
// routes serve lookups, tokens, the watch stream, metrics and the schema itself.
#include <httplib.h>

#include "controller/metrics.h"
#include "controller/service.h"

namespace vrf {

class RestApi {
 public:
  RestApi(ConfigService& svc, Metrics& metrics, size_t max_body) : svc_(svc), metrics_(metrics), max_body_(max_body) {}
  void install(httplib::Server& srv);

 private:
  using Handler = std::function<json(const httplib::Request&, const Principal&, int& status)>;
  // Wraps a handler with authentication, error mapping, metrics and the access log.
  httplib::Server::Handler wrap(const std::string& route, bool needs_auth, Handler h);
  Principal authenticate(const httplib::Request& req);
  void watch(const httplib::Request& req, httplib::Response& res);
  json collection(const httplib::Request& req, const Principal& who, int& status);
  json object(const httplib::Request& req, const Principal& who, int& status);

  ConfigService& svc_;
  Metrics& metrics_;
  size_t max_body_;
};

}  // namespace vrf
