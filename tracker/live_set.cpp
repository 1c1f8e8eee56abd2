#include "tracker/live_set.h"

namespace mutuo::tracker {

bool LiveSet::apply(const std::string& agent, const std::optional<Status>& status,
                    int64_t now_ms) {
  if (!status || !status->online) {
    return peers_.erase(agent) > 0;
  }
  Peer next{agent, status->addrs, status->echo_port, status->labels, now_ms};
  auto it = peers_.find(agent);
  if (it != peers_.end()) {
    next.since_ms = it->second.since_ms;
  } else if (auto r = remembered_since_.find(agent); r != remembered_since_.end()) {
    next.since_ms = r->second;
  }
  if (it != peers_.end() && it->second == next) return false;
  peers_[agent] = std::move(next);
  return true;
}

void LiveSet::remember_since(const std::string& agent, int64_t since_ms) {
  remembered_since_[agent] = since_ms;
}

}  // namespace mutuo::tracker
