#pragma once
// The configuration service: schema-driven create/read/update/delete of every object
// type, reference integrity, revisions, tenancy checks and the calls into IPAM. All
// mutations are serialised by one lock and each is a single SQLite transaction that is
// committed before the caller gets an answer; the in-memory caches follow commits only.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <vector>

#include "controller/auth.h"
#include "controller/ipam.h"
#include "controller/schema.h"
#include "controller/store.h"

namespace vrf {

using schema::TypeSpec;

struct ListParams {
  std::optional<std::string> parent_id, parent_fq_name, fq_name, tag, project;
  bool detail = false;
  int64_t marker = 0;
  int limit = 200;
};

struct CreateOptions {
  json instance_ips = json::array();  // virtual-machine-interface: instance-ips to create with it
};

struct WatchBatch {
  std::vector<Change> changes;  // visible to the caller
  int64_t scanned_to = 0;       // resume point (includes invisible changes)
  bool reset = false;           // changes after the asked revision were trimmed: re-list
};

class ConfigService {
 public:
  struct Settings {
    int64_t default_asn = 64512;
    int64_t change_log_keep = 1000000;  // revisions of history kept for watch resumption
  };
  ConfigService(Store& st, Settings s);

  // Creates the default objects and, on first start, the admin token (returned once).
  std::optional<std::string> bootstrap();
  Principal authenticate(const std::string& bearer);

  json create(const TypeSpec& t, const json& body, const Principal& who, CreateOptions opts = {});
  json update(const TypeSpec& t, const std::string& uuid, const json& patch, const Principal& who);
  json remove(const TypeSpec& t, const std::string& uuid, const Principal& who);
  json read(const TypeSpec& t, const std::string& uuid, const Principal& who, bool back_refs = true);
  json list(const TypeSpec& t, const ListParams& p, const Principal& who);
  json fq_name_to_id(const std::string& type, const json& fq, const Principal& who);
  json id_to_fq_name(const std::string& uuid, const Principal& who);

  json create_token(const json& req, const Principal& who);  // {"agent_host": H}: an agent token
  json list_tokens(const Principal& who);
  void delete_token(const std::string& id, const Principal& who);

  int64_t revision();
  WatchBatch changes_since(int64_t rev, int limit, const Principal& who);
  // Blocks until the revision exceeds `rev`, the timeout passes or stop() is called.
  // Returns false once stopping.
  bool wait_for_change(int64_t rev, std::chrono::milliseconds timeout);
  void stop();
  std::map<std::string, int64_t> object_counts();

  // ---- used by type hooks, only while a mutation holds the lock ----
  Store& store() { return st_; }
  AddressAllocator& allocator() { return alloc_; }
  int64_t default_asn() const { return settings_.default_asn; }
  json create_locked(const TypeSpec& t, json obj, const Principal& who, const CreateOptions& opts, json& extra);
  // Deletes a loaded row unless children or referrers remain (409); returns the revision.
  // With `who`, a 409 names only the referrers it can see and counts the others.
  int64_t remove_locked(ObjRow row, const Principal* who = nullptr);
  // Subnet plans of a network at a given revision, parsed once (every port create
  // allocates from them). Dropped when a transaction rolls back.
  const std::vector<SubnetPlan>& network_subnets(const std::string& vn_uuid, int64_t revision,
                                                 const std::function<std::vector<SubnetPlan>()>& load);

 private:
  json create_agent_token(const json& req, const Principal& who);
  template <typename F>
  auto mutate(F&& f) -> decltype(f());
  ObjRow load_visible(Store& st, const TypeSpec* t, const std::string& uuid, const Principal& who);
  // This thread's read-only connection: reads never wait for the writer lock.
  Store& reader();
  json resolve_refs(const TypeSpec& t, json& obj, const Principal& who);
  json with_meta(ObjRow row);
  bool hide_invisible_refs(Store& st, const TypeSpec& t, json& obj, const Principal& who);
  void keep_invisible_refs(const TypeSpec& t, const json& old, json& patch, json& ref_uuids, const Principal& who);
  void persist(ObjRow& row, const char* op, const json& ref_uuids);
  void trim_change_log();
  void audit(const char* op, const std::string& type, const json& obj, const Principal& who);
  json create_default(const std::string& type, const json& obj, const Principal& admin);

  Store& st_;
  Settings settings_;
  AddressAllocator alloc_;
  std::mutex& mu_;  // the store's lock: one writer (SQLite allows one anyway), IPAM atomic
  int64_t rev_ = 0;
  int64_t trimmed_below_ = 0;  // changes before this revision are gone
  std::shared_mutex tokens_mu_;
  std::map<std::string, Principal> tokens_;  // token digest -> principal (mirrors the table)
  std::map<std::string, std::pair<int64_t, std::vector<SubnetPlan>>> vn_subnets_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  int64_t published_rev_ = 0;
  bool stopping_ = false;
};

// Per-type behaviour beyond the schema (IPAM, identifiers, naming rules), in type_hooks.cpp.
struct HookContext {
  ConfigService& svc;
  const Principal& who;
  std::string uuid;
  json& obj;              // full object being written (create) or merged result (update)
  const ObjRow* old;      // previous row on update/delete, null on create
  const CreateOptions* opts;
  json* extra;            // extra objects to return beside the created one
};
struct TypeHooks {
  std::function<void(HookContext&)> before_write;  // create and update
  std::function<void(HookContext&)> after_create;
  std::function<void(HookContext&)> before_delete;
};
const TypeHooks* hooks_for(const std::string& type);

std::string join_fq(const std::vector<std::string>& fq);
std::vector<std::string> split_fq(const std::string& fq);

}  // namespace vrf
