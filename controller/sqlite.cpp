#include "controller/sqlite.h"

namespace vrf {

bool Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  int ext = sqlite3_extended_errcode(db_);
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(s_);
  throw SqliteError(ext, msg);
}

Sqlite::Sqlite(const std::string& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw SqliteError(rc, "cannot open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
}

Sqlite::~Sqlite() {
  for (auto& [sql, e] : cache_) sqlite3_finalize(e.first);
  sqlite3_close(db_);
}

void Sqlite::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw SqliteError(sqlite3_extended_errcode(db_), msg + " (in: " + sql.substr(0, 80) + ")");
  }
}

Stmt& Sqlite::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return *it->second.second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    throw SqliteError(sqlite3_errcode(db_), std::string(sqlite3_errmsg(db_)) + " (in: " + sql + ")");
  auto& e = cache_[sql];
  e.first = s;
  e.second = std::make_unique<Stmt>(db_, s);
  return *e.second;
}

}  // namespace vrf
