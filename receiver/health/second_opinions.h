// SecondOpinions: turns the health engine's suspects (subjects that some
// observers have started failing toward, no quorum yet) into probe requests on
// mutuo/v1/probe-requests/{subject}, which the tracker answers by asking a few
// extra observers to probe at once (docs/health.md, "Second opinions").
//
// Rate limits, so that a flaky path or a storm of failures costs little:
//   - per subject: at most one request per `every_ms`; while the subject stays
//     a suspect the gap doubles after each request, up to `max_every_ms`, and
//     starts again at `every_ms` once the subject has been clear that long;
//   - overall: a token bucket of `per_minute` requests a minute (burst the same);
//     a request beyond it is skipped (counted), not queued: the next evaluation
//     asks again if it still matters, subjects waiting longest first.
//
// Pure logic, no clock, no I/O. Not thread-safe: the health thread calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/messages/codec.h"
#include "common/messages/probe_request.h"
#include "receiver/health/health_engine.h"

namespace mutuo::health {

struct SecondOpinionConfig {
  uint32_t want = 3;  // extra observers per request; 0 turns second opinions off
  int64_t every_ms = 30'000;
  int64_t max_every_ms = 600'000;
  double per_minute = 60;
};

struct SecondOpinionStats {
  uint64_t requested = 0;     // requests made
  uint64_t rate_limited = 0;  // requests skipped: the overall bucket was empty
};

class SecondOpinions {
 public:
  using LabelsOf = std::function<const codec::Labels&(const std::string& agent)>;

  SecondOpinions(SecondOpinionConfig config, LabelsOf labels_of);

  // The requests to publish now for `suspects` (HealthEngine::suspects() of the
  // evaluation at now_ms). Each names the failing observers, every current
  // observer, and, per label key, the values the failing observers carry.
  std::vector<ProbeRequest> requests(const std::vector<Suspect>& suspects, int64_t now_ms);

  const SecondOpinionStats& stats() const { return stats_; }

 private:
  struct Pace {
    int64_t next_ms = 0;       // no request before this
    int64_t gap_ms = 0;        // the gap after the next request
    int64_t last_seen_ms = 0;  // last evaluation that found the subject a suspect
  };

  const SecondOpinionConfig config_;
  LabelsOf labels_of_;
  std::map<std::string, Pace> pace_;  // by subject; dropped once clear for every_ms
  double tokens_;
  int64_t tokens_ms_ = 0;
  SecondOpinionStats stats_;
};

}  // namespace mutuo::health
