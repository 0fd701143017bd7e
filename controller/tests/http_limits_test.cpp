#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>

#include "controller/http_auth_throttle.h"
#include "controller/http_json_limits.h"
#include "controller/http_stream_limits.h"
#include "controller/http_utf8.h"
#include "controller/http_worker_pool.h"
#include "controller/secret_file.h"

using namespace vrf;

namespace {
std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
}  // namespace

TEST_CASE("json limits: depth is counted before any tree is built") {
  JsonLimits l{64, 100000};
  CHECK_FALSE(json_limit_violation(nested(64), l));
  auto v = json_limit_violation(nested(65), l);
  REQUIRE(v);
  CHECK(v->limit == "max_json_depth");
  CHECK(v->message.find("64") != std::string::npos);
  // The body that used to kill the controller: 100,000 levels, unterminated even.
  auto deep = json_limit_violation(std::string(100000, '['), l);
  REQUIRE(deep);
  CHECK(deep->limit == "max_json_depth");
  CHECK_FALSE(json_limit_violation(R"({"a": {"b": [1, 2, {"c": null}]}})", l));
}

TEST_CASE("json limits: elements, keys included") {
  JsonLimits l{64, 5};
  CHECK_FALSE(json_limit_violation(R"({"a": 1, "b": 2})", l));  // object + 2 keys + 2 values
  auto v = json_limit_violation(R"({"a": 1, "b": 2, "c": 3})", l);
  REQUIRE(v);
  CHECK(v->limit == "max_json_elements");
  CHECK_FALSE(json_limit_violation("[1,2,3,4]", l));
  CHECK(json_limit_violation("[1,2,3,4,5]", l));
}

TEST_CASE("json limits: malformed JSON is left to the parser") {
  JsonLimits l;
  CHECK_FALSE(json_limit_violation("{\"a\": ", l));
  CHECK_FALSE(json_limit_violation("not json", l));
  CHECK_FALSE(json_limit_violation("", l));
  CHECK_FALSE(json_limit_violation("[1] trailing", l));
}

TEST_CASE("utf-8: valid text of every length") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii /virtual-networks?x=1"));
  CHECK(valid_utf8("\xC3\xA9t\xC3\xA9"));                     // été
  CHECK(valid_utf8("\xE2\x82\xAC"));                          // €
  CHECK(valid_utf8("\xF0\x9F\x98\x80"));                      // emoji
  CHECK(valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  CHECK(valid_utf8("\xED\x9F\xBF"));                          // U+D7FF, just below the surrogates
  CHECK(valid_utf8(std::string_view("nul\0inside", 10)));     // NUL is valid UTF-8
}

TEST_CASE("utf-8: every way to be invalid") {
  CHECK_FALSE(valid_utf8("\xFF"));
  CHECK_FALSE(valid_utf8("\x80"));                  // continuation first
  CHECK_FALSE(valid_utf8("\xC0\x80"));              // overlong NUL
  CHECK_FALSE(valid_utf8("\xC1\xBF"));              // overlong
  CHECK_FALSE(valid_utf8("\xE0\x80\x80"));          // overlong 3-byte
  CHECK_FALSE(valid_utf8("\xF0\x80\x80\x80"));      // overlong 4-byte
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));          // surrogate U+D800
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // U+110000
  CHECK_FALSE(valid_utf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(valid_utf8("\xC3"));                  // truncated
  CHECK_FALSE(valid_utf8("\xE2\x82"));
  CHECK_FALSE(valid_utf8("\xE2\x28\xA1"));          // bad continuation
  CHECK_FALSE(valid_utf8("ok\xF0\x9F\x98"));        // truncated at the end
}

TEST_CASE("auth throttle: a burst, then 429 for that address only, then refill") {
  AuthThrottle t({5, 1, 100});
  auto now = AuthThrottle::Clock::now();
  CHECK(t.retry_after("10.0.0.1", now) == 0);
  for (int i = 0; i < 5; ++i) t.record_failure("10.0.0.1", now);
  CHECK(t.retry_after("10.0.0.1", now) >= 1);
  CHECK(t.retry_after("10.0.0.2", now) == 0);
  CHECK(t.retry_after("10.0.0.1", now + std::chrono::milliseconds(1100)) == 0);  // one token back
  t.record_failure("10.0.0.1", now + std::chrono::milliseconds(1100));
  CHECK(t.retry_after("10.0.0.1", now + std::chrono::milliseconds(1100)) >= 1);
}

