#pragma once
// Thin RAII wrapper over libsqlite3: a connection with a cache of prepared statements
// (preparing on every call would dominate the cost of small writes).
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace vrf {

struct SqliteError : std::runtime_error {
  int code;
  SqliteError(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  // Binds positional parameters (1-based) in order.
  template <typename... A>
  Stmt& bind(const A&... a) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    int i = 1;
    (bind_one(i++, a), ...);
    return *this;
  }
  bool step();  // true when a row is available
  void run() { while (step()) {} }
  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, sqlite3_column_bytes(s_, col)) : std::string();
  }

 private:
  void bind_one(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_one(int i, int v) { sqlite3_bind_int64(s_, i, v); }
  void bind_one(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind_one(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT); }
  void bind_one(int i, const char* v) { sqlite3_bind_text(s_, i, v, -1, SQLITE_TRANSIENT); }
  void bind_one(int i, const std::optional<std::string>& v) {
    if (v) bind_one(i, *v); else sqlite3_bind_null(s_, i);
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Sqlite {
 public:
  explicit Sqlite(const std::string& path);
  ~Sqlite();
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;
  void exec(const std::string& sql);
  Stmt& prepare(const std::string& sql);  // cached by SQL text
  int64_t changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, std::pair<sqlite3_stmt*, std::unique_ptr<Stmt>>> cache_;
};

}  // namespace vrf
