// mutuo/v1/probe-requests/{subject} (not retained, QoS 1, by the receiver): a
// request for second opinions. When a peer or check starts failing for some of
// its observers, before a quorum says "down", the receiver's health service asks
// for a few extra observers to probe it at once, preferably with label values
// (site, provider) unlike the failing observers'. The tracker, which alone knows
// who is online, where they are and whom they already probe, picks them and sends
// each a probe-now (common/messages/probe_now.h). Only the receiver's broker role
// may publish here and only the tracker's may read (docs/health.md, "Second
// opinions"). Schema: schemas/probe_request.schema.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct ProbeRequest {
  std::string subject;  // peer/{agent} or check/{check}; equals the topic's {subject}
  int64_t ts_ms = 0;    // when the receiver asked
  std::string reason;   // why, e.g. "first-failure"; [a-z0-9-]{1,32}
  uint32_t want = 3;    // extra observers wanted, 1 to kMaxProbeRequestWant
  // Observers whose newest result toward the subject failed.
  std::vector<std::string> failing;
  // Every observer already reporting on the subject: asking them again adds nothing.
  std::vector<std::string> observers;
  // Label key -> the values the failing observers carry: prefer observers
  // whose values differ (another site, another provider).
  std::map<std::string, std::vector<std::string>> avoid;

  bool operator==(const ProbeRequest&) const = default;
};

inline constexpr uint32_t kMaxProbeRequestWant = 16;
inline constexpr std::size_t kMaxProbeRequestObservers = 1024;
inline constexpr std::size_t kMaxProbeRequestPayload = 128 * 1024;
inline constexpr const char* kAllProbeRequests = "mutuo/v1/probe-requests/#";

// True for the subjects second opinions apply to: peer/{id} and check/{id}.
bool valid_probe_request_subject(std::string_view subject);
std::string probe_request_topic(std::string_view subject);  // mutuo/v1/probe-requests/{subject}
// The {subject} of a probe-requests topic when it is a valid one, else nullopt.
std::optional<std::string> probe_request_subject_of(std::string_view topic);

void to_json(nlohmann::json& j, const ProbeRequest& r);
std::string encode(const ProbeRequest& r);
Result<ProbeRequest> decode_probe_request(std::string_view payload);

}  // namespace mutuo
