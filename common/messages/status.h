// mutuo/v1/agents/{agent}/status (retained): an agent's presence. Published by
// the agent on connect ("online") and on clean shutdown ("offline", "shutdown");
// the broker publishes the last will ("offline", "lost") when the agent vanishes.
// Schema: schemas/status.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct Status {
  std::string agent;
  bool online = false;
  int64_t ts_ms = 0;
  std::string version;
  std::vector<std::string> addrs;  // literal IPs peers can probe; required when online
  uint16_t echo_port = 0;          // UDP echo responder; required (non-zero) when online
  codec::Labels labels;
  std::vector<std::string> probes;  // probe types this agent can run
  std::string reason;               // offline only: "shutdown" or "lost"
};

void to_json(nlohmann::json& j, const Status& s);
std::string encode(const Status& s);
Result<Status> decode_status(std::string_view payload);

}  // namespace mutuo
