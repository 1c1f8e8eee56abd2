#include "tracker/second_opinions.h"

#include <algorithm>
#include <set>

namespace mutuo::tracker {

namespace {

constexpr int64_t kMinute = 60'000;

}  // namespace

Result<std::vector<ProbeNow>> SecondOpinions::answer(const ProbeRequest& request,
                                                     const std::map<std::string, Peer>& live,
                                                     const Assignment& assignment,
                                                     const std::map<std::string, Check>& checks,
                                                     int64_t now_ms) {
  // Forget what no longer limits anything, so the maps stay as small as the
  // subjects and agents of the last minute.
  std::erase_if(answered_ms_,
                [&](const auto& kv) { return now_ms - kv.second >= config_.per_subject_ms; });
  for (auto it = asked_ms_.begin(); it != asked_ms_.end();) {
    auto& times = it->second;
    while (!times.empty() && now_ms - times.front() >= kMinute) times.pop_front();
    it = times.empty() ? asked_ms_.erase(it) : std::next(it);
  }
  if (answered_ms_.count(request.subject)) return Error{"rate-limited"};

  // The target, and who already observes it.
  ProbeNow base;
  base.subject = request.subject;
  base.ts_ms = now_ms;
  base.expires_ms = now_ms + config_.ttl_ms;
  base.rounds = std::clamp<uint32_t>(config_.rounds, 1, kMaxProbeNowRounds);
  base.every_ms = std::clamp<uint32_t>(config_.every_ms, 100, 60'000);
  std::set<std::string> exclude(request.observers.begin(), request.observers.end());
  exclude.insert(request.failing.begin(), request.failing.end());
  const Check* check = nullptr;
  std::string target;
  if (request.subject.starts_with("peer/")) {
    target = request.subject.substr(5);
    auto t = live.find(target);
    if (t == live.end() || t->second.addrs.empty()) return Error{"unknown target"};
    base.peers.push_back(PeerTarget{
        target, t->second.addrs.front(), t->second.echo_port, {"udp"}, config_.interval_s});
    exclude.insert(target);
    for (const auto& o : assignment.observers_of(target)) exclude.insert(o);
  } else {
    auto c = checks.find(request.subject.substr(6));
    if (c == checks.end()) return Error{"unknown target"};
    check = &c->second;
    base.checks.push_back(check_target(*check));
    for (const auto& o : assignment.check_observers(check->check)) exclude.insert(o);
  }

  struct Candidate {
    const std::string* id;
    const Peer* peer;
    uint64_t score;
  };
  std::vector<Candidate> candidates;
  for (const auto& [id, peer] : live) {
    if (exclude.count(id)) continue;
    if (check && !check_eligible(*check, id, peer.labels)) continue;
    auto asked = asked_ms_.find(id);
    if (asked != asked_ms_.end() && asked->second.size() >= config_.per_agent_per_minute) continue;
    candidates.push_back({&id, &peer, rendezvous_score(request.subject, id)});
  }
  if (candidates.empty()) return Error{"no candidate"};

  // Greedy: each pick is the candidate least like the failing observers, then
  // least like those already picked, then the best rendezvous score.
  auto value_of = [](const Peer& p, const std::string& key) -> const std::string* {
    auto it = p.labels.find(key);
    return it == p.labels.end() ? nullptr : &it->second;
  };
  std::map<std::string, std::set<std::string>> picked_values;
  auto rank = [&](const Candidate& c) {
    std::vector<uint64_t> key;
    for (const auto& label : config_.spread_labels) {
      const std::string* v = value_of(*c.peer, label);
      auto avoid = request.avoid.find(label);
      bool same = v && avoid != request.avoid.end() &&
                  std::find(avoid->second.begin(), avoid->second.end(), *v) != avoid->second.end();
      key.push_back(same ? 1 : 0);
    }
    for (const auto& label : config_.spread_labels) {
      const std::string* v = value_of(*c.peer, label);
      key.push_back(v && picked_values[label].count(*v) ? 1 : 0);
    }
    key.push_back(~c.score);  // higher score first
    return key;
  };
  std::vector<ProbeNow> out;
  const std::size_t want = std::min<std::size_t>(request.want, kMaxProbeRequestWant);
  while (out.size() < want && !candidates.empty()) {
    auto best = candidates.begin();
    auto best_rank = rank(*best);
    for (auto it = std::next(candidates.begin()); it != candidates.end(); ++it) {
      auto r = rank(*it);
      if (r < best_rank) {
        best = it;
        best_rank = std::move(r);
      }
    }
    for (const auto& label : config_.spread_labels) {
      if (const std::string* v = value_of(*best->peer, label)) picked_values[label].insert(*v);
    }
    ProbeNow p = base;
    p.agent = *best->id;
    asked_ms_[p.agent].push_back(now_ms);
    out.push_back(std::move(p));
    candidates.erase(best);
  }
  answered_ms_[request.subject] = now_ms;
  return out;
}

}  // namespace mutuo::tracker
