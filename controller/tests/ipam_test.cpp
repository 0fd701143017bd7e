#include <doctest/doctest.h>
#include <unistd.h>

#include <set>

#include "controller/errors.h"
#include "controller/ipam.h"
#include "controller/store.h"

using namespace vrf;

TEST_CASE("cidr parsing explains its refusals") {
  std::string why;
  CHECK(parse_cidr("10.0.0.0/24"));
  CHECK_FALSE(parse_cidr("10.0.0.1/24", &why));
  CHECK(why.find("did you mean 10.0.0.0/24") != std::string::npos);
  CHECK_FALSE(parse_cidr("10.0.0.0/33", &why));
  CHECK_FALSE(parse_cidr("10.0.0.0", &why));
  CHECK_FALSE(parse_cidr("300.0.0.0/8", &why));
  auto v6 = parse_cidr("2001:db8::/64");
  REQUIRE(v6);
  CHECK(v6->contains(*parse_ip("2001:db8::ffff")));
  CHECK_FALSE(v6->contains(*parse_ip("10.0.0.1")));
  CHECK(parse_cidr("10.0.0.0/8")->overlaps(*parse_cidr("10.1.0.0/16")));
  CHECK_FALSE(parse_cidr("10.0.0.0/24")->overlaps(*parse_cidr("10.0.1.0/24")));
}

TEST_CASE("subnet defaults and checks") {
  json s = {{"subnet", "10.1.0.0/24"}};
  auto p = normalize_subnet(s, "x");
  CHECK(s["default_gateway"] == "10.1.0.1");
  CHECK(s["dns_server_address"] == "10.1.0.1");
  CHECK(s.contains("subnet_uuid"));
  CHECK(p.reserved(parse_ip("10.1.0.255")->value));
  json bad = {{"subnet", "10.1.0.0/24"}, {"default_gateway", "10.2.0.1"}};
  CHECK_THROWS_AS(normalize_subnet(bad, "x"), ApiError);
  json a = {{"subnet", "10.0.0.0/16"}}, b = {{"subnet", "10.0.5.0/24"}};
  CHECK_THROWS_AS(check_no_overlap({{normalize_subnet(a, "a"), "a"}, {normalize_subnet(b, "b"), "b"}}), ApiError);
}

TEST_CASE("allocator hands out every address of a /24 exactly once, then reuses released ones") {
  char path[] = "/tmp/ipam_testXXXXXX";
  int fd = mkstemp(path);
  close(fd);
  {
    Store st(path);
    json s = {{"subnet", "192.168.7.0/24"}};
    auto plan = normalize_subnet(s, "s");
    AddressAllocator alloc;
    CHECK(alloc.capacity(plan) == 253);
    std::set<std::string> seen;
    st.begin();
    while (auto a = alloc.allocate(st, plan, "owner-" + std::to_string(seen.size()))) seen.insert(format_ip(*a));
    st.commit();
    alloc.commit();
    CHECK(seen.size() == 253);
    CHECK_FALSE(seen.count("192.168.7.1"));
    CHECK_FALSE(seen.count("192.168.7.255"));
    st.begin();
    auto freed = st.release_owner("owner-17");
    REQUIRE(freed.size() == 1);
    alloc.released(freed[0].first, *parse_ip(freed[0].second));
    auto again = alloc.allocate(st, plan, "new-owner");
    REQUIRE(again);
    CHECK(format_ip(*again) == freed[0].second);
    // A rolled-back allocation must not stay "used" in the cache.
    st.rollback();
    alloc.rollback();
    st.begin();
    CHECK_THROWS_AS(alloc.claim(st, plan, *parse_ip(freed[0].second), "x"), ApiError);  // still owned by owner-17
    CHECK_THROWS_AS(alloc.claim(st, plan, *parse_ip("192.168.7.1"), "x"), ApiError);    // gateway
    st.rollback();
  }
  unlink(path);
  unlink((std::string(path) + "-wal").c_str());
  unlink((std::string(path) + "-shm").c_str());
}
