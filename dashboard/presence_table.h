// PresenceTable: what the dashboard knows about each agent's presence, built from
// the retained mutuo/v1/agents/{agent}/status messages (DESIGN.md, "Topic tree").
//
// Threading: every method may be called from any thread; the MQTT callback thread
// writes while the HTTP threads read snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/messages/codec.h"

namespace mutuo::dashboard {

struct AgentPresence {
  std::string id;
  bool online = false;
  std::string reason;  // offline only: "shutdown" or "lost"
  std::string version;
  std::vector<std::string> addrs;
  codec::Labels labels;
  uint16_t echo_port = 0;
  int64_t status_ts_ms = 0;  // the "ts" of the latest status, as the agent (or its will) set it
  int64_t seen_ms = 0;       // local time when the dashboard received the latest status
  // When the agent entered its current state, as well as the dashboard can tell:
  // the status ts for retained (historical) messages, the local receive time for
  // live transitions. The last will's ts is the agent's connect time, not the
  // moment it was lost, which is why live transitions use the receive time.
  int64_t since_ms = 0;
};

enum class PresenceUpdate { kUpdated, kCleared, kRejected };

class PresenceTable {
 public:
  struct Counters {
    uint64_t updated = 0;
    uint64_t cleared = 0;
    uint64_t rejected = 0;
  };

  PresenceTable();

  // Applies one message received on a status topic at local time `now_ms`.
  // An empty payload is a cleared retained status: the agent is dropped. A
  // payload that does not decode, or whose "agent" differs from the id in the
  // topic, is rejected: counted and logged (rate-limited), the table unchanged.
  PresenceUpdate apply(std::string_view topic, std::string_view payload, bool retained,
                       int64_t now_ms);

  // All known agents, sorted by id.
  std::vector<AgentPresence> snapshot() const;

  // One agent, or nullopt when unknown.
  std::optional<AgentPresence> get(std::string_view id) const;

  Counters counters() const;

 private:
  PresenceUpdate reject(std::string_view topic, const std::string& reason);

  mutable std::mutex mu_;
  std::map<std::string, AgentPresence, std::less<>> agents_;  // guarded by mu_
  Counters counters_;                                         // guarded by mu_
  LogLimiter reject_log_;
};

}  // namespace mutuo::dashboard
