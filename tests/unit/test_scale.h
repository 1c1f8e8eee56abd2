// How much of a unit test's generated work to do: MUTUO_TEST_SCALE percent of
// it (1 to 100, default 100). The unit tests run under ASan+UBSan at -O0
// (scripts/hardening.sh), where the differential and churn loops take 3-5
// times as long: scripts/test.sh runs them at 25 unless MUTUO_TEST_SCALE is set.
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
