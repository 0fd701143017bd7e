#include "controller/rest.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "controller/errors.h"
#include "controller/http_connections.h"
#include "controller/http_utf8.h"
#include "controller/http_worker_pool.h"
#include "controller/schema_data.h"

namespace vrf {

using schema::Schema;

namespace {

json error_body(int status, const std::string& msg, const std::string& field = {}, const json& details = nullptr) {
  json e = {{"status", status}, {"message", msg}};
  if (!field.empty()) e["field"] = field;
  if (!details.is_null()) e["details"] = details;
  return {{"error", e}};
}

// Never throws: an error message may quote input that is not UTF-8 (a parse error
// shows the bytes it stopped at), and an answer must still go out.
std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void set_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(to_text(error_body(e.status, e.what(), e.field, e.details)), "application/json");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (e.status == 429 && e.details.contains("retry_after_seconds"))
    res.set_header("Retry-After", std::to_string(e.details["retry_after_seconds"].get<int>()));
}

// The request ends here without its body being read: the connection must not be
// reused, or the unread body would be parsed as the next request.
void close_after_answer(httplib::Response& res) {
  if (auto* ctx = ConnectionServer::current_request()) ctx->close_connection = true;
  if (!res.has_header("Connection")) res.set_header("Connection", "close");
}

std::optional<uint64_t> content_length(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  auto v = req.get_header_value("Content-Length");
  char* end = nullptr;
  errno = 0;
  uint64_t n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || v[0] == '-') throw bad_request("Content-Length is not a number", "Content-Length");
  return n;
}

bool carries_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") || content_length(req).value_or(0) > 0;
}

// Query parameters are checked, not ignored: a typo in a filter would otherwise return
// everything.
// Only the query string counts: httplib also files form-encoded bodies under params
// (curl -d without a Content-Type), and those are JSON documents here.
void check_params(const httplib::Request& req, std::initializer_list<const char*> allowed) {
  auto q = req.target.find('?');
  std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  for (size_t pos = 0; pos < query.size();) {
    auto amp = std::min(query.find('&', pos), query.size());
    std::string k = query.substr(pos, std::min(query.find('=', pos), amp) - pos);
    pos = amp + 1;
    if (k.empty()) continue;
    bool ok = false;
    for (auto* a : allowed) ok |= k == a;
    if (!ok) {
      std::string list;
      for (auto* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw bad_request("unknown query parameter '" + k + "' (allowed: " + (list.empty() ? "none" : list) + ")", k);
    }
  }
}

std::optional<std::string> param(const httplib::Request& req, const char* k) {
  if (!req.has_param(k)) return std::nullopt;
  return req.get_param_value(k);
}

int64_t int_param(const httplib::Request& req, const char* k, int64_t dflt, int64_t lo, int64_t hi) {
  auto v = param(req, k);
  if (!v) return dflt;
  try {
    size_t used = 0;
    int64_t n = std::stoll(*v, &used);
    if (used == v->size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  throw bad_request("query parameter '" + std::string(k) + "' must be an integer in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]",
                    k);
}

bool bool_param(const httplib::Request& req, const char* k) {
  auto v = param(req, k);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  throw bad_request("query parameter '" + std::string(k) + "' must be true or false", k);
}

}  // namespace

RestApi::RestApi(ConfigService& svc, Metrics& metrics, RestLimits limits)
    : svc_(svc),
      metrics_(metrics),
      limits_(limits),
      throttle_(limits.auth_throttle),
      watch_streams_(limits.max_watch_streams, limits.max_watch_streams_per_token) {
  metrics_.declare("auth_failures", "Requests refused for an invalid bearer token.");
  metrics_.declare("auth_throttled", "Requests refused (429) because their address failed authentication too often.");
  metrics_.declare("watch_refused", "Watch streams refused (429) by the global or per-token stream limit.");
  metrics_.declare("requests_refused", "Requests refused before routing (bad UTF-8, body limits, unauthenticated body).");
}

// An address that failed too often is answered 429 before its token is looked at, so
// guessing from there stops; tokens from other addresses are unaffected.
Principal RestApi::authenticate(const httplib::Request& req) {
  auto h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) != 0) throw ApiError(401, "missing bearer token (send 'Authorization: Bearer TOKEN')");
  if (int wait = throttle_.retry_after(req.remote_addr)) {
    metrics_.count("auth_throttled");
    throw ApiError(429, "too many failed authentications from this address; retry in " + std::to_string(wait) + " s",
                   {}, {{"retry_after_seconds", wait}});
  }
  try {
    return svc_.authenticate(h.substr(7));
  } catch (const ApiError& e) {
    if (e.status == 401) {
      throttle_.record_failure(req.remote_addr);
      metrics_.count("auth_failures");
    }
    throw;
  }
}

