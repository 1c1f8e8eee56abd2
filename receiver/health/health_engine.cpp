#include "receiver/health/health_engine.h"

#include <algorithm>

namespace mutuo::health {

namespace {

constexpr std::string_view kPeerPrefix = "peer/";

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kDegraded:
      return "degraded";
    case Verdict::kFail:
      return "fail";
  }
  return "fail";
}

// The agent a peer subject names, or "" for other subjects.
std::string peer_of(const std::string& subject) {
  if (subject.rfind(kPeerPrefix, 0) != 0) return "";
  return subject.substr(kPeerPrefix.size());
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

void HealthEngine::observe(const std::string& observer, const ProbeResult& result) {
  auto sample = sample_of(result);
  if (!sample) return;
  std::string subject = result.kind == TargetKind::kPeer ? alert_subject_peer(result.target)
                                                         : alert_subject_check(result.target);
  windows_[{observer, subject}].add(*sample, config_.window);
}

void HealthEngine::observe(const ResultBatch& batch) {
  for (const ProbeResult& r : batch.results) observe(batch.agent, r);
}

void HealthEngine::presence(const Status& status) {
  Presence& p = presence_[status.agent];
  if (status.online && !p.online) {
    // Back from offline: what its observers saw before (probes toward an agent
    // that was gone, or paths cut while it was away) says nothing about it now.
    std::string subject = alert_subject_peer(status.agent);
    std::erase_if(windows_, [&](const auto& kv) { return kv.first.second == subject; });
  }
  p.online = status.online;
  if (status.online) p.labels = status.labels;
}

void HealthEngine::forget_agent(const std::string& agent) {
  presence_.erase(agent);
  std::string subject = alert_subject_peer(agent);
  std::erase_if(windows_, [&](const auto& kv) {
    return kv.first.first == agent || kv.first.second == subject;
  });
}

const codec::Labels& HealthEngine::labels(const std::string& agent) const {
  static const codec::Labels kNone;
  auto it = presence_.find(agent);
  return it == presence_.end() ? kNone : it->second.labels;
}

bool HealthEngine::offline(const std::string& agent) const {
  auto it = presence_.find(agent);
  return it != presence_.end() && !it->second.online;
}

std::set<std::string> HealthEngine::find_isolated(
    const std::map<std::string, std::vector<View>>& views) const {
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;  // targets, failing alone
  for (const auto& [subject, list] : views) {
    for (const View& v : list) {
      auto& [targets, alone] = counts[v.observer];
      ++targets;
      if (v.verdict != Verdict::kFail) continue;
      std::size_t others = 0, others_ok = 0;
      for (const View& o : list) {
        if (o.observer == v.observer) continue;
        ++others;
        others_ok += o.verdict != Verdict::kFail ? 1 : 0;
      }
      if (others > 0 && others_ok * 2 > others) ++alone;
    }
  }
  std::set<std::string> out;
  for (const auto& [observer, c] : counts) {
    auto [targets, alone] = c;
    if (targets >= config_.isolation_min_targets &&
        static_cast<double>(alone) >= config_.isolation_fraction * static_cast<double>(targets)) {
      out.insert(observer);
    }
  }
  return out;
}

std::vector<PartitionSides> HealthEngine::find_partitions(
    const std::map<std::string, std::vector<View>>& views, std::set<Key>& explained) const {
  std::set<std::string> keys;
  for (const auto& [agent, p] : presence_) {
    if (!p.online) continue;
    for (const auto& [k, v] : p.labels) keys.insert(k);
  }
  std::vector<PartitionSides> found;
  for (const std::string& key : keys) {
    struct Cross {
      std::size_t paths = 0, fails = 0, fails_ab = 0, fails_ba = 0;
      std::vector<Key> failing;
    };
    std::map<std::pair<std::string, std::string>, Cross> cross;
    std::map<std::string, std::pair<std::size_t, std::size_t>> intra;  // paths, fails
    for (const auto& [subject, list] : views) {
      std::string target = peer_of(subject);
      if (target.empty()) continue;
      const auto& tl = labels(target);
      auto t = tl.find(key);
      if (t == tl.end()) continue;
      for (const View& v : list) {
        if (isolated_.count(v.observer) || explained.count({v.observer, subject})) continue;
        const auto& ol = labels(v.observer);
        auto o = ol.find(key);
        if (o == ol.end()) continue;
        bool fail = v.verdict == Verdict::kFail;
        if (o->second == t->second) {
          auto& [paths, fails] = intra[o->second];
          ++paths;
          fails += fail ? 1 : 0;
          continue;
        }
        bool ab = o->second < t->second;
        Cross& c = cross[ab ? std::pair{o->second, t->second} : std::pair{t->second, o->second}];
        ++c.paths;
        if (!fail) continue;
        ++c.fails;
        ++(ab ? c.fails_ab : c.fails_ba);
        c.failing.push_back({v.observer, subject});
      }
    }
    auto reaches_itself = [&](const std::string& value) {
      auto it = intra.find(value);
      return it == intra.end() || it->second.second * 2 < it->second.first;
    };
    for (const auto& [sides, c] : cross) {
      if (c.paths < config_.partition_min_paths || c.fails_ab == 0 || c.fails_ba == 0) continue;
      if (static_cast<double>(c.fails) <
          config_.partition_fraction * static_cast<double>(c.paths)) {
        continue;
      }
      if (!reaches_itself(sides.first) || !reaches_itself(sides.second)) continue;
      found.push_back({key, sides.first, sides.second});
      explained.insert(c.failing.begin(), c.failing.end());
    }
  }
  return found;
}

void HealthEngine::forgive_healed(std::map<std::string, std::vector<View>>& views,
                                  const std::set<Key>& explained) {
  for (auto& [subject, list] : views) {
    for (View& v : list) {
      ObserverWindow& w = windows_.at({v.observer, subject});
      if (isolated_.count(v.observer) || explained.count({v.observer, subject})) {
        w.mark_set_aside();
      } else if (w.set_aside() && !w.newest_failed()) {
        // The fault that explained this path's failures is over and the path
        // answers again: its old failures say nothing about the subject.
        w.forgive_failures();  // keeps the newest result, which did not fail
        v = {v.observer, w.verdict(config_.window), w.evidence(), w.vote_loss(config_.window),
             w.mean_rtt_ms()};
      }
    }
  }
}

std::vector<Alert> HealthEngine::evaluate(int64_t now_ms) {
  std::map<std::string, std::vector<View>> views;                   // fresh, by subject
  std::map<std::string, std::map<std::string, std::string>> aside;  // subject -> observer -> why
  std::map<std::string, std::map<std::string, ObserverEvidence>> aside_evidence;
  for (auto it = windows_.begin(); it != windows_.end();) {
    ObserverWindow& w = it->second;
    w.trim(now_ms, config_.window);
    if (w.empty()) {
      it = windows_.erase(it);
      continue;
    }
    const auto& [observer, subject] = it->first;
    if (offline(observer) || w.newest_ms() < now_ms - config_.stale_ms) {
      aside[subject][observer] = offline(observer) ? "offline" : "stale";
      aside_evidence[subject][observer] = w.evidence();
    } else {
      views[subject].push_back({observer, w.verdict(config_.window), w.evidence(),
                                w.vote_loss(config_.window), w.mean_rtt_ms()});
    }
    ++it;
  }

  isolated_ = find_isolated(views);
  std::set<Key> explained;
  std::vector<PartitionSides> partitions = find_partitions(views, explained);
  forgive_healed(views, explained);

  std::set<std::string> subjects;
  for (const auto& [s, l] : views) subjects.insert(s);
  for (const auto& [s, l] : aside) subjects.insert(s);
  for (const auto& [agent, p] : presence_) subjects.insert(alert_subject_peer(agent));

  std::vector<Alert> out;
  suspects_.clear();
  for (const std::string& subject : subjects) {
    Alert a;
    a.subject = subject;
    a.ts_ms = now_ms;
    std::string target = peer_of(subject);
    std::vector<const View*> voters;
    auto vit = views.find(subject);
    if (vit != views.end()) {
      for (const View& v : vit->second) {
        a.evidence[v.observer] = v.evidence;
        if (isolated_.count(v.observer)) {
          a.observers[v.observer] = "isolated";
        } else if (explained.count({v.observer, subject})) {
          a.observers[v.observer] = "partition";
        } else {
          a.observers[v.observer] = std::string(verdict_name(v.verdict));
          voters.push_back(&v);
        }
        // Reciprocity: this path is bad while the way back is fine.
        bool bad = v.verdict == Verdict::kFail || v.loss >= config_.window.degraded_loss;
        if (!target.empty() && bad) {
          auto back = views.find(alert_subject_peer(v.observer));
          if (back == views.end()) continue;
          for (const View& r : back->second) {
            if (r.observer == target && r.verdict == Verdict::kOk &&
                r.loss < config_.window.degraded_loss) {
              a.one_way.push_back(v.observer);
            }
          }
        }
      }
    }
    if (auto ait = aside.find(subject); ait != aside.end()) {
      for (const auto& [observer, why] : ait->second) {
        a.observers[observer] = why;
        a.evidence[observer] = aside_evidence[subject][observer];
      }
    }

    std::size_t fails = 0;
    std::vector<double> losses, rtts;
    for (const View* v : voters) {
      fails += v->verdict == Verdict::kFail ? 1 : 0;
      losses.push_back(v->loss);
      if (v->rtt_ms) rtts.push_back(*v->rtt_ms);
    }
    bool quorum =
        fails >= config_.min_quorum &&
        static_cast<double>(fails) > config_.quorum_fraction * static_cast<double>(voters.size());
    auto loss = median(losses);
    auto rtt = median(rtts);
    bool slow =
        (loss && *loss >= config_.window.degraded_loss) ||
        (config_.window.degraded_rtt_ms > 0 && rtt && *rtt >= config_.window.degraded_rtt_ms);
    bool isolated = !target.empty() && isolated_.count(target) > 0;

    if (!target.empty() && offline(target)) {
      a.state = HealthState::kOffline;
      a.cause = "offline";
    } else if (isolated) {
      a.state = quorum ? HealthState::kDown : HealthState::kDegraded;
      a.cause = "observer-isolated";
    } else if (voters.size() < config_.min_observers) {
      a.state = HealthState::kUnknown;
    } else if (quorum) {
      a.state = HealthState::kDown;
      a.cause = "target";
    } else if (slow) {
      a.state = HealthState::kDegraded;
      a.cause = "target";
    } else {
      a.state = HealthState::kUp;
    }
    if (a.state != HealthState::kDown && a.state != HealthState::kOffline && !isolated) {
      Suspect s{subject, {}, {}};
      for (const View* v : voters) {
        if (windows_.at({v->observer, subject}).newest_failed()) s.failing.push_back(v->observer);
      }
      if (!s.failing.empty()) {
        // Observers with fresh results; stale ones (no longer assigned, say) may be asked.
        for (const View& v : vit->second) s.observers.push_back(v.observer);
        std::sort(s.failing.begin(), s.failing.end());
        std::sort(s.observers.begin(), s.observers.end());
        suspects_.push_back(std::move(s));
      }
    }
    out.push_back(std::move(a));
  }

  std::set<std::string> now_partitioned;
  for (const PartitionSides& p : partitions) {
    Alert a;
    a.subject = alert_subject_partition(p);
    a.ts_ms = now_ms;
    a.state = HealthState::kDown;
    a.cause = "partition";
    a.partition = p;
    for (const auto& [observer, subject] : explained) {
      const auto& ol = labels(observer);
      auto o = ol.find(p.label);
      if (o != ol.end() && (o->second == p.a || o->second == p.b)) a.observers[observer] = "fail";
    }
    partitions_[a.subject] = p;
    now_partitioned.insert(a.subject);
    out.push_back(std::move(a));
  }
  for (const auto& [subject, p] : partitions_) {
    if (now_partitioned.count(subject)) continue;
    Alert a;
    a.subject = subject;
    a.ts_ms = now_ms;
    a.state = HealthState::kUp;
    a.partition = p;
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace mutuo::health
