// Leadership: which of two (or more) trackers publishes. Built on the broker
// alone: the retained topic mutuo/v1/tracker/leader holds the id of the tracker
// that publishes, and every tracker sets as its MQTT last will an empty retained
// message on that topic. When the leader dies, the broker clears the topic; a
// standby sees it empty and claims it. The broker orders competing claims, every
// tracker sees them in that order, and the last one stands, so all agree.
// A standby keeps following the retained peers and assignments, so when it takes
// over it republishes only what changed.
//
// Pure logic, no I/O; not thread-safe (the Tracker holds its lock around it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/mqtt_session.h"

namespace mutuo::tracker {

inline constexpr const char* kLeaderTopic = "mutuo/v1/tracker/leader";

class Leadership {
 public:
  explicit Leadership(std::string self) : self_(std::move(self)) {}

  // A message on the leader topic (empty payload: nobody leads). Malformed
  // payloads count as "somebody else leads": never two leaders by mistake.
  void observe(std::string_view payload);

  // After the settle period: the claim to publish when nobody leads and we have
  // not claimed since (nullopt otherwise).
  std::optional<MqttMessage> claim(int64_t now_ms);

  // After a reconnect: if we led, claim again (our will may have emptied the
  // topic); a claim by another tracker stands.
  void reconnected();

  bool leader() const { return holder_ && *holder_ == self_; }
  const std::optional<std::string>& holder() const { return holder_; }

  // The last will to register at connect, and the message that resigns on a
  // clean stop (both empty retained messages on the leader topic).
  static MqttMessage vacate();

 private:
  const std::string self_;
  std::optional<std::string> holder_;  // as last seen on the broker
  bool claimed_ = false;               // a claim of ours is on its way
};

}  // namespace mutuo::tracker
