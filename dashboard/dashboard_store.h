// DashboardStore: the dashboard's own RocksDB (DESIGN.md, "Storage"), separate
// from the receiver's results store. It keeps user accounts (password hashes
// only) and agent registrations (never a token: the broker keeps its own salted
// hash of each agent's token, and the dashboard needs none).
//
// Keys: "user/{name}", "agent/{id}", "apitoken/{name}" and "setting/{name}", values JSON. Writes
// are synced (WAL fsync) so an answered request survives a crash. Compression is off: the data is
// small, and it keeps the files greppable, which the security tests use to prove no token is stored
// in plain form.
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace rocksdb {
class DB;
}

namespace mutuo::dashboard {

enum class Role { kViewer, kAdmin };
const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

struct UserRecord {
  std::string name;
  Role role = Role::kViewer;
  std::string password_hash;  // see password_hash.h
  int64_t created_ms = 0;
};

struct AgentRecord {
  std::string id;
  std::string display_name;
  std::map<std::string, std::string> labels;
  bool enabled = true;
  int64_t created_ms = 0;
  int64_t token_issued_ms = 0;  // when the current token was issued (registration or rotation)
};

// An API token for scripts: only its SHA-256 is kept (the token is 256 random
// bits, so a fast hash suffices).
struct ApiTokenRecord {
  std::string name;
  Role role = Role::kViewer;
  std::string sha256;  // hex of SHA-256 of the token
  int64_t created_ms = 0;
  std::string created_by;
};

class DashboardStore {
 public:
  // Opens (creating if missing) the store in `dir`.
  static Result<std::unique_ptr<DashboardStore>> open(const std::string& dir);
  ~DashboardStore();
  DashboardStore(const DashboardStore&) = delete;
  DashboardStore& operator=(const DashboardStore&) = delete;

  Result<bool> put_user(const UserRecord& user);
  std::optional<UserRecord> user(const std::string& name) const;
  std::vector<UserRecord> users() const;  // sorted by name
  Result<bool> delete_user(const std::string& name);

  Result<bool> put_agent(const AgentRecord& agent);
  std::optional<AgentRecord> agent(const std::string& id) const;
  std::vector<AgentRecord> agents() const;  // sorted by id
  Result<bool> delete_agent(const std::string& id);

  // Settings ("setting/{name}"): one JSON document each, e.g. the status page's.
  Result<bool> put_setting(const std::string& name, const std::string& json);
  std::optional<std::string> setting(const std::string& name) const;

  Result<bool> put_token(const ApiTokenRecord& token);
  std::vector<ApiTokenRecord> tokens() const;  // sorted by name
  Result<bool> delete_token(const std::string& name);

 private:
  explicit DashboardStore(rocksdb::DB* db) : db_(db) {}
  Result<bool> put(const std::string& key, const std::string& value);
  Result<bool> remove(const std::string& key);
  std::optional<std::string> get(const std::string& key) const;
  std::vector<std::string> scan(const std::string& prefix) const;

  rocksdb::DB* db_;  // owned
};

}  // namespace mutuo::dashboard
