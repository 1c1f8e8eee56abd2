// SecondOpinions (tracker side): answers a probe request from the receiver
// (mutuo/v1/probe-requests/{subject}, common/messages/probe_request.h) by picking
// a few live agents that do not already observe the subject and telling each to
// probe it at once (mutuo/v1/probe-now/{agent}, common/messages/probe_now.h).
// docs/tracker.md, "Second opinions".
//
// Whom: live agents other than the target, not among its assigned observers nor
// among the observers the request names, eligible for the check (for a check
// subject), and not asked more than `per_agent_per_minute` times in the last
// minute. Among them, those whose values of the spread labels (site, provider,
// in that order) are unlike the failing observers' (`avoid`) come first, then
// those unlike the ones already picked, then by rendezvous score, so the choice
// is spread and stable.
//
// Rate limit: one answered request per subject per `per_subject_ms`; requests
// beyond it are refused with reason "rate-limited". Pure logic, no clock, no
// I/O. Not thread-safe: the tracker calls it under its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/messages/check.h"
#include "common/messages/peer.h"
#include "common/messages/probe_now.h"
#include "common/messages/probe_request.h"
#include "common/result.h"
#include "tracker/assignment.h"

namespace mutuo::tracker {

struct SecondOpinionConfig {
  uint32_t rounds = 3;       // extra rounds each picked agent runs ...
  uint32_t every_ms = 1000;  // ... this far apart
  int64_t ttl_ms = 15'000;   // a probe-now not started by then is dropped by the agent
  int64_t per_subject_ms = 10'000;
  std::size_t per_agent_per_minute = 12;
  // The Tracker sets these two from its AssignmentConfig:
  std::vector<std::string> spread_labels = {"site", "provider"};
  uint32_t interval_s = 10;  // written in peer targets, as in assignments (caps the timeout)
};

class SecondOpinions {
 public:
  explicit SecondOpinions(SecondOpinionConfig config) : config_(std::move(config)) {}

  // The probe-now messages that answer `request` (at most request.want), or the
  // reason none is sent: "rate-limited", "unknown target", "no candidate".
  Result<std::vector<ProbeNow>> answer(const ProbeRequest& request,
                                       const std::map<std::string, Peer>& live,
                                       const Assignment& assignment,
                                       const std::map<std::string, Check>& checks, int64_t now_ms);

 private:
  const SecondOpinionConfig config_;
  std::map<std::string, int64_t> answered_ms_;           // subject -> last answered
  std::map<std::string, std::deque<int64_t>> asked_ms_;  // agent -> when asked, last minute
};

}  // namespace mutuo::tracker
