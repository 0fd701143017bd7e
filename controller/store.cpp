#include "controller/store.h"

#include <chrono>
#include <filesystem>

namespace vrf {

namespace {
// Each entry upgrades the database from version i to i+1; never edit a shipped step,
// append a new one (PRAGMA user_version records how far a file has been migrated).
const char* kMigrations[] = {
    // 0 -> 1: objects, reference graph, change log
    R"sql(
    CREATE TABLE objects(
      id INTEGER PRIMARY KEY,
      uuid TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      fq_name TEXT NOT NULL,
      parent_uuid TEXT NOT NULL DEFAULT '',
      project_uuid TEXT,
      body TEXT NOT NULL,
      revision INTEGER NOT NULL,
      UNIQUE(type, fq_name));
    CREATE INDEX objects_parent ON objects(parent_uuid);
    CREATE INDEX objects_project ON objects(project_uuid, type);
    CREATE TABLE refs(
      from_uuid TEXT NOT NULL, field TEXT NOT NULL, to_uuid TEXT NOT NULL,
      PRIMARY KEY(from_uuid, field, to_uuid)) WITHOUT ROWID;
    CREATE INDEX refs_to ON refs(to_uuid);
    CREATE TABLE changes(
      rev INTEGER PRIMARY KEY AUTOINCREMENT,
      op TEXT NOT NULL, type TEXT NOT NULL, uuid TEXT NOT NULL,
      project_uuid TEXT, body TEXT NOT NULL, at REAL NOT NULL);
    )sql",
    // 1 -> 2: allocations and API tokens
    R"sql(
    CREATE TABLE ip_alloc(
      pool TEXT NOT NULL, addr TEXT NOT NULL, owner TEXT NOT NULL,
      PRIMARY KEY(pool, addr)) WITHOUT ROWID;
    CREATE INDEX ip_alloc_owner ON ip_alloc(owner);
    CREATE TABLE id_alloc(
      kind TEXT NOT NULL, value INTEGER NOT NULL, owner TEXT NOT NULL,
      PRIMARY KEY(kind, value)) WITHOUT ROWID;
    CREATE INDEX id_alloc_owner ON id_alloc(owner);
    CREATE TABLE tokens(
      token_sha256 TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,
      project_uuid TEXT, role TEXT NOT NULL, created REAL NOT NULL);
    )sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == Store::kSchemaVersion);

TokenRow token_from(Stmt& s) {
  TokenRow t{s.text(0), s.text(1), std::nullopt, s.text(3)};
  if (!s.is_null(2)) t.project = s.text(2);
  return t;
}

// The first row of a query mapped through f, or nullopt; leaves the statement reset.
template <typename F>
auto first_row(Stmt& s, F f) -> std::optional<decltype(f(s))> {
  if (!s.step()) return std::nullopt;
  auto v = f(s);
  s.run();
  return v;
}

int64_t first_int(Stmt& s) {
  return first_row(s, [](Stmt& s) { return s.i64(0); }).value_or(0);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

Store::Store(const std::string& path, Mode mode) : path_(path), db_(path) {
  if (mode == Mode::reader) {
    db_.exec("PRAGMA query_only=1");
    db_.exec("PRAGMA cache_size=-16384");  // 16 MiB per reader thread
    return;
  }
  // Small pages: a port create dirties a leaf in each of ~10 b-trees, and every dirty
  // page is written whole to the WAL at commit; 2 KiB pages halve those bytes against
  // the 4 KiB default (measured: ~25% less system time per create) while a typical
  // object body still fits in one page. Only takes effect when the file is created.
  db_.exec("PRAGMA page_size=2048");
  // WAL + synchronous=NORMAL: a commit is durable against process crashes (SIGKILL)
  // as soon as it returns; an OS crash may lose the last commits but never corrupts.
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=OFF");
  db_.exec("PRAGMA cache_size=-65536");  // 64 MiB
  db_.exec("PRAGMA wal_autocheckpoint=0");
  migrate();
  checkpointer_ = std::thread(&Store::checkpoint_loop, this, path);
}

Store::~Store() {
  {
    std::lock_guard lk(ck_mu_);
    ck_stop_ = true;
  }
  ck_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

// A PASSIVE checkpoint copies committed pages into the database (and fsyncs it) without
// blocking writers, but under a steady stream of commits it never catches up completely,
// so the WAL would never restart and would grow without bound (slowing every page
// lookup). Once it is big, writers are paused for a TRUNCATE of the small remainder.
void Store::checkpoint_loop(std::string path) {
  constexpr uintmax_t kResetBytes = 32u << 20;
  Sqlite ck(path);
  // TRUNCATE waits for readers of the WAL while writers are paused: give up quickly
  // and retry next round rather than stall writes behind a long read.
  ck.exec("PRAGMA busy_timeout=200");
  std::unique_lock lk(ck_mu_);
  while (!ck_cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return ck_stop_; })) {
    lk.unlock();
    try {
      ck.exec("PRAGMA wal_checkpoint(PASSIVE)");
      std::error_code ec;
      if (std::filesystem::file_size(path + "-wal", ec) > kResetBytes && !ec) {
        std::lock_guard writers(conn_mu_);
        ck.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      }
    } catch (const SqliteError&) {
      // busy: try again next round; the WAL keeps every commit meanwhile
    }
    lk.lock();
  }
  lk.unlock();
  try {
    ck.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // leave a compact file behind on shutdown
  } catch (const SqliteError&) {
  }
}

