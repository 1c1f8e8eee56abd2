#include "tracker/publisher.h"

#include <algorithm>

#include "common/topics.h"

namespace mutuo::tracker {

void Publisher::observe_peer(const std::string& agent, const std::optional<Peer>& peer) {
  if (peer) {
    peers_[agent] = *peer;
  } else {
    peers_.erase(agent);
  }
}

void Publisher::observe_assign(const std::string& agent, const std::optional<Assign>& assign) {
  if (assign) {
    last_rev_[agent] = std::max(last_rev_[agent], assign->rev);
    assigns_[agent] = *assign;
  } else {
    assigns_.erase(agent);
  }
}

std::vector<MqttMessage> Publisher::plan(const std::map<std::string, Peer>& peers,
                                         std::map<std::string, Assign> assigns) {
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
  for (auto& [id, assign] : assigns) {
    auto it = assigns_.find(id);
    if (it != assigns_.end()) {
      assign.rev = it->second.rev;
      if (it->second == assign) continue;
    }
    assign.rev = last_rev_[id] + 1;
    last_rev_[id] = assign.rev;
    out.push_back({topics::assign(id), encode(assign), 1, true});
    assigns_[id] = assign;
  }
  return out;
}

}  // namespace mutuo::tracker
