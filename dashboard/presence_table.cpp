#include "dashboard/presence_table.h"

#include <spdlog/spdlog.h>

#include "common/messages/status.h"
#include "common/topics.h"

namespace mutuo::dashboard {

PresenceTable::PresenceTable() : reject_log_(5, std::chrono::seconds(10)) {}

PresenceUpdate PresenceTable::apply(std::string_view topic, std::string_view payload, bool retained,
                                    int64_t now_ms) {
  auto parsed = topics::parse(topic);
  if (!parsed || parsed->kind != topics::Kind::kStatus) return reject(topic, "not a status topic");

  if (payload.empty()) {
    std::lock_guard lock(mu_);
    if (auto it = agents_.find(parsed->id); it != agents_.end()) agents_.erase(it);
    ++counters_.cleared;
    return PresenceUpdate::kCleared;
  }

  auto status = decode_status(payload);
  if (!status) return reject(topic, status.error());
  if (status->agent != parsed->id) {
    return reject(topic, "agent '" + status->agent + "' does not match the topic");
  }

  std::lock_guard lock(mu_);
  auto [it, inserted] = agents_.try_emplace(parsed->id);
  AgentPresence& a = it->second;
  bool state_changed = inserted || a.online != status->online;
  a.id = parsed->id;
  a.online = status->online;
  a.reason = status->reason;
  a.version = status->version;
  a.addrs = status->addrs;
  a.labels = status->labels;
  a.echo_port = status->echo_port;
  a.status_ts_ms = status->ts_ms;
  a.seen_ms = now_ms;
  if (state_changed) a.since_ms = retained ? status->ts_ms : now_ms;
  ++counters_.updated;
  return PresenceUpdate::kUpdated;
}

PresenceUpdate PresenceTable::reject(std::string_view topic, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    ++counters_.rejected;
  }
  uint64_t suppressed = 0;
  if (reject_log_.allow(&suppressed)) {
    if (suppressed > 0) {
      spdlog::warn("rejected status on {}: {} ({} similar lines suppressed)", topic, reason,
                   suppressed);
    } else {
      spdlog::warn("rejected status on {}: {}", topic, reason);
    }
  }
  return PresenceUpdate::kRejected;
}

std::vector<AgentPresence> PresenceTable::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<AgentPresence> out;
  out.reserve(agents_.size());
  for (const auto& [id, a] : agents_) out.push_back(a);
  return out;
}

std::optional<AgentPresence> PresenceTable::get(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return std::nullopt;
  return it->second;
}

PresenceTable::Counters PresenceTable::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace mutuo::dashboard