int Store::schema_version() {
  auto& s = db_.prepare("PRAGMA user_version");
  s.bind();
  return int(first_int(s));
}

void Store::migrate() {
  int v = schema_version();
  if (v > kSchemaVersion)
    throw SqliteError(0, "database schema version " + std::to_string(v) + " is newer than this controller (" +
                             std::to_string(kSchemaVersion) + ")");
  for (; v < kSchemaVersion; ++v) {
    db_.exec("BEGIN IMMEDIATE");
    try {
      db_.exec(kMigrations[v]);
      db_.exec("PRAGMA user_version=" + std::to_string(v + 1));
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  }
}

void Store::rollback() {
  if (!sqlite3_get_autocommit(db_.raw())) db_.exec("ROLLBACK");
}

ObjRow Store::row_from(Stmt& s, int c, bool with_body) {
  ObjRow o;
  o.uuid = s.text(c);
  o.type = s.text(c + 1);
  o.fq = s.text(c + 2);
  o.parent_uuid = s.text(c + 3);
  if (!s.is_null(c + 4)) o.project = s.text(c + 4);
  if (with_body) o.body = json::parse(s.text(c + 5));
  o.revision = s.i64(c + 6);
  return o;
}

#define OBJ_COLS "uuid, type, fq_name, parent_uuid, project_uuid, body, revision"

std::optional<ObjRow> Store::get(const std::string& uuid) {
  auto& s = db_.prepare("SELECT " OBJ_COLS " FROM objects WHERE uuid=?");
  s.bind(uuid);
  return first_row(s, [this](Stmt& s) { return row_from(s, 0); });
}

#define HEAD_COLS "uuid, type, fq_name, parent_uuid, project_uuid, NULL, revision"

std::optional<ObjRow> Store::head(const std::string& uuid) {
  auto& s = db_.prepare("SELECT " HEAD_COLS " FROM objects WHERE uuid=?");
  s.bind(uuid);
  return first_row(s, [this](Stmt& s) { return row_from(s, 0, false); });
}

std::optional<ObjRow> Store::head_by_fq(const std::string& type, const std::string& fq) {
  auto& s = db_.prepare("SELECT " HEAD_COLS " FROM objects WHERE type=? AND fq_name=?");
  s.bind(type, fq);
  return first_row(s, [this](Stmt& s) { return row_from(s, 0, false); });
}

std::optional<std::string> Store::uuid_by_fq(const std::string& type, const std::string& fq) {
  auto& s = db_.prepare("SELECT uuid FROM objects WHERE type=? AND fq_name=?");
  s.bind(type, fq);
  return first_row(s, [](Stmt& s) { return s.text(0); });
}

void Store::insert(const ObjRow& o, const std::string& body) {
  db_.prepare("INSERT INTO objects(" OBJ_COLS ") VALUES(?,?,?,?,?,?,?)")
      .bind(o.uuid, o.type, o.fq, o.parent_uuid, o.project, body, o.revision)
      .run();
}

void Store::update(const ObjRow& o, const std::string& body) {
  db_.prepare("UPDATE objects SET body=?, revision=? WHERE uuid=?").bind(body, o.revision, o.uuid).run();
}

void Store::remove(const std::string& uuid) {
  db_.prepare("DELETE FROM objects WHERE uuid=?").bind(uuid).run();
  clear_refs(uuid);
}

std::vector<std::pair<int64_t, ObjRow>> Store::list(const ListQuery& q) {
  // The SQL text varies only with which filters are present, so the statement cache
  // stays small; every value is bound, never spliced.
  std::string sql = "SELECT id, " OBJ_COLS " FROM objects o WHERE id > ?1";
  if (!q.type.empty()) sql += " AND type = ?2";
  if (q.parent_uuid) sql += " AND parent_uuid = ?3";
  if (q.fq) sql += " AND fq_name = ?4";
  if (q.project) sql += " AND project_uuid = ?5";
  if (q.visible_project) sql += " AND (project_uuid = ?6 OR project_uuid IS NULL)";
  if (q.tag_name)
    sql += " AND EXISTS (SELECT 1 FROM refs r JOIN objects t ON t.uuid = r.to_uuid"
           " WHERE r.from_uuid = o.uuid AND r.field = 'tag_refs' AND t.type = 'tag'"
           " AND (t.fq_name = ?7 OR t.fq_name LIKE '%:' || ?7))";
  sql += " ORDER BY id LIMIT ?8";
  auto& s = db_.prepare(sql);
  s.bind(q.after_id, q.type, q.parent_uuid.value_or(""), q.fq.value_or(""), q.project.value_or(""),
         q.visible_project.value_or(""), q.tag_name.value_or(""), int64_t(q.limit));
  std::vector<std::pair<int64_t, ObjRow>> out;
  while (s.step()) out.emplace_back(s.i64(0), row_from(s, 1));
  return out;
}

int64_t Store::count(const std::string& type) {
  auto& s = db_.prepare("SELECT count(*) FROM objects WHERE type=?");
  s.bind(type);
  return first_int(s);
}

void Store::set_refs(const std::string& from, const std::string& field, const std::vector<std::string>& to) {
  db_.prepare("DELETE FROM refs WHERE from_uuid=? AND field=?").bind(from, field).run();
  auto& ins = db_.prepare("INSERT OR IGNORE INTO refs(from_uuid, field, to_uuid) VALUES(?,?,?)");
  for (auto& t : to) ins.bind(from, field, t).run();
}

void Store::clear_refs(const std::string& from) { db_.prepare("DELETE FROM refs WHERE from_uuid=?").bind(from).run(); }

std::vector<RefRow> Store::referrers(const std::string& to_uuid, int limit) {
  auto& s = db_.prepare(
      "SELECT r.from_uuid, r.field, o.type, o.fq_name FROM refs r JOIN objects o ON o.uuid = r.from_uuid"
      " WHERE r.to_uuid = ? ORDER BY o.id LIMIT ?");
  s.bind(to_uuid, int64_t(limit));
  std::vector<RefRow> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

std::vector<ObjRow> Store::children(const std::string& parent_uuid, int limit) {
  auto& s = db_.prepare("SELECT " OBJ_COLS " FROM objects WHERE parent_uuid=? ORDER BY id LIMIT ?");
  s.bind(parent_uuid, int64_t(limit));
  std::vector<ObjRow> out;
  while (s.step()) out.push_back(row_from(s, 0));
  return out;
}

void Store::append_change(int64_t rev, const std::string& op, const ObjRow& o, const std::string& body) {
  db_.prepare("INSERT INTO changes(rev, op, type, uuid, project_uuid, body, at) VALUES(?,?,?,?,?,?,?)")
      .bind(rev, op, o.type, o.uuid, o.project, body, now_s())
      .run();
}

int64_t Store::last_revision() {
  auto& s = db_.prepare("SELECT coalesce(max(rev), 0) FROM changes");
  s.bind();
  return first_int(s);
}

int64_t Store::first_revision() {
  auto& s = db_.prepare("SELECT coalesce(min(rev), 0) FROM changes");
  s.bind();
  return first_int(s);
}

void Store::trim_changes(int64_t before_rev) {
  db_.prepare("DELETE FROM changes WHERE rev < ?").bind(before_rev).run();
}

std::vector<Change> Store::changes_since(int64_t rev, int limit) {
  auto& s = db_.prepare("SELECT rev, op, type, uuid, project_uuid, body FROM changes WHERE rev > ? ORDER BY rev LIMIT ?");
  s.bind(rev, int64_t(limit));
  std::vector<Change> out;
  while (s.step()) {
    Change c{s.i64(0), s.text(1), s.text(2), s.text(3), std::nullopt, s.text(5)};
    if (!s.is_null(4)) c.project = s.text(4);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> Store::allocated_ips(const std::string& pool) {
  auto& s = db_.prepare("SELECT addr FROM ip_alloc WHERE pool=?");
  s.bind(pool);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void Store::insert_ip(const std::string& pool, const std::string& addr, const std::string& owner) {
  db_.prepare("INSERT INTO ip_alloc(pool, addr, owner) VALUES(?,?,?)").bind(pool, addr, owner).run();
}

int64_t Store::count_ips(const std::string& pool) {
  auto& s = db_.prepare("SELECT count(*) FROM ip_alloc WHERE pool=?");
  s.bind(pool);
  return first_int(s);
}

std::optional<int64_t> Store::alloc_id(const std::string& kind, int64_t lo, int64_t hi, const std::string& owner) {
  // Lowest gap: `lo` itself if free, else the smallest taken value whose successor is free.
  auto& s = db_.prepare(
      "SELECT ?2 WHERE NOT EXISTS (SELECT 1 FROM id_alloc WHERE kind=?1 AND value=?2)"
      " UNION ALL SELECT * FROM (SELECT a.value + 1 FROM id_alloc a WHERE a.kind=?1 AND a.value >= ?2 AND a.value < ?3"
      " AND NOT EXISTS (SELECT 1 FROM id_alloc b WHERE b.kind=?1 AND b.value=a.value+1) ORDER BY a.value LIMIT 1)"
      " LIMIT 1");
  s.bind(kind, lo, hi);
  if (!s.step()) return std::nullopt;
  int64_t v = s.i64(0);
  s.run();
  db_.prepare("INSERT INTO id_alloc(kind, value, owner) VALUES(?,?,?)").bind(kind, v, owner).run();
  return v;
}

std::optional<std::string> Store::reserve_id(const std::string& kind, int64_t value, const std::string& owner) {
  auto& s = db_.prepare("SELECT owner FROM id_alloc WHERE kind=? AND value=?");
  s.bind(kind, value);
  if (s.step()) {
    std::string o = s.text(0);
    s.run();
    if (o != owner) return o;
    return std::nullopt;
  }
  db_.prepare("INSERT INTO id_alloc(kind, value, owner) VALUES(?,?,?)").bind(kind, value, owner).run();
  return std::nullopt;
}

void Store::release_id(const std::string& kind, int64_t value, const std::string& owner) {
  db_.prepare("DELETE FROM id_alloc WHERE kind=? AND value=? AND owner=?").bind(kind, value, owner).run();
}

std::optional<int64_t> Store::id_of_owner(const std::string& kind, const std::string& owner) {
  auto& s = db_.prepare("SELECT value FROM id_alloc WHERE kind=? AND owner=?");
  s.bind(kind, owner);
  return first_row(s, [](Stmt& s) { return s.i64(0); });
}

std::vector<std::pair<std::string, std::string>> Store::release_owner(const std::string& owner) {
  auto& s = db_.prepare("SELECT pool, addr FROM ip_alloc WHERE owner=?");
  s.bind(owner);
  std::vector<std::pair<std::string, std::string>> freed;
  while (s.step()) freed.emplace_back(s.text(0), s.text(1));
  db_.prepare("DELETE FROM ip_alloc WHERE owner=?").bind(owner).run();
  db_.prepare("DELETE FROM id_alloc WHERE owner=?").bind(owner).run();
  return freed;
}

void Store::insert_token(const TokenRow& t) {
  db_.prepare("INSERT INTO tokens(token_sha256, id, project_uuid, role, created) VALUES(?,?,?,?,?)")
      .bind(t.token_sha256, t.id, t.project, t.role, now_s())
      .run();
}

std::vector<TokenRow> Store::tokens() {
  auto& s = db_.prepare("SELECT id, token_sha256, project_uuid, role FROM tokens ORDER BY created");
  s.bind();
  std::vector<TokenRow> out;
  while (s.step()) out.push_back(token_from(s));
  return out;
}

bool Store::delete_token(const std::string& id) {
  db_.prepare("DELETE FROM tokens WHERE id=?").bind(id).run();
  return db_.changes() > 0;
}

}  // namespace vrf
