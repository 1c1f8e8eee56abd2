// Logging setup shared by every program, and a rate limiter for log lines that
// hostile or broken peers could otherwise trigger thousands of times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace mutuo {

// Logs to stderr as "<time> <program> <level> <message>". `level` is one of
// trace, debug, info, warn, error; anything else means info.
void init_logging(const std::string& program, const std::string& level);

// Allows at most `per_interval` events per `interval`; counts the suppressed
// ones so the next allowed line can say how many were dropped. Thread-safe.
class LogLimiter {
 public:
  LogLimiter(uint32_t per_interval, std::chrono::milliseconds interval)
      : per_interval_(per_interval), interval_(interval) {}

  // True when this event may be logged; `*suppressed` then holds how many were
  // dropped since the last allowed one.
  bool allow(uint64_t* suppressed);

 private:
  const uint32_t per_interval_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace mutuo
