#include "tracker/live_set.h"

namespace mutuo::tracker {

Peer LiveSet::make_peer(const std::string& agent, const Status& status, int64_t now_ms) const {
  Peer next{agent, status.addrs, status.echo_port, status.labels, now_ms};
  if (auto r = remembered_since_.find(agent); r != remembered_since_.end()) {
    next.since_ms = r->second;
  }
  return next;
}

bool LiveSet::apply(const std::string& agent, const std::optional<Status>& status, int64_t now_ms) {
  if (!status || !status->online) {
    held_.erase(agent);
    if (peers_.erase(agent) == 0) return false;
    left_at_ms_[agent] = now_ms;
    remembered_since_.erase(agent);  // a later return starts a new uptime
    return true;
  }
  auto it = peers_.find(agent);
  if (it == peers_.end()) {
    if (auto h = held_.find(agent); h != held_.end()) {
      h->second.peer = make_peer(agent, *status, now_ms);  // keep the hold, take new details
      return false;
    }
    auto left = left_at_ms_.find(agent);
    if (flap_.hold_ms > 0 && left != left_at_ms_.end() && now_ms - left->second < flap_.window_ms) {
      held_[agent] = Held{make_peer(agent, *status, now_ms), now_ms + flap_.hold_ms};
      return false;
    }
    peers_[agent] = make_peer(agent, *status, now_ms);
    return true;
  }
  Peer next{agent, status->addrs, status->echo_port, status->labels, it->second.since_ms};
  if (it->second == next) return false;
  it->second = std::move(next);
  return true;
}

bool LiveSet::release(int64_t now_ms) {
  bool changed = false;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.until_ms > now_ms) {
      ++it;
      continue;
    }
    it->second.peer.since_ms = now_ms;
    peers_[it->first] = std::move(it->second.peer);
    it = held_.erase(it);
    changed = true;
  }
  for (auto it = left_at_ms_.begin(); it != left_at_ms_.end();) {
    it = now_ms - it->second >= flap_.window_ms ? left_at_ms_.erase(it) : std::next(it);
  }
  return changed;
}

std::optional<int64_t> LiveSet::next_release_ms() const {
  std::optional<int64_t> next;
  for (const auto& [id, h] : held_) {
    if (!next || h.until_ms < *next) next = h.until_ms;
  }
  return next;
}

void LiveSet::remember_since(const std::string& agent, int64_t since_ms) {
  remembered_since_[agent] = since_ms;
  // Retained statuses arrive before retained peer entries after a restart: the
  // entry already published is the truth for the same stretch of presence.
  if (auto it = peers_.find(agent); it != peers_.end()) it->second.since_ms = since_ms;
}

}  // namespace mutuo::tracker
