// mutuo/v1/checks/{check} (retained, by the dashboard or an operator's tool): one
// user-defined service check and where it runs. The tracker places each check on
// `observers` agents chosen among the eligible ones (live, listed in `agents` when
// that is given, and carrying every label of `selector`) and hands it to them in
// their assign/{agent}. A zero-length retained payload removes the check.
// Schema: schemas/check.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/assign.h"
#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct Check {
  std::string check;  // the check id, equal to the topic's {check}
  std::string type;   // "http" | "tcp" | "dns" | "icmp"
  std::string url;    // http: http:// or https:// URL (required)
  std::string host;   // tcp, icmp: target host (required); dns: server (optional)
  uint16_t port = 0;  // tcp: target port (required)
  std::string name;   // dns: the name to resolve (required)
  // http only: the final statuses that mean ok (empty: any 2xx), and a text the
  // body must contain ("": none).
  std::vector<uint16_t> expect_status;
  std::string expect_keyword;
  uint32_t interval_s = 30;
  uint32_t timeout_ms = 5000;
  uint32_t observers = 3;           // how many agents run it
  codec::Labels selector;           // eligible agents carry all these labels
  std::vector<std::string> agents;  // when non-empty, only these agents are eligible

  bool operator==(const Check&) const = default;
};

inline constexpr uint32_t kMaxCheckObservers = 1024;
inline constexpr std::size_t kMaxCheckAgents = 4096;

// What an agent that runs `c` receives in its assignment.
CheckTarget check_target(const Check& c);

void to_json(nlohmann::json& j, const Check& c);
std::string encode(const Check& c);
Result<Check> decode_check(std::string_view payload);

}  // namespace mutuo
