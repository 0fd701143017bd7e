#include <doctest/doctest.h>
#include <unistd.h>

#include "controller/store.h"

using namespace vrf;

TEST_CASE("store migrates, keeps rows and refs, and rolls back") {
  char path[] = "/tmp/store_testXXXXXX";
  int fd = mkstemp(path);
  close(fd);
  {
    Store st(path);
    CHECK(st.schema_version() == Store::kSchemaVersion);
    st.begin();
    ObjRow a{"u-a", "virtual-network", "d:p:a", "u-p", std::string("u-p"), {{"x", 1}}, 1};
    st.insert(a, a.body.dump());
    st.insert(ObjRow{"u-b", "virtual-machine-interface", "d:p:b", "u-p", std::string("u-p"), json::object(), 1}, "{}");
    st.set_refs("u-b", "virtual_network_refs", {"u-a"});
    st.append_change(1, "create", a, a.body.dump());
    st.commit();
    st.begin();
    st.insert(ObjRow{"u-c", "virtual-network", "d:p:c", "u-p", std::nullopt, json::object(), 2}, "{}");
    st.rollback();
    CHECK_FALSE(st.get("u-c"));
    CHECK(st.get("u-a")->body["x"] == 1);
    CHECK(st.referrers("u-a").size() == 1);
    CHECK(st.last_revision() == 1);
    st.begin();
    CHECK(*st.alloc_id("vni", 1, 10, "o1") == 1);
    CHECK(*st.alloc_id("vni", 1, 10, "o2") == 2);
    CHECK(st.reserve_id("vni", 2, "o3") == std::optional<std::string>("o2"));
    st.release_owner("o1");
    CHECK(*st.alloc_id("vni", 1, 10, "o4") == 1);
    CHECK(*st.alloc_id("vni", 1, 10, "o5") == 3);
    st.commit();
  }
  {
    Store again(path);  // reopening an up-to-date file runs no migration
    CHECK(again.uuid_by_fq("virtual-network", "d:p:a") == std::optional<std::string>("u-a"));
  }
  unlink(path);
  unlink((std::string(path) + "-wal").c_str());
  unlink((std::string(path) + "-shm").c_str());
}
