#pragma once
// HTTP front end of the configuration service. Collection and object routes are derived
// from the schema (/virtual-networks, /virtual-network/UUID, ...); a handful of fixed
// routes serve lookups, tokens, the watch stream, metrics and the schema itself.
//
// Every request first passes the front door (before its body is read): UTF-8 of path
// and query, a token for anything carrying a body, failed-authentication throttling,
// body size and encoding. JSON bodies are checked against depth and element limits
// before a tree is built.
#include <httplib.h>

#include "controller/http_auth_throttle.h"
#include "controller/http_json_limits.h"
#include "controller/http_stream_limits.h"
#include "controller/metrics.h"
#include "controller/service.h"

namespace vrf {

struct RestLimits {
  size_t max_body = 1 << 20;
  JsonLimits json;
  AuthThrottleSettings auth_throttle;
  size_t max_watch_streams = 256;
  size_t max_watch_streams_per_token = 8;  // the global admin (agents, operators) is exempt
};

class RestApi {
 public:
  RestApi(ConfigService& svc, Metrics& metrics, RestLimits limits);
  void install(httplib::Server& srv);

 private:
  using Handler = std::function<json(const httplib::Request&, const Principal&, int& status)>;
  // Wraps a handler with authentication, error mapping, metrics and the access log.
  httplib::Server::Handler wrap(const std::string& route, bool needs_auth, Handler h);
  // POST/PUT: reads the body itself so that chunked bodies stop at max_body too.
  httplib::Server::HandlerWithContentReader reading_body(httplib::Server::Handler h);
  // Checks made before routing and before any body byte is read; Handled = refused.
  httplib::Server::HandlerResponse front_door(const httplib::Request& req, httplib::Response& res);
  Principal authenticate(const httplib::Request& req);
  json parse_body(const httplib::Request& req);
  void watch(const httplib::Request& req, httplib::Response& res);
  json collection(const httplib::Request& req, const Principal& who, int& status);
  json object(const httplib::Request& req, const Principal& who, int& status);

  ConfigService& svc_;
  Metrics& metrics_;
  RestLimits limits_;
  AuthThrottle throttle_;
  StreamLimiter watch_streams_;
};

}  // namespace vrf
