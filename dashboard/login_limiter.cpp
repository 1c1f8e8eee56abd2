#include "dashboard/login_limiter.h"

#include <algorithm>

namespace mutuo::dashboard {

LoginLimiter::LoginLimiter(uint32_t max_failures, int64_t window_ms, std::size_t max_keys)
    : max_failures_(std::max<uint32_t>(1, max_failures)),
      window_ms_(window_ms),
      max_keys_(std::max<std::size_t>(2, max_keys)) {}

int64_t LoginLimiter::blocked_for(const std::string& key, int64_t now_ms) {
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  int64_t end = it->second.start_ms + window_ms_;
  if (end <= now_ms) {
    windows_.erase(it);
    return 0;
  }
  return it->second.failures >= max_failures_ ? end - now_ms : 0;
}

int64_t LoginLimiter::retry_after_ms(const std::string& addr, const std::string& user,
                                     int64_t now_ms) {
  std::lock_guard lock(mu_);
  return std::max(blocked_for("addr:" + addr, now_ms), blocked_for("user:" + user, now_ms));
}

void LoginLimiter::fail(const std::string& key, int64_t now_ms) {
  auto it = windows_.find(key);
  if (it != windows_.end() && it->second.start_ms + window_ms_ <= now_ms) {
    windows_.erase(it);
    it = windows_.end();
  }
  if (it == windows_.end()) {
    if (windows_.size() >= max_keys_) {
      // Forget expired windows; if that is not enough, the table is under attack
      // from many keys: start over rather than grow without bound.
      std::erase_if(windows_,
                    [&](const auto& kv) { return kv.second.start_ms + window_ms_ <= now_ms; });
      if (windows_.size() >= max_keys_) windows_.clear();
    }
    it = windows_.emplace(key, Window{now_ms, 0}).first;
  }
  ++it->second.failures;
}

void LoginLimiter::record_failure(const std::string& addr, const std::string& user,
                                  int64_t now_ms) {
  std::lock_guard lock(mu_);
  fail("addr:" + addr, now_ms);
  fail("user:" + user, now_ms);
}

void LoginLimiter::record_success(const std::string& user) {
  std::lock_guard lock(mu_);
  windows_.erase("user:" + user);
}

}  // namespace mutuo::dashboard
