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
                                         const std::map<std::string, Assign>& assigns) {
  std::vector<MqttMessage> out;
  // Departed peers first, so agents stop probing them before anything else.
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (peers.count(it->first)) {
      ++it;
      continue;
    }
    out.push_back({topics::peer(it->first), "", 1, true});
    it = peers_.erase(it);
  }
  for (auto it = assigns_.begin(); it != assigns_.end();) {
    if (assigns.count(it->first)) {
      ++it;
      continue;
    }
    out.push_back({topics::assign(it->first), "", 1, true});
    it = assigns_.erase(it);
  }
  for (const auto& [id, peer] : peers) {
    auto it = peers_.find(id);
    if (it != peers_.end() && it->second == peer) continue;
    out.push_back({topics::peer(id), encode(peer), 1, true});
    peers_[id] = peer;
  }
  for (const auto& [id, wanted] : assigns) {
    auto it = assigns_.find(id);
    if (it != assigns_.end() && it->second.agent == wanted.agent &&
        it->second.peers == wanted.peers && it->second.checks == wanted.checks) {
      continue;
    }
    Assign a = wanted;
    a.rev = last_rev_[id] + 1;
    last_rev_[id] = a.rev;
    out.push_back({topics::assign(id), encode(a), 1, true});
    assigns_[id] = std::move(a);
  }
  return out;
}

}  // namespace mutuo::tracker
