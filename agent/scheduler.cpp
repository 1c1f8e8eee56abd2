#include "agent/scheduler.h"

namespace mutuo::agent {

std::vector<Round> rounds_of(const Assign& assign, const std::set<std::string>& known,
                             std::chrono::milliseconds peer_timeout, uint64_t* unknown) {
  std::map<std::pair<std::string, uint32_t>, Round> by_key;
  auto add = [&](const std::string& probe, uint32_t interval_s, ProbeTarget t) {
    if (!known.contains(probe)) {
      ++*unknown;
      return;
    }
    Round& r = by_key[{probe, interval_s}];
    r.probe = probe;
    r.interval = std::chrono::seconds(interval_s);
    r.targets.push_back(std::move(t));
  };
  for (const PeerTarget& p : assign.peers) {
    for (const std::string& probe : p.probes) {
      ProbeTarget t;
      t.kind = TargetKind::kPeer;
      t.id = p.agent;
      t.host = p.addr;
      if (probe == "udp") {
        t.port = p.echo_port;
      } else if (probe != "icmp") {  // a peer offers only these two
        ++*unknown;
        continue;
      }
      // A round must fit its interval, or every other slot would be skipped.
      t.timeout = std::min<std::chrono::milliseconds>(
          peer_timeout, std::chrono::milliseconds(p.interval_s * 750));
      add(probe, p.interval_s, std::move(t));
    }
  }
  for (const CheckTarget& c : assign.checks) {
    ProbeTarget t;
    t.kind = TargetKind::kCheck;
    t.id = c.check;
    t.host = c.host;
    t.port = c.port;
    t.url = c.url;
    t.name = c.name;
    t.expect_status = c.expect_status;
    t.expect_keyword = c.expect_keyword;
    t.timeout = std::chrono::milliseconds(c.timeout_ms > 0 ? c.timeout_ms : 5000);
    add(c.type, c.interval_s, std::move(t));
  }
  std::vector<Round> out;
  for (auto& [key, r] : by_key) out.push_back(std::move(r));
  return out;
}

void Scheduler::set_rounds(std::vector<Round> rounds, Clock::time_point now) {
  std::map<std::string, Group> next;
  for (Round& r : rounds) {
    std::string key = r.key();
    auto old = groups_.find(key);
    Group g;
    if (old != groups_.end()) {
      g = std::move(old->second);
    } else {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.interval).count();
      std::uniform_int_distribution<int64_t> phase(0, std::max<int64_t>(ms - 1, 0));
      g.next = now + std::chrono::milliseconds(phase(rng_));
    }
    g.round = std::move(r);
    next.emplace(std::move(key), std::move(g));
  }
  groups_ = std::move(next);
}

std::size_t Scheduler::add_once(const std::vector<Round>& rounds, uint32_t count,
                                std::chrono::milliseconds every, Clock::time_point now) {
  std::size_t added = 0;
  for (uint32_t i = 0; i < count; ++i) {
    for (const Round& r : rounds) {
      if (once_.size() >= kMaxOnce) {
        ++once_dropped_;
        continue;
      }
      Round one = r;
      one.once = true;
      once_.emplace(now + i * every, std::move(one));
      ++added;
    }
  }
  return added;
}

std::vector<Round> Scheduler::take_due(Clock::time_point now) {
  std::vector<Round> due;
  while (!once_.empty() && once_.begin()->first <= now) {
    due.push_back(std::move(once_.begin()->second));
    due.back().due = once_.begin()->first;
    once_.erase(once_.begin());
  }
  for (auto& [key, g] : groups_) {
    if (g.next > now) continue;
    if (g.running) {
      ++skipped_;
    } else {
      due.push_back(g.round);
      due.back().due = g.next;
      g.running = true;
    }
    g.next += g.round.interval;
    if (g.next <= now) {  // fell behind by whole intervals: skip them, stay on the grid
      auto behind = (now - g.next) / g.round.interval + 1;
      skipped_ += static_cast<uint64_t>(behind);
      g.next += behind * g.round.interval;
    }
  }
  return due;
}

void Scheduler::finished(const std::string& key) {
  auto it = groups_.find(key);
  if (it != groups_.end()) it->second.running = false;
}

Scheduler::Clock::time_point Scheduler::next_due() const {
  auto t = once_.empty() ? Clock::time_point::max() : once_.begin()->first;
  for (const auto& [key, g] : groups_) t = std::min(t, g.next);
  return t;
}

std::size_t Scheduler::targets() const {
  std::size_t n = 0;
  for (const auto& [key, g] : groups_) n += g.round.targets.size();
  return n;
}

}  // namespace mutuo::agent
