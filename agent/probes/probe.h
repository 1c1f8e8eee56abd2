// The probe plug-in interface (STYLE.md, "From Cloudprober"). A probe type lives
// in agent/probes/<type>.{h,cpp} and is listed with one line in
// agent/probes/registry.cpp; what every probe needs (scheduling, timeouts,
// concurrency caps, batching, delivery) lives once, in agent/scheduler.* and
// agent/agent.*.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/messages/results.h"

namespace mutuo::agent {

// One thing to measure, whatever the probe type. Which fields matter depends on
// the type: udp uses host (an IP literal) and port (the echo port); icmp uses
// host; tcp uses host and port; http uses url (and expect_status, expect_keyword); dns
// uses name, and host as the server ("" = the system's resolver).
struct ProbeTarget {
  TargetKind kind = TargetKind::kPeer;
  std::string id;  // peer agent id or check id: the result's subject
  std::string host;
  uint16_t port = 0;
  std::string url;
  std::string name;
  std::chrono::milliseconds timeout{5000};
  std::vector<uint16_t> expect_status;  // http: the final statuses that mean ok (empty: any 2xx)
  std::string expect_keyword;           // http: the body must contain it ("": no keyword)

  bool operator==(const ProbeTarget&) const = default;
};

class Probe {
 public:
  virtual ~Probe() = default;

  // Measures every target once, concurrently, each within its own timeout, and
  // returns exactly one result per target, in the order given, stamped `ts_ms`.
  // A target that cannot be measured gets a result with `error` set ("timeout",
  // "refused", "unsupported", ...), never invented figures. The caller bounds
  // the number of targets per call (the concurrency cap).
  // Threading: may be called from several threads at once.
  virtual std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) = 0;

  // False when this host cannot run the probe at all (e.g. icmp without
  // privileges): the agent then does not announce it.
  virtual bool supported() const { return true; }
};

// A result for `t` from probe `type` at `ts_ms` with nothing measured yet.
inline ProbeResult empty_result(const ProbeTarget& t, const char* type, int64_t ts_ms) {
  ProbeResult r;
  r.kind = t.kind;
  r.target = t.id;
  r.probe = type;
  r.ts_ms = ts_ms;
  return r;
}

}  // namespace mutuo::agent
