#include "dashboard/session_store.h"

#include <algorithm>

#include "dashboard/random_token.h"

namespace mutuo::dashboard {

SessionStore::SessionStore(int64_t ttl_ms, std::size_t max_sessions)
    : ttl_ms_(ttl_ms), max_sessions_(std::max<std::size_t>(1, max_sessions)) {}

void SessionStore::expire(int64_t now_ms) {
  std::erase_if(sessions_, [now_ms](const auto& kv) { return kv.second.expires_ms <= now_ms; });
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& x, const auto& y) { return x.second.expires_ms < y.second.expires_ms; });
    sessions_.erase(oldest);
  }
}

std::pair<std::string, Session> SessionStore::create(const std::string& user, Role role,
                                                     int64_t now_ms) {
  Session s{user, role, random_token(), now_ms + ttl_ms_};
  std::string id = random_token();
  std::lock_guard lock(mu_);
  expire(now_ms);
  sessions_[id] = s;
  return {id, s};
}

std::optional<Session> SessionStore::find(const std::string& id, int64_t now_ms) {
  if (id.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

void SessionStore::remove_user(const std::string& user) {
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&user](const auto& kv) { return kv.second.user == user; });
}

}  // namespace mutuo::dashboard
