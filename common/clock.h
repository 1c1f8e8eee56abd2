// Wall-clock time as the bus carries it: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace mutuo {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mutuo
