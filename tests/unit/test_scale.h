// How much of a unit test's generated work to do: MUTUO_TEST_SCALE percent of
// it (1 to 100, default 100). scripts/hardening.sh runs the unit tests under
// ASan+UBSan at -O0, where the differential and churn loops take 3-5 times as
// long, at a lower scale: the fuzzers cover the same decoders there, and the
// full loops still run in the main build's ctest.
#pragma once

#include <algorithm>
#include <cstdlib>

namespace mutuo::test {

inline int scaled(int n) {
  int percent = 100;
  if (const char* s = std::getenv("MUTUO_TEST_SCALE")) percent = std::clamp(std::atoi(s), 1, 100);
  return std::max(1, n * percent / 100);
}

}  // namespace mutuo::test