TEST_CASE("auth throttle: IPv6 by /64, mapped IPv4 as IPv4, bounded memory") {
  CHECK(AuthThrottle::client_key("2001:db8:1:2:aaaa::1") == AuthThrottle::client_key("2001:db8:1:2:bbbb::2"));
  CHECK(AuthThrottle::client_key("2001:db8:1:2::1") != AuthThrottle::client_key("2001:db8:1:3::1"));
  CHECK(AuthThrottle::client_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(AuthThrottle::client_key("192.0.2.7") == "192.0.2.7");
  AuthThrottle t({3, 1, 10});
  auto now = AuthThrottle::Clock::now();
  for (int i = 0; i < 100; ++i) t.record_failure("10.1.0." + std::to_string(i), now);
  CHECK(t.tracked() <= 10);
}

TEST_CASE("stream limits: per token, global, the admin exempt from the first only") {
  StreamLimiter lim(3, 2);
  std::string why;
  auto a = lim.admit("reader", false, why), b = lim.admit("reader", false, why);
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(lim.admit("reader", false, why));
  CHECK(why.find("per_token") != std::string::npos);
  auto admin = lim.admit("admin", true, why);
  REQUIRE(admin);
  CHECK_FALSE(lim.admit("admin", true, why));  // global bound reached
  CHECK(why.find("on this controller") != std::string::npos);
  a.reset();
  CHECK(lim.open() == 2);
  CHECK(lim.admit("reader", false, why));
}

TEST_CASE("worker pool: a detached job gives its slot to the queue") {
  WorkerPool pool(1, 4);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> detached{false}, second_ran{false};
  pool.submit([&] {
    detached = WorkerPool::detach_current();
    released.wait();  // a long-lived stream
  });
  pool.submit([&] { second_ran = true; });
  for (int i = 0; i < 200 && !second_ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(detached);
  CHECK(second_ran);
  release.set_value();
  pool.shutdown();
  CHECK(pool.stats().threads == 0);
}

TEST_CASE("worker pool: without detaching, one slot serves one job at a time; the bound holds") {
  WorkerPool pool(1, 0);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> detached{true}, second_ran{false};
  pool.submit([&] {
    detached = WorkerPool::detach_current();  // max_detached 0: refused
    released.wait();
  });
  pool.submit([&] { second_ran = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(detached);
  CHECK_FALSE(second_ran);
  release.set_value();
  for (int i = 0; i < 200 && !second_ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(second_ran);
  CHECK_FALSE(WorkerPool::detach_current());  // not a pool thread
}

TEST_CASE("private files: mode 0600 even when the file existed, symlinks and foreign files refused") {
  char tmpl[] = "/tmp/h1-secret-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl, path = dir + "/token", target = dir + "/target";
  {
    std::ofstream(path) << "old";
  }
  chmod(path.c_str(), 0644);
  write_private_file(path, "s3cret");
  struct stat st{};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in(path);
  std::string got;
  std::getline(in, got);
  CHECK(got == "s3cret");

  {
    std::ofstream(target) << "precious";
  }
  std::string link = dir + "/link";
  REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
  CHECK_THROWS_WITH_AS(write_private_file(link, "s3cret"), doctest::Contains("symbolic link"), std::runtime_error);
  std::ifstream t(target);
  std::getline(t, got);
  CHECK(got == "precious");

  std::string hard = dir + "/hard";
  REQUIRE(::link(target.c_str(), hard.c_str()) == 0);
  CHECK_THROWS_WITH_AS(write_private_file(hard, "s3cret"), doctest::Contains("hard links"), std::runtime_error);

  CHECK_THROWS_WITH_AS(prepare_private_file(link), doctest::Contains("symbolic link"), std::runtime_error);
  CHECK_NOTHROW(prepare_private_file(dir + "/not-yet"));  // absent: nothing to check, nothing created
  CHECK(access((dir + "/not-yet").c_str(), F_OK) != 0);

  restrict_to_owner(target);
  REQUIRE(stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_NOTHROW(restrict_to_owner(dir + "/absent"));
  std::system(("rm -rf " + dir).c_str());
}
