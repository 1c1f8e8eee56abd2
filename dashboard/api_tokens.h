// ApiTokens: bearer tokens for scripts ("Authorization: Bearer mutuo_..."), each
// with a name and a role, created by an admin and shown once. The dashboard keeps
// only each token's SHA-256 (DashboardStore). A token authenticates API calls
// without a cookie, so it needs no CSRF token (a browser never sends it by
// itself); tokens cannot manage tokens or users.
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "dashboard/dashboard_store.h"

namespace mutuo::dashboard {

inline constexpr const char* kApiTokenPrefix = "mutuo_";

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

class ApiTokens {
 public:
  explicit ApiTokens(DashboardStore* store) : store_(store) {}

  // A new token (returned once, with its record). Names follow the user-name
  // rules; an error when the name is taken or the store fails.
  Result<std::pair<ApiTokenRecord, std::string>> create(const std::string& name, Role role,
                                                        const std::string& created_by,
                                                        int64_t now_ms);
  // The record of this token, if it is a live one.
  std::optional<ApiTokenRecord> find(const std::string& token) const;
  std::vector<ApiTokenRecord> list() const { return store_->tokens(); }
  // Error when no token has that name.
  Result<bool> remove(const std::string& name);

 private:
  DashboardStore* store_;
  std::mutex mu_;  // serialises creation and removal
};

}  // namespace mutuo::dashboard
