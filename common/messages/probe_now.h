// mutuo/v1/probe-now/{agent} (not retained, QoS 1, by the tracker): probe these
// targets now, as a second opinion. The tracker sends it to a few agents it picked
// for a probe request (common/messages/probe_request.h); the agent runs `rounds`
// extra rounds toward the targets, `every_ms` apart, starting at once, and
// publishes their results as usual, so the receiver's quorum has the extra votes
// within seconds. Nothing else changes: the agent's assignment stays as it is.
// A message arriving after `expires` (an agent that was away) is ignored. Only
// the tracker's broker role may publish here; each agent may read only its own
// topic. Schema: schemas/probe_now.schema.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/assign.h"
#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct ProbeNow {
  std::string agent;                // the agent asked; equals the topic's {agent}
  std::string subject;              // what the request was about: peer/{agent} or check/{check}
  int64_t ts_ms = 0;                // when the tracker sent it
  int64_t expires_ms = 0;           // not to be started after this; > ts
  uint32_t rounds = 2;              // extra rounds, 1 to kMaxProbeNowRounds
  uint32_t every_ms = 1000;         // between them, 100 to 60000
  std::vector<PeerTarget> peers;    // as in an assignment, at most kMaxProbeNowTargets
  std::vector<CheckTarget> checks;  // as in an assignment, at most kMaxProbeNowTargets

  bool operator==(const ProbeNow&) const = default;
};

inline constexpr uint32_t kMaxProbeNowRounds = 5;
inline constexpr std::size_t kMaxProbeNowTargets = 16;
inline constexpr std::size_t kMaxProbeNowPayload = 64 * 1024;
inline constexpr const char* kAllProbeNow = "mutuo/v1/probe-now/+";

std::string probe_now_topic(std::string_view agent);  // mutuo/v1/probe-now/{agent}
// The {agent} of a probe-now topic with a valid id, else nullopt.
std::optional<std::string> probe_now_agent_of(std::string_view topic);

void to_json(nlohmann::json& j, const ProbeNow& p);
std::string encode(const ProbeNow& p);
Result<ProbeNow> decode_probe_now(std::string_view payload);

}  // namespace mutuo
