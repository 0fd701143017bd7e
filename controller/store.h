#pragma once
// Durable state of the controller in one SQLite file (WAL mode). The store knows tables,
// not object semantics: objects (JSON bodies), the reference graph, the change log that
// gives every mutation its revision, address/identifier allocations and API tokens.
// Callers wrap each API mutation in begin()/commit() so it is all-or-nothing.
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "controller/sqlite.h"

namespace vrf {

using json = nlohmann::json;

struct ObjRow {
  std::string uuid, type, fq, parent_uuid;
  std::optional<std::string> project;  // owning project uuid; nullopt = global object
  json body;
  int64_t revision = 0;
};

struct RefRow {
  std::string from_uuid, field, from_type, from_fq;
};

struct Change {
  int64_t rev;
  std::string op, type, uuid;
  std::optional<std::string> project;
  std::string body;  // JSON text of the object after (create/update) or before (delete)
};

struct TokenRow {
  std::string id, token_sha256;  // only a digest is stored: a stolen database grants nothing
  std::optional<std::string> project;
  std::string role;
};

struct ListQuery {
  std::string type;
  std::optional<std::string> parent_uuid, fq, project, tag_name;
  std::optional<std::string> visible_project;  // non-admin: own project + global objects
  int64_t after_id = 0;
  int limit = 1000;
};

class Store {
 public:
  static constexpr int kSchemaVersion = 2;
  // One writer Store owns the file (pragmas, migrations, checkpoints); any number of
  // reader Stores (one per thread) read committed snapshots concurrently with it (WAL).
  enum class Mode { writer, reader };
  explicit Store(const std::string& path, Mode mode = Mode::writer);
  ~Store();
  const std::string& path() const { return path_; }
  // Whoever uses the store holds this lock around every use (the connection is not
  // shared between threads); the checkpointer takes it briefly to reset the WAL.
  std::mutex& mutex() { return conn_mu_; }
  int schema_version();

  void begin() { db_.prepare("BEGIN IMMEDIATE").run(); }
  void commit() { db_.prepare("COMMIT").run(); }
  void rollback();

  std::optional<ObjRow> get(const std::string& uuid);
  // Identity only (uuid, type, fq, parent, project, revision; body left null): for
  // reference and parent checks, which need no JSON parsing.
  std::optional<ObjRow> head(const std::string& uuid);
  std::optional<ObjRow> head_by_fq(const std::string& type, const std::string& fq);
  std::optional<std::string> uuid_by_fq(const std::string& type, const std::string& fq);
  // `body` is o.body serialised once by the caller (it is also logged as the change).
  void insert(const ObjRow& o, const std::string& body);
  void update(const ObjRow& o, const std::string& body);
  void remove(const std::string& uuid);
  // Rows plus the id to pass as after_id for the next page.
  std::vector<std::pair<int64_t, ObjRow>> list(const ListQuery& q);
  int64_t count(const std::string& type);

  void set_refs(const std::string& from, const std::string& field, const std::vector<std::string>& to);
  void clear_refs(const std::string& from);
  std::vector<RefRow> referrers(const std::string& to_uuid, int limit = 100);
  std::vector<ObjRow> children(const std::string& parent_uuid, int limit = 100);

  // `rev` is chosen by the caller (the service numbers mutations under its write lock).
  void append_change(int64_t rev, const std::string& op, const ObjRow& o, const std::string& body);
  int64_t last_revision();
  int64_t first_revision();                 // oldest change still logged (0 if none)
  void trim_changes(int64_t before_rev);    // forgets changes older than before_rev
  std::vector<Change> changes_since(int64_t rev, int limit);

  std::vector<std::string> allocated_ips(const std::string& pool);
  void insert_ip(const std::string& pool, const std::string& addr, const std::string& owner);
  int64_t count_ips(const std::string& pool);

  // Lowest free integer in [lo, hi] for `kind`; nullopt if the range is full.
  std::optional<int64_t> alloc_id(const std::string& kind, int64_t lo, int64_t hi, const std::string& owner);
  // Claims a caller-chosen value; returns the current owner if it is taken by someone else.
  std::optional<std::string> reserve_id(const std::string& kind, int64_t value, const std::string& owner);
  void release_id(const std::string& kind, int64_t value, const std::string& owner);
  // Owner-keyed lookup used for stable per-name identifiers (custom tag types).
  std::optional<int64_t> id_of_owner(const std::string& kind, const std::string& owner);
  // Releases every address and identifier held by `owner` (object deletion); returns
  // the (pool, address) pairs freed so the allocator cache can follow.
  std::vector<std::pair<std::string, std::string>> release_owner(const std::string& owner);

  void insert_token(const TokenRow& t);
  std::vector<TokenRow> tokens();
  bool delete_token(const std::string& id);

 private:
  void migrate();
  ObjRow row_from(Stmt& s, int first_col, bool with_body = true);
  void checkpoint_loop(std::string path);
  std::mutex conn_mu_;
  std::string path_;
  Sqlite db_;
  // WAL checkpoints run on their own connection and thread so that copying pages back
  // into the database never stalls a request (auto-checkpoint would run inside commit).
  std::thread checkpointer_;
  std::mutex ck_mu_;
  std::condition_variable ck_cv_;
  bool ck_stop_ = false;
};

}  // namespace vrf
