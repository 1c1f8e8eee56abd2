// mutuo/v1/alerts/{subject} (retained, QoS 1, by the receiver): the current health
// of one subject with the evidence behind it. Subjects are
//   peer/{agent}                     an agent as a probe target,
//   check/{check}                    a user-defined service check,
//   partition/{label}/{a}/{b}        two groups of agents (label values a < b)
//                                    that cannot reach each other.
// Published on every state change (receiver/health/alerting.h decides when).
// Schema: schemas/alert.schema.json.
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

// kOffline comes only from presence (the agent's last will or clean shutdown),
// never from probes: "the agent is gone" and "the target is unreachable" differ.
enum class HealthState { kUp, kDegraded, kDown, kUnknown, kOffline };

std::string_view to_string(HealthState s);  // "up", "degraded", ...
std::optional<HealthState> parse_health_state(std::string_view s);

// What one observer saw of the subject over its recent window.
struct ObserverEvidence {
  uint32_t samples = 0;          // results in the window
  uint32_t failures = 0;         // of which failed outright
  std::optional<double> loss;    // mean packet loss (0..1); 1 for a failed check
  std::optional<double> rtt_ms;  // mean round-trip or total time of answered probes
  int64_t last_ts_ms = 0;        // newest result in the window
  bool operator==(const ObserverEvidence&) const = default;
};

// The two label groups of a partition subject.
struct PartitionSides {
  std::string label;  // label key, e.g. "site"
  std::string a, b;   // label values, a < b
  bool operator==(const PartitionSides&) const = default;
};

struct Alert {
  std::string subject;  // see above; valid_alert_subject() holds
  HealthState state = HealthState::kUnknown;
  int64_t since_ms = 0;  // when this state began
  int64_t ts_ms = 0;     // when this message was made
  // Why the state is what it is: "target" (the subject itself), "observer-isolated"
  // (the subject's own link is down: it fails toward most of its targets),
  // "partition", "offline" (presence); empty for up and unknown.
  std::string cause;
  // observer id -> verdict: "ok", "degraded", "fail", or why its vote was set
  // aside: "isolated" (the observer's own link is down), "partition" (the path
  // crosses a reported partition), "offline", "stale" (no recent result).
  std::map<std::string, std::string> observers;
  std::map<std::string, ObserverEvidence> evidence;  // by observer
  // Observers whose path toward the subject fails while the subject reaches them
  // fine (one-way loss, A->B fails while B->A is fine).
  std::vector<std::string> one_way;
  std::optional<PartitionSides> partition;  // partition subjects only

  bool operator==(const Alert&) const = default;
};

inline constexpr std::size_t kMaxAlertObservers = 1024;
inline constexpr std::size_t kMaxAlertPayload = 512 * 1024;

// True for peer/{id}, check/{id} and partition/{key}/{a}/{b} with a topic-safe
// key ([a-z0-9_-]{1,32}) and values ([a-z0-9-]{1,64}).
bool valid_alert_subject(std::string_view subject);
std::string alert_subject_peer(std::string_view agent);
std::string alert_subject_check(std::string_view check);
// Label values may hold any printable character; the subject keeps [a-z0-9-]
// (upper case lowered, anything else '-'), the message keeps the real values.
std::string alert_subject_partition(const PartitionSides& p);
std::string alert_topic(std::string_view subject);  // mutuo/v1/alerts/{subject}
inline constexpr const char* kAllAlerts = "mutuo/v1/alerts/#";

void to_json(nlohmann::json& j, const Alert& a);
std::string encode(const Alert& a);
Result<Alert> decode_alert(std::string_view payload);

}  // namespace mutuo
