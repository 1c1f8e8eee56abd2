#include "tracker/publisher.h"

#include <algorithm>

#include "common/topics.h"

namespace mutuo::tracker {

bool Publisher::observe_peer(const std::string& agent, const std::optional<Peer>& peer) {
  auto it = peers_.find(agent);
  if (!peer) {
    if (it == peers_.end()) return false;
    peers_.erase(it);
    return true;
  }
  if (it != peers_.end() && it->second == *peer) return false;
  peers_[agent] = *peer;
  return true;
}

bool Publisher::observe_assign(const std::string& agent, const std::optional<Assign>& assign) {
  auto it = assigns_.find(agent);
  if (!assign) {
    if (it == assigns_.end()) return false;
    assigns_.erase(it);
    return true;
  }
  uint64_t& last = last_rev_[agent];
  if (assign->rev < last) return false;  // a superseded one, still on its way
  last = assign->rev;
  if (it != assigns_.end() && it->second == *assign) return false;
  assigns_[agent] = *assign;
  return true;
}

void Publisher::forget(const MqttMessage& failed) {
  auto t = topics::parse(failed.topic);
  if (!t) return;
  // A failed set: believe the topic empty. A failed clear: believe it holds
  // something, so the next plan clears it again.
  if (t->kind == topics::Kind::kPeer) {
    if (failed.payload.empty()) {
      peers_[t->id] = Peer{t->id, {}, 0, {}, 0};
    } else {
      peers_.erase(t->id);
    }
  } else if (t->kind == topics::Kind::kAssign) {
    if (failed.payload.empty()) {
      assigns_[t->id] = Assign{t->id, last_rev_[t->id], {}, {}};
    } else {
      assigns_.erase(t->id);
    }
  }
}

std::vector<MqttMessage> Publisher::plan(const std::map<std::string, Peer>& peers,
                                         const std::map<std::string, Assign>& assigns,
                                         const std::set<std::string>* only) {
  std::vector<std::string> ids;
  if (only) {
    ids.assign(only->begin(), only->end());
  } else {
    std::set<std::string> all;
    for (const auto& [id, p] : peers_) all.insert(id);
    for (const auto& [id, p] : peers) all.insert(id);
    for (const auto& [id, a] : assigns_) all.insert(id);
    for (const auto& [id, a] : assigns) all.insert(id);
    ids.assign(all.begin(), all.end());
  }
  std::vector<MqttMessage> clears, sets;
  for (const auto& id : ids) {
    auto want_peer = peers.find(id);
    auto have_peer = peers_.find(id);
    if (want_peer == peers.end()) {
      if (have_peer != peers_.end()) {
        clears.push_back({topics::peer(id), "", 1, true});
        peers_.erase(have_peer);
      }
    } else if (have_peer == peers_.end() || !(have_peer->second == want_peer->second)) {
      sets.push_back({topics::peer(id), encode(want_peer->second), 1, true});
      peers_[id] = want_peer->second;
    }
  }
  for (const auto& id : ids) {
    auto want = assigns.find(id);
    auto have = assigns_.find(id);
    if (want == assigns.end()) {
      if (have != assigns_.end()) {
        clears.push_back({topics::assign(id), "", 1, true});
        assigns_.erase(have);
      }
      continue;
    }
    if (have != assigns_.end() && have->second.agent == want->second.agent &&
        have->second.peers == want->second.peers && have->second.checks == want->second.checks) {
      continue;
    }
    Assign a = want->second;
    a.rev = last_rev_[id] + 1;
    last_rev_[id] = a.rev;
    sets.push_back({topics::assign(id), encode(a), 1, true});
    assigns_[id] = std::move(a);
  }
  // Departed peers first, so agents stop probing them before anything else.
  clears.insert(clears.end(), std::make_move_iterator(sets.begin()),
                std::make_move_iterator(sets.end()));
  return clears;
}

}  // namespace mutuo::tracker