json RestApi::parse_body(const httplib::Request& req) {
  if (req.body.empty()) throw bad_request("request body is empty (expected JSON)");
  if (!valid_utf8(req.body)) throw bad_request("request body is not valid UTF-8");
  if (auto v = json_limit_violation(req.body, limits_.json)) throw bad_request(v->message);
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw bad_request(std::string("malformed JSON: ") + e.what());
  }
}

httplib::Server::HandlerResponse RestApi::front_door(const httplib::Request& req, httplib::Response& res) {
  bool body = true;  // until known: a refusal leaves the body unread, so the connection must close
  try {
    body = carries_body(req);
    // httplib never reads the body of these: whatever follows would be taken for the
    // next request.
    if (body && (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS")) close_after_answer(res);
    // Handlers and error messages quote paths and query values: refuse what JSON
    // cannot carry here, once, instead of failing while answering.
    if (!valid_utf8(req.target) || !valid_utf8(req.path)) throw bad_request("request path is not valid UTF-8", "path");
    for (auto& [k, v] : req.params)
      if (!valid_utf8(k) || !valid_utf8(v)) throw bad_request("query string is not valid UTF-8", "query");
    if (body) {
      auto te = req.get_header_value("Transfer-Encoding");
      if (!te.empty() && te != "chunked")
        throw bad_request("Transfer-Encoding '" + te + "' is not supported (use chunked or Content-Length)",
                          "Transfer-Encoding");
      auto ce = req.get_header_value("Content-Encoding");
      if (!ce.empty() && ce != "identity")  // a compressed body would be inflated past max_body unchecked
        throw ApiError(415, "compressed request bodies are not accepted (Content-Encoding: " + ce + ")",
                       "Content-Encoding");
      if (content_length(req).value_or(0) > limits_.max_body)
        throw ApiError(413, "request body too large (limit " + std::to_string(limits_.max_body) + " bytes)");
    }
    // Who sends a body must be known before it is read; a token, when given, is
    // checked here for every route (the agent routes included) so that throttling
    // covers all of them.
    if (body || req.has_header("Authorization")) authenticate(req);
    // Without a length httplib would read the body of a route that is not ours (or of
    // no route) until the peer closes, holding the request for the body timeout.
    if (!body && (req.method == "POST" || req.method == "PUT" || req.method == "PATCH"))
      throw bad_request("request body is empty: " + req.method + " needs a Content-Length or a chunked body", "Content-Length");
  } catch (const ApiError& e) {
    metrics_.count("requests_refused");
    set_error(res, e);
    if (body) close_after_answer(res);
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

httplib::Server::HandlerWithContentReader RestApi::reading_body(httplib::Server::Handler h) {
  return [this, h](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    std::string body;
    bool too_big = false;
    // A POST without Content-Length or Transfer-Encoding has no body (RFC 9112); httplib
    // would read until the peer closes.
    bool ok = !carries_body(req) || read([&](const char* data, size_t n) {
      if (body.size() + n > limits_.max_body) return !(too_big = true);
      body.append(data, n);
      return true;
    });
    if (!ok) {
      auto* ctx = ConnectionServer::current_request();
      set_error(res, too_big ? ApiError(413, "request body too large (limit " + std::to_string(limits_.max_body) + " bytes)")
                     : ctx && ctx->read_timed_out ? ApiError(408, "request body not received in time")
                                                  : bad_request("request body could not be read (malformed chunked encoding?)"));
      close_after_answer(res);
      return;
    }
    httplib::Request with_body = req;
    with_body.body = std::move(body);
    h(with_body, res);
  };
}

httplib::Server::Handler RestApi::wrap(const std::string& route, bool needs_auth, Handler h) {
  return [this, route, needs_auth, h](const httplib::Request& req, httplib::Response& res) {
    auto t0 = std::chrono::steady_clock::now();
    int status = 200;
    json out;
    try {
      Principal who = needs_auth ? authenticate(req) : Principal{};
      if (who.agent_host()) throw agent_token_forbidden();
      out = h(req, who, status);
    } catch (const ApiError& e) {
      status = e.status;
      out = error_body(e.status, e.what(), e.field, e.details);
      set_error(res, e);
    } catch (const json::exception& e) {  // e.g. a value of an unexpected JSON type deep in a handler
      status = 400;
      out = error_body(400, std::string("invalid request: ") + e.what());
    } catch (const std::exception& e) {
      status = 500;
      out = error_body(500, std::string("internal error: ") + e.what());
      spdlog::error("{} {} failed: {}", req.method, req.path, e.what());
    }
    res.status = status;
    if (out.is_string()) res.set_content(out.get<std::string>(), "text/plain; version=0.0.4");
    else res.set_content(to_text(out), "application/json");
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics_.observe(req.method, route, status, secs);
    spdlog::debug("http method={} path={} status={} ms={:.3f}", req.method, req.path, status, secs * 1000);
  };
}

json RestApi::collection(const httplib::Request& req, const Principal& who, int& status) {
  const auto* t = Schema::get().find(req.path.substr(1));
  if (!t || t->plural != req.path.substr(1)) throw not_found("no such collection " + req.path);
  if (req.method == "GET") {
    check_params(req, {"parent_id", "parent_fq_name", "fq_name", "tag", "project", "detail", "limit", "marker"});
    ListParams p{param(req, "parent_id"), param(req, "parent_fq_name"), param(req, "fq_name"), param(req, "tag"),
                 param(req, "project")};
    p.detail = bool_param(req, "detail");
    p.limit = int(int_param(req, "limit", 200, 1, 10000));
    p.marker = int_param(req, "marker", 0, 0, INT64_MAX);
    return svc_.list(*t, p, who);
  }
  check_params(req, {"allocate_ip"});
  json body = parse_body(req);
  CreateOptions opts;
  if (body.is_object()) {
    for (auto& [k, v] : body.items())
      if (k != t->name && !(k == "instance_ips" && t->name == "virtual-machine-interface"))
        throw bad_request("unknown top-level key '" + k + "' (expected \"" + t->name + "\")", k);
    if (body.contains("instance_ips")) {
      if (!body["instance_ips"].is_array()) throw bad_request("field 'instance_ips': expected a list", "instance_ips");
      opts.instance_ips = body["instance_ips"];
    }
  }
  if (auto a = param(req, "allocate_ip")) {
    if (t->name != "virtual-machine-interface") throw bad_request("allocate_ip applies to virtual-machine-interfaces only");
    if (*a != "v4" && *a != "v6" && *a != "both") throw bad_request("allocate_ip must be v4, v6 or both", "allocate_ip");
    if (*a != "v6") opts.instance_ips.push_back({{"instance_ip_family", "v4"}});
    if (*a != "v4") opts.instance_ips.push_back({{"instance_ip_family", "v6"}});
  }
  status = 201;
  return svc_.create(*t, body, who, opts);
}

json RestApi::object(const httplib::Request& req, const Principal& who, int& status) {
  auto slash = req.path.find('/', 1);
  const auto* t = Schema::get().find(req.path.substr(1, slash - 1));
  std::string uuid = req.path.substr(slash + 1);
  if (!t || t->name != req.path.substr(1, slash - 1)) throw not_found("no such route " + req.path);
  if (req.method == "GET") {
    check_params(req, {"back_refs"});
    return svc_.read(*t, uuid, who, !param(req, "back_refs") || bool_param(req, "back_refs"));
  }
  check_params(req, {});
  if (req.method == "PUT") return svc_.update(*t, uuid, parse_body(req), who);
  return svc_.remove(*t, uuid, who);
}

void RestApi::watch(const httplib::Request& req, httplib::Response& res) {
  Principal who;
  int64_t since = 0;
  std::set<std::string> types;
  try {
    who = authenticate(req);
    if (who.agent_host()) throw agent_token_forbidden();
    check_params(req, {"since", "types"});
    since = int_param(req, "since", svc_.revision(), 0, INT64_MAX);
    // EventSource clients resume with Last-Event-ID after a disconnect.
    if (req.has_header("Last-Event-ID")) since = std::stoll(req.get_header_value("Last-Event-ID"));
    if (auto tl = param(req, "types")) {
      std::string s = *tl;
      for (size_t pos = 0; pos <= s.size();) {
        auto c = std::min(s.find(',', pos), s.size());
        auto* t = Schema::get().find(s.substr(pos, c - pos));
        if (!t) throw bad_request("types: unknown type '" + s.substr(pos, c - pos) + "'", "types");
        types.insert(t->name);
        pos = c + 1;
      }
    }
  } catch (const ApiError& e) {
    set_error(res, e);
    return;
  } catch (const std::exception& e) {
    set_error(res, bad_request(std::string("bad watch request: ") + e.what()));
    return;
  }
  std::string refusal;
  auto ticket = watch_streams_.admit(who.token_id, who.global_admin(), refusal);
  if (!ticket) {
    metrics_.count("watch_refused");
    set_error(res, ApiError(429, refusal, {}, {{"retry_after_seconds", 10}}));
    return;
  }
  // This thread now serves the stream for as long as it lasts: give its request slot
  // back so that other requests do not queue behind it.
  WorkerPool::detach_current();
  metrics_.watcher_delta(1);
  auto cursor = std::make_shared<int64_t>(since);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, who, types, cursor](size_t, httplib::DataSink& sink) {
        auto batch = svc_.changes_since(*cursor, 500, who);
        std::string out;
        if (batch.reset)
          out = "id: " + std::to_string(batch.scanned_to) + "\nevent: reset\ndata: " +
                json{{"revision", batch.scanned_to}, {"reason", "changes after the requested revision were trimmed; "
                                                                "list the objects again, then watch from this revision"}}
                    .dump() +
                "\n\n";
        for (auto& c : batch.changes) {
          if (!types.empty() && !types.count(c.type)) continue;
          json ev = {{"revision", c.rev}, {"op", c.op}, {"type", c.type}, {"uuid", c.uuid},
                     {"object", json::parse(c.body)}};
          out += "id: " + std::to_string(c.rev) + "\nevent: " + c.op + "\ndata: " + ev.dump() + "\n\n";
        }
        *cursor = batch.scanned_to;
        if (out.empty()) {
          if (!svc_.wait_for_change(*cursor, std::chrono::seconds(10))) {
            sink.done();  // controller shutting down: end the stream cleanly
            return true;
          }
          if (svc_.revision() <= *cursor) out = ": keepalive\n\n";  // lets dead peers be detected
        }
        return out.empty() || sink.write(out.data(), out.size());
      },
      [this, ticket](bool) mutable {
        ticket.reset();  // the stream slot of its token
        metrics_.watcher_delta(-1);
      });
}

void RestApi::install(httplib::Server& srv) {
  srv.Get("/healthz", wrap("/healthz", false, [](auto&, auto&, int&) { return json{{"status", "ok"}}; }));
  srv.Get("/metrics", wrap("/metrics", false, [this](auto&, auto&, int&) { return json(metrics_.render(svc_)); }));
  srv.Get("/schema", wrap("/schema", false, [](auto&, auto&, int&) { return json::parse(schema::kSchemaJson); }));
  srv.Get("/", wrap("/", true, [](auto&, auto&, int&) {
    json links = json::array();
    for (auto& t : Schema::get().types()) links.push_back({{"name", t.plural}, {"href", "/" + t.plural}});
    return json{{"links", links}};
  }));
  srv.Post("/fqname-to-id", reading_body(wrap("/fqname-to-id", true, [this](auto& req, auto& who, int&) {
    json b = parse_body(req);
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string() || !b.contains("fq_name"))
      throw bad_request("body must be {\"type\": TYPE, \"fq_name\": [...]}");
    return svc_.fq_name_to_id(b["type"], b["fq_name"], who);
  })));
  srv.Post("/id-to-fqname", reading_body(wrap("/id-to-fqname", true, [this](auto& req, auto& who, int&) {
    json b = parse_body(req);
    if (!b.is_object() || !b.contains("uuid") || !b["uuid"].is_string()) throw bad_request("body must be {\"uuid\": UUID}");
    return svc_.id_to_fq_name(b["uuid"], who);
  })));
  srv.Post("/tokens", reading_body(wrap("/tokens", true, [this](auto& req, auto& who, int& status) {
    status = 201;
    return svc_.create_token(parse_body(req), who);
  })));
  srv.Get("/tokens", wrap("/tokens", true, [this](auto&, auto& who, int&) { return svc_.list_tokens(who); }));
  srv.Delete(R"(/token/([0-9a-f-]+))", wrap("/token/ID", true, [this](auto& req, auto& who, int&) {
    svc_.delete_token(req.matches[1].str(), who);
    return json{{"deleted", req.matches[1].str()}};
  }));
  srv.Get("/watch", [this](const httplib::Request& req, httplib::Response& res) { watch(req, res); });

  // Schema-derived routes (/PLURAL and /TYPE/UUID): the handlers look the first path
  // segment up in the schema table, so there is no per-type route registration. GET and
  // DELETE are dispatched before httplib's regex router; POST and PUT need the body,
  // which httplib reads only after its pre-routing step, so they use two patterns.
  auto coll = wrap("/COLLECTION", true, [this](auto& req, auto& who, int& st) { return collection(req, who, st); });
  auto obj = wrap("/TYPE/UUID", true, [this](auto& req, auto& who, int& st) { return object(req, who, st); });
  srv.Post(R"(/[a-z-]+)", reading_body(coll));
  srv.Put(R"(/[a-z-]+/[^/]+)", reading_body(obj));
  srv.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    return front_door(req, res) == httplib::Server::HandlerResponse::Handled ? res.status : 100;
  });
  srv.set_pre_routing_handler([this, coll, obj](const httplib::Request& req, httplib::Response& res) {
    if (front_door(req, res) == httplib::Server::HandlerResponse::Handled) return httplib::Server::HandlerResponse::Handled;
    const std::string& p = req.path;
    auto slash = p.find('/', 1);
    const auto* t = p.size() > 1 ? Schema::get().find(p.substr(1, slash == std::string::npos ? slash : slash - 1)) : nullptr;
    if (!t) return httplib::Server::HandlerResponse::Unhandled;
    bool is_coll = slash == std::string::npos && p.compare(1, std::string::npos, t->plural) == 0;
    bool is_obj = slash != std::string::npos && p.compare(1, slash - 1, t->name) == 0 &&
                  p.find('/', slash + 1) == std::string::npos && slash + 1 < p.size();
    bool method_ok = req.method == "GET" || (is_obj && req.method == "DELETE");
    if (!(is_coll || is_obj) || !method_ok) return httplib::Server::HandlerResponse::Unhandled;
    (is_coll ? coll : obj)(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });

  // Errors httplib produces itself (413 body too large, 404 unknown path, 400 bad
  // request line) get the same JSON error shape as ours.
  srv.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    // httplib answers these without reading the request's body (a 414 or an unknown
    // route): on a kept-alive connection that body would be parsed as the next request.
    close_after_answer(res);
    auto* ctx = ConnectionServer::current_request();
    if (ctx && ctx->read_timed_out) res.status = 408;
    std::string msg = res.status == 413   ? "request body too large (limit " + std::to_string(limits_.max_body) + " bytes)"
                      : res.status == 404 ? "no such route"
                      : res.status == 408 ? "request not received in time"
                      : res.status == 414 ? "request target too long"
                                          : "HTTP error " + std::to_string(res.status);
    res.set_content(to_text(error_body(res.status, msg)), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  // A handler that throws past its own error mapping (the agent routes, a failing
  // dump) still answers in the error shape, without httplib's EXCEPTION_WHAT header.
  srv.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {} failed: {}", req.method, req.path, what);
    res.status = 500;
    res.set_content(to_text(error_body(500, "internal error")), "application/json");
  });
}

}  // namespace vrf
