// Accounts: the dashboard's users, admin or viewer, with passwords stored only
// as salted slow hashes (password_hash.h) in the dashboard's own store.
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/password_hash.h"

namespace mutuo::dashboard {

// User names: [a-z0-9][a-z0-9._-]{0,31}. Passwords: 12 to 1024 bytes.
std::optional<std::string> invalid_user_name(const std::string& name);
std::optional<std::string> invalid_password(const std::string& password);

class Accounts {
 public:
  // REQUIRES: store outlives the accounts. `iterations`: PBKDF2 cost of new hashes.
  explicit Accounts(DashboardStore* store, uint32_t iterations = kPasswordIterations);

  bool empty() const { return store_->users().empty(); }

  // Creates a user; an error when the name or password breaks the rules above or
  // the name is taken.
  Result<UserRecord> create(const std::string& name, const std::string& password, Role role,
                            int64_t now_ms);

  // Creates the first admin if and only if there is no user yet (atomically with
  // respect to other calls of this object). Error when users exist already.
  Result<UserRecord> create_first_admin(const std::string& name, const std::string& password,
                                        int64_t now_ms);

  // The user, when `password` is theirs. Takes about as long for an unknown user
  // as for a wrong password, so timing does not tell which names exist.
  std::optional<UserRecord> authenticate(const std::string& name, const std::string& password);

  Result<bool> remove(const std::string& name);
  std::vector<UserRecord> list() const { return store_->users(); }

 private:
  Result<UserRecord> create_locked(const std::string& name, const std::string& password, Role role,
                                   int64_t now_ms);  // REQUIRES: mu_ held

  DashboardStore* store_;
  const uint32_t iterations_;
  const std::string dummy_hash_;  // verified against for unknown users
  std::mutex mu_;                 // serialises creation and removal
};

}  // namespace mutuo::dashboard
