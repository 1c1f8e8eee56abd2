// SessionStore: logged-in dashboard sessions, in memory (a dashboard restart logs
// everyone out). The browser holds only the random session id, in an HttpOnly,
// SameSite=Strict cookie; each session also has its own random CSRF token, which
// the page reads from GET /api/session and sends back in the X-CSRF-Token header
// of every state-changing request.
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "dashboard/dashboard_store.h"

namespace mutuo::dashboard {

struct Session {
  std::string user;
  Role role = Role::kViewer;
  std::string csrf;
  int64_t expires_ms = 0;
};

class SessionStore {
 public:
  // Sessions last `ttl_ms` from login; at most `max_sessions` live at once (the
  // oldest is dropped first).
  explicit SessionStore(int64_t ttl_ms = 12LL * 3600 * 1000, std::size_t max_sessions = 10000);

  // A new session for `user`; returns its id (the cookie value) and the session.
  std::pair<std::string, Session> create(const std::string& user, Role role, int64_t now_ms);

  // The live session with this id, if any (expired ones are removed).
  std::optional<Session> find(const std::string& id, int64_t now_ms);

  void remove(const std::string& id);
  // Ends every session of `user` (deleted account, changed role).
  void remove_user(const std::string& user);

  int64_t ttl_ms() const { return ttl_ms_; }

 private:
  void expire(int64_t now_ms);  // REQUIRES: mu_ held

  const int64_t ttl_ms_;
  const std::size_t max_sessions_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // guarded by mu_
};

}  // namespace mutuo::dashboard
