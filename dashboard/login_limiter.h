// LoginLimiter: slows down password guessing. Each key (the peer address, and
// separately the user name) may fail `max_failures` times within `window_ms`;
// further attempts on that key are refused until the window has passed since
// the first of those failures. A success clears the user-name key only, so a
// guesser on one address cannot reset its own count by logging into a second
// account it owns.
//
// Behind a reverse proxy every request comes from the proxy's address; the
// user-name key still limits guessing per account (docs/security.md).
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace mutuo::dashboard {

class LoginLimiter {
 public:
  LoginLimiter(uint32_t max_failures = 5, int64_t window_ms = 5 * 60 * 1000,
               std::size_t max_keys = 100000);

  // 0 when an attempt for (addr, user) may go ahead now, else the milliseconds
  // until it may.
  int64_t retry_after_ms(const std::string& addr, const std::string& user, int64_t now_ms);

  void record_failure(const std::string& addr, const std::string& user, int64_t now_ms);
  void record_success(const std::string& user);

 private:
  struct Window {
    int64_t start_ms = 0;
    uint32_t failures = 0;
  };
  int64_t blocked_for(const std::string& key, int64_t now_ms);  // REQUIRES: mu_ held
  void fail(const std::string& key, int64_t now_ms);            // REQUIRES: mu_ held

  const uint32_t max_failures_;
  const int64_t window_ms_;
  const std::size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Window> windows_;  // guarded by mu_
};

}  // namespace mutuo::dashboard
