#include "tracker/assignment.h"

#include <algorithm>

namespace mutuo::tracker {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finalizer: every input bit moves every output bit
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t id_hash(std::string_view s) {  // FNV-1a, then mixed
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

// Not symmetric: the score of b as an observer of a differs from a of b.
uint64_t score_of(uint64_t target_hash, uint64_t observer_hash) {
  return mix(target_hash * 0x9e3779b97f4a7c15ULL ^ observer_hash);
}

// Candidates rank by score, highest first; ids break ties.
bool ranks_before(uint64_t score, const std::string& id, uint64_t other_score,
                  const std::string& other_id) {
  return score != other_score ? score > other_score : id < other_id;
}

template <class C>
void insert_ranked(std::vector<C>& list, uint64_t score, const std::string& id, std::size_t cap) {
  auto pos = std::lower_bound(list.begin(), list.end(), score, [&](const C& c, uint64_t) {
    return ranks_before(c.score, c.id, score, id);
  });
  list.insert(pos, C{score, id});
  if (list.size() > cap) list.pop_back();
}

bool selector_matches(const codec::Labels& selector, const codec::Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

bool check_eligible(const Check& c, const std::string& agent, const codec::Labels& labels) {
  if (!c.agents.empty() && std::find(c.agents.begin(), c.agents.end(), agent) == c.agents.end()) {
    return false;
  }
  return selector_matches(c.selector, labels);
}

uint64_t rendezvous_score(const std::string& target, const std::string& observer) {
  return score_of(id_hash(target), id_hash(observer));
}

Assignment::Assignment(AssignmentConfig config)
    : config_(std::move(config)),
      prefix_(std::max<std::size_t>(
          {config_.candidates ? config_.candidates : 3 * config_.k, config_.k, 1})) {}

std::vector<std::string> Assignment::spread_values(const Peer& peer) const {
  std::vector<std::string> out;
  for (const auto& key : config_.spread_labels) {
    auto it = peer.labels.find(key);
    out.push_back(it == peer.labels.end() ? "" : it->second);
  }
  return out;
}

bool Assignment::same_spread(const Peer& peer, const std::vector<std::string>& spread) const {
  for (std::size_t j = 0; j < config_.spread_labels.size(); ++j) {
    auto it = peer.labels.find(config_.spread_labels[j]);
    static const std::string kNone;
    const std::string& value = it == peer.labels.end() ? kNone : it->second;
    if (value != spread[j]) return false;
  }
  return true;
}

void Assignment::add_member(const std::string& id, const Peer& peer,
                            std::set<std::string>& dirty_targets) {
  Member x;
  x.hash = id_hash(id);
  x.spread = spread_values(peer);
  for (auto& [tid, t] : members_) {
    uint64_t s = score_of(t.hash, x.hash);  // the newcomer as an observer of t
    if (t.candidates.size() < prefix_ ||
        ranks_before(s, id, t.candidates.back().score, t.candidates.back().id)) {
      insert_ranked(t.candidates, s, id, prefix_);
      dirty_targets.insert(tid);
    }
    s = score_of(x.hash, t.hash);  // t as an observer of the newcomer
    if (x.candidates.size() < prefix_ ||
        ranks_before(s, tid, x.candidates.back().score, x.candidates.back().id)) {
      insert_ranked(x.candidates, s, tid, prefix_);
    }
  }
  members_.emplace(id, std::move(x));
  dirty_targets.insert(id);
}

void Assignment::remove_member(const std::string& id, std::set<std::string>& dirty_targets,
                               std::set<std::string>& dirty_agents) {
  auto it = members_.find(id);
  Member x = std::move(it->second);
  members_.erase(it);
  dirty_targets.erase(id);
  dirty_agents.insert(id);
  for (const auto& o : x.observers) {  // nobody probes it any more
    auto t = targets_of_.find(o);
    if (t != targets_of_.end()) t->second.erase(id);
    dirty_agents.insert(o);
  }
  for (auto& [tid, t] : members_) {  // and it observes nobody
    uint64_t s = score_of(t.hash, x.hash);
    auto pos = std::lower_bound(
        t.candidates.begin(), t.candidates.end(), s,
        [&](const Candidate& c, uint64_t) { return ranks_before(c.score, c.id, s, id); });
    if (pos == t.candidates.end() || pos->id != id) continue;
    t.candidates.erase(pos);
    refill(tid, t);
    dirty_targets.insert(tid);
  }
}

// Every member outside a target's candidate list ranks below all in it, so the
// best of those ranking below the last one is the next candidate.
void Assignment::refill(const std::string& id, Member& m) {
  if (m.candidates.size() >= prefix_) return;
  const Candidate* last = m.candidates.empty() ? nullptr : &m.candidates.back();
  bool found = false;
  uint64_t best_score = 0;
  const std::string* best_id = nullptr;
  for (const auto& [oid, o] : members_) {
    if (oid == id) continue;
    uint64_t s = score_of(m.hash, o.hash);
    if (last && !ranks_before(last->score, last->id, s, oid)) continue;  // already listed
    if (!found || ranks_before(s, oid, best_score, *best_id)) {
      found = true;
      best_score = s;
      best_id = &oid;
    }
  }
  if (found) m.candidates.push_back(Candidate{best_score, *best_id});
}

// Spreads `want` picks over the values of spread label `key` like water filling:
// in round r every value that still has an r-th best candidate gets one more
// slot, values in the order of that candidate's rank, until the slots run out.
// Within each value the same is done for the next label, and the last level
// takes the best ranked. So every site appears once before any appears twice,
// and within a site providers do the same. A newcomer only moves slots within
// its own value (and at most one slot between values), which keeps the change
// per join small.
void Assignment::spread_pick(const std::vector<Candidate>& ranked,
                             const std::vector<std::size_t>& among, std::size_t want,
                             std::size_t key, std::vector<std::size_t>& out) const {
  if (want >= among.size()) {
    out.insert(out.end(), among.begin(), among.end());
    return;
  }
  if (key == config_.spread_labels.size()) {
    out.insert(out.end(), among.begin(), among.begin() + static_cast<std::ptrdiff_t>(want));
    return;
  }
  std::map<std::string, std::vector<std::size_t>> groups;  // value -> candidates in rank order
  for (std::size_t i : among) groups[members_.at(ranked[i].id).spread[key]].push_back(i);
  std::map<std::string, std::size_t> quota;
  std::size_t left = want;
  for (std::size_t r = 0; left > 0; ++r) {
    std::vector<std::pair<std::size_t, const std::string*>> round;
    for (const auto& [value, members] : groups) {
      if (members.size() > r) round.emplace_back(members[r], &value);
    }
    std::sort(round.begin(), round.end());
    for (const auto& [rank, value] : round) {
      if (left == 0) break;
      ++quota[*value];
      --left;
    }
  }
  for (const auto& [value, members] : groups) {
    auto q = quota.find(value);
    if (q != quota.end()) spread_pick(ranked, members, q->second, key + 1, out);
  }
}

std::vector<std::string> Assignment::pick(const std::vector<Candidate>& ranked,
                                          std::size_t want) const {
  std::vector<std::size_t> all(ranked.size()), picked;
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  spread_pick(ranked, all, want, 0, picked);
  std::vector<std::string> chosen;
  for (std::size_t i : picked) chosen.push_back(ranked[i].id);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::vector<std::string> Assignment::select_observers(const Member& m) const {
  if (!sparse_) {  // full mesh: every other peer (a few dozen at most)
    std::vector<std::string> all;
    for (const auto& [id, other] : members_) {
      if (&other != &m) all.push_back(id);
    }
    return all;
  }
  return pick(m.candidates, config_.k);
}

std::vector<std::string> Assignment::place_check(const Check& c) const {
  const std::size_t cap = std::max<std::size_t>(prefix_, c.observers);
  const uint64_t h = id_hash("check/" + c.check);
  std::vector<Candidate> ranked;
  auto consider = [&](const std::string& id, const Member& m) {
    if (!selector_matches(c.selector, peers_.at(id).labels)) return;
    uint64_t s = score_of(h, m.hash);
    if (ranked.size() < cap || ranks_before(s, id, ranked.back().score, ranked.back().id)) {
      insert_ranked(ranked, s, id, cap);
    }
  };
  if (c.agents.empty()) {
    for (const auto& [id, m] : members_) consider(id, m);
  } else {
    std::set<std::string> listed(c.agents.begin(), c.agents.end());
    for (const auto& id : listed) {
      auto m = members_.find(id);
      if (m != members_.end()) consider(id, m->second);
    }
  }
  return pick(ranked, c.observers);
}

Assign Assignment::build(const std::string& agent) const {
  Assign a;
  a.agent = agent;
  if (auto t = targets_of_.find(agent); t != targets_of_.end()) {
    for (const auto& target : t->second) {
      const Peer& p = peers_.at(target);
      if (p.addrs.empty()) continue;
      a.peers.push_back(
          PeerTarget{target, p.addrs.front(), p.echo_port, {"udp"}, config_.interval_s});
    }
  }
  if (auto c = checks_of_.find(agent); c != checks_of_.end()) {
    for (const auto& check : c->second) a.checks.push_back(check_target(checks_.at(check)));
  }
  return a;
}

std::set<std::string> Assignment::update(const std::map<std::string, Peer>& live,
                                         const std::map<std::string, Check>& checks,
                                         const std::set<std::string>* touched) {
  std::set<std::string> dirty_targets, dirty_agents;

  // Leaves first (a label change is a leave and a join: it moves the observers).
  std::vector<std::string> gone;
  auto maybe_gone = [&](const std::string& id, const Member& m) {
    auto it = live.find(id);
    if (it == live.end() || !same_spread(it->second, m.spread)) gone.push_back(id);
  };
  if (touched) {
    for (const auto& id : *touched) {
      if (auto m = members_.find(id); m != members_.end()) maybe_gone(id, m->second);
    }
  } else {
    for (const auto& [id, m] : members_) maybe_gone(id, m);
  }
  for (const auto& id : gone) remove_member(id, dirty_targets, dirty_agents);
  bool joined_or_left = !gone.empty();
  for (const auto& id : gone) peers_.erase(id);
  auto arrive = [&](const std::string& id, const Peer& peer) {
    auto old = peers_.find(id);
    if (old != peers_.end()) {  // a member: only its address matters to its observers
      if (old->second == peer) return;
      if (old->second.addrs != peer.addrs || old->second.echo_port != peer.echo_port) {
        for (const auto& o : members_.at(id).observers) dirty_agents.insert(o);
      }
      old->second = peer;
      return;
    }
    peers_.emplace(id, peer);
    add_member(id, peer, dirty_targets);
    dirty_agents.insert(id);
    joined_or_left = true;
  };
  if (touched) {
    for (const auto& id : *touched) {
      if (auto p = live.find(id); p != live.end()) arrive(id, p->second);
    }
  } else {
    for (const auto& [id, peer] : live) arrive(id, peer);
  }

  const bool sparse = members_.size() > config_.full_mesh_max;
  if (sparse != sparse_ || (!sparse && joined_or_left)) {  // a full mesh changes everywhere
    sparse_ = sparse;
    for (const auto& [id, m] : members_) dirty_targets.insert(id);
  }
  for (const auto& t : dirty_targets) {
    Member& m = members_.at(t);
    std::vector<std::string> next = select_observers(m);
    if (next == m.observers) continue;
    std::vector<std::string> lost, gained;
    std::set_difference(m.observers.begin(), m.observers.end(), next.begin(), next.end(),
                        std::back_inserter(lost));
    std::set_difference(next.begin(), next.end(), m.observers.begin(), m.observers.end(),
                        std::back_inserter(gained));
    for (const auto& o : lost) {
      targets_of_[o].erase(t);
      dirty_agents.insert(o);
    }
    for (const auto& o : gained) {
      targets_of_[o].insert(t);
      dirty_agents.insert(o);
    }
    m.observers = std::move(next);
  }

  // Checks: few, so each is placed afresh; only the agents whose share moved change.
  std::map<std::string, std::vector<std::string>> placed;
  for (const auto& [cid, c] : checks) placed[cid] = place_check(c);
  auto mark = [&](const std::vector<std::string>& agents) {
    for (const auto& a : agents) dirty_agents.insert(a);
  };
  for (const auto& [cid, agents] : placed_) {
    auto now = placed.find(cid);
    auto old_check = checks_.find(cid);
    auto new_check = checks.find(cid);
    bool same = now != placed.end() && now->second == agents && new_check != checks.end() &&
                old_check != checks_.end() && old_check->second == new_check->second;
    if (same) continue;
    mark(agents);
    for (const auto& a : agents) checks_of_[a].erase(cid);
  }
  for (const auto& [cid, agents] : placed) {
    auto old = placed_.find(cid);
    auto old_check = checks_.find(cid);
    bool same = old != placed_.end() && old->second == agents && old_check != checks_.end() &&
                old_check->second == checks.at(cid);
    if (same) continue;
    mark(agents);
    for (const auto& a : agents) checks_of_[a].insert(cid);
  }
  placed_ = std::move(placed);
  checks_ = checks;

  std::set<std::string> changed;
  for (const auto& a : dirty_agents) {
    if (!members_.count(a)) {
      targets_of_.erase(a);
      checks_of_.erase(a);
      if (assigns_.erase(a)) changed.insert(a);
      continue;
    }
    Assign next = build(a);
    auto it = assigns_.find(a);
    if (it != assigns_.end() && it->second == next) continue;
    assigns_[a] = std::move(next);
    changed.insert(a);
  }
  return changed;
}

std::vector<std::string> Assignment::observers_of(const std::string& target) const {
  auto it = members_.find(target);
  return it == members_.end() ? std::vector<std::string>{} : it->second.observers;
}

std::vector<std::string> Assignment::check_observers(const std::string& check) const {
  auto it = placed_.find(check);
  return it == placed_.end() ? std::vector<std::string>{} : it->second;
}

std::map<std::string, Assign> assign_all(const std::map<std::string, Peer>& live,
                                         const std::map<std::string, Check>& checks,
                                         const AssignmentConfig& config) {
  Assignment a(config);
  a.update(live, checks);
  return a.assigns();
}

}  // namespace mutuo::tracker
