// Helpers shared by the dashboard's unit tests.
#pragma once

#include <string>

#include "dashboard/api_router.h"

namespace mutuo::test {

// The value of response header `name` ("" when absent).
inline std::string header(const mutuo::dashboard::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace mutuo::test
