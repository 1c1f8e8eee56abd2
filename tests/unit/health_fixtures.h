// Builders shared by the health_*_test.cpp files: results as agents report them
// and presence as agents announce it.
#pragma once

#include <cstdint>
#include <string>

#include "common/messages/alert.h"
#include "common/messages/results.h"
#include "common/messages/status.h"
#include "receiver/health/health_engine.h"

namespace health_fixtures {

// The probing interval the health tests step their clock by, in ms.
inline constexpr int64_t kRound = 10'000;

inline mutuo::ProbeResult udp(const std::string& peer, int64_t ts, uint32_t recv,
                              double rtt = 10.0) {
  mutuo::ProbeResult r;
  r.kind = mutuo::TargetKind::kPeer;
  r.target = peer;
  r.probe = "udp";
  r.ts_ms = ts;
  r.sent = 10;
  r.recv = recv;
  if (recv > 0) r.rtt_ms = mutuo::Rtt{rtt, rtt, rtt};
  return r;
}

inline mutuo::ProbeResult http(const std::string& check, int64_t ts, bool ok) {
  mutuo::ProbeResult r;
  r.kind = mutuo::TargetKind::kCheck;
  r.target = check;
  r.probe = "http";
  r.ts_ms = ts;
  r.ok = ok;
  if (ok)
    r.phase_ms["total"] = 50;
  else
    r.error = "timeout";
  return r;
}

inline mutuo::Status online(const std::string& agent, mutuo::codec::Labels labels = {}) {
  mutuo::Status s;
  s.agent = agent;
  s.online = true;
  s.ts_ms = 1;
  s.addrs = {"127.0.0.1"};
  s.echo_port = 7777;
  s.labels = std::move(labels);
  return s;
}

inline mutuo::Status lost(const std::string& agent) {
  mutuo::Status s;
  s.agent = agent;
  s.online = false;
  s.ts_ms = 1;
  s.reason = "lost";
  return s;
}

inline const mutuo::Alert& find(const std::vector<mutuo::Alert>& alerts,
                                const std::string& subject) {
  for (const auto& a : alerts) {
    if (a.subject == subject) return a;
  }
  throw std::runtime_error("no alert for " + subject);
}

inline std::size_t count_state(const std::vector<mutuo::Alert>& alerts, mutuo::HealthState s) {
  std::size_t n = 0;
  for (const auto& a : alerts) n += a.state == s ? 1 : 0;
  return n;
}

}  // namespace health_fixtures
