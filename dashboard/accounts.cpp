#include "dashboard/accounts.h"

#include <regex>

namespace mutuo::dashboard {

std::optional<std::string> invalid_user_name(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9._-]{0,31}");
  if (!std::regex_match(name, re)) {
    return "invalid user name: use 1-32 of a-z, 0-9, '.', '_' and '-', starting with a letter or "
           "digit";
  }
  return std::nullopt;
}

std::optional<std::string> invalid_password(const std::string& password) {
  if (password.size() < 12) return "password too short: use at least 12 characters";
  if (password.size() > 1024) return "password longer than 1024 bytes";
  return std::nullopt;
}

Accounts::Accounts(DashboardStore* store, uint32_t iterations)
    : store_(store), iterations_(iterations), dummy_hash_(hash_password("mutuo", iterations)) {}

Result<UserRecord> Accounts::create_locked(const std::string& name, const std::string& password,
                                           Role role, int64_t now_ms) {
  if (auto why = invalid_user_name(name)) return Error{*why};
  if (auto why = invalid_password(password)) return Error{*why};
  if (store_->user(name)) return Error{"user '" + name + "' exists already"};
  UserRecord u{name, role, hash_password(password, iterations_), now_ms};
  if (auto put = store_->put_user(u); !put) return Error{put.error()};
  return u;
}

Result<UserRecord> Accounts::create(const std::string& name, const std::string& password, Role role,
                                    int64_t now_ms) {
  std::lock_guard lock(mu_);
  return create_locked(name, password, role, now_ms);
}

Result<UserRecord> Accounts::create_first_admin(const std::string& name,
                                                const std::string& password, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!store_->users().empty()) return Error{"the first admin exists already"};
  return create_locked(name, password, Role::kAdmin, now_ms);
}

std::optional<UserRecord> Accounts::authenticate(const std::string& name,
                                                 const std::string& password) {
  auto u = store_->user(name);
  if (!u) {
    verify_password(password, dummy_hash_);
    return std::nullopt;
  }
  if (!verify_password(password, u->password_hash)) return std::nullopt;
  return u;
}

Result<bool> Accounts::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!store_->user(name)) return Error{"no user '" + name + "'"};
  auto users = store_->users();
  auto u = store_->user(name);
  if (u->role == Role::kAdmin) {
    int admins = 0;
    for (const auto& x : users) admins += x.role == Role::kAdmin ? 1 : 0;
    if (admins <= 1) return Error{"cannot delete the last admin"};
  }
  return store_->delete_user(name);
}

}  // namespace mutuo::dashboard
