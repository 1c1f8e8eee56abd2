// Publisher: turns the wanted peer list and assignments into the few retained
// messages that differ from what is on the broker. It learns what is on the
// broker from the retained peers/+ and assign/+ topics (so a restarted tracker
// republishes nothing that did not change) and numbers each changed assignment
// with a revision above the one it replaces.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/messages/assign.h"
#include "common/messages/peer.h"
#include "common/mqtt_session.h"

namespace mutuo::tracker {

class Publisher {
 public:
  // Records what the broker holds (from a retained message or our own echo).
  // nullopt: the topic is empty. Returns true when this differs from what the
  // publisher believed, i.e. a new plan may be needed. An assignment older than
  // one already seen (the late echo of a superseded publish) is ignored.
  bool observe_peer(const std::string& agent, const std::optional<Peer>& peer);
  bool observe_assign(const std::string& agent, const std::optional<Assign>& assign);

  // The messages that make the broker hold exactly `peers` and `assigns`
  // (assign revs are ignored on input and set here). Marks them as published.
  // With `only`, looks at those agents alone: the caller knows nothing else
  // changed, and at 10,000 agents a full comparison costs tens of milliseconds.
  std::vector<MqttMessage> plan(const std::map<std::string, Peer>& peers,
                                const std::map<std::string, Assign>& assigns,
                                const std::set<std::string>* only = nullptr);

  // Forgets what a failed publish would have made the broker hold, so the next
  // plan sends it again.
  void forget(const MqttMessage& failed);

  const std::map<std::string, Peer>& published_peers() const { return peers_; }
  const std::map<std::string, Assign>& published_assigns() const { return assigns_; }

 private:
  std::map<std::string, Peer> peers_;
  std::map<std::string, Assign> assigns_;
  std::map<std::string, uint64_t> last_rev_;  // survives an emptied topic
};

}  // namespace mutuo::tracker
