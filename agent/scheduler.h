// Scheduler: when each probe round is due. Targets are grouped by (probe type,
// interval): one group is one round, in which the probe measures all its
// targets at once (the probes interleave their packets and connections).
//
// - Jitter: a new group starts at a random phase within its interval, so
//   agents that start together (a fleet reboot) do not probe in step.
// - No drift: a group's rounds are due at phase + k * interval on the monotonic
//   clock, whatever each round takes; a slot missed because the previous round
//   of that group still runs, or the host was suspended, is skipped and
//   counted, never run late or twice.
// - Stable: a new assignment keeps the schedule of every group that remains,
//   so a tracker republishing does not reset phases.
// - Bounded: groups and targets come from an assignment whose size the decoder
//   bounds; nothing grows with time.
// - One-shot rounds (second opinions, mutuo/v1/probe-now/{agent}): run once at a
//   given time, beside the groups and without touching their schedule; at most
//   kMaxOnce wait at a time, more are dropped and counted.
//
// Threading: not thread-safe; the agent calls it under its own mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/probes/probe.h"
#include "common/messages/assign.h"

namespace mutuo::agent {

struct Round {
  std::string probe;
  std::chrono::seconds interval{0};
  std::vector<ProbeTarget> targets;
  // The slot this round was due at (set by take_due). Results are stamped with
  // it, not with when the round happened to start, so a series' timestamps sit
  // exactly one interval apart and a missing round shows as a hole.
  std::chrono::steady_clock::time_point due{};
  bool once = false;  // a one-shot round (add_once), in no group
  std::string key() const {
    return (once ? "once/" : "") + probe + "/" + std::to_string(interval.count());
  }
};

// The rounds an assignment asks for, one per (probe type, interval), only for
// probe types in `known`. Peers give udp targets (addr, echo port) and icmp
// targets (addr); checks give targets of their own type. `peer_timeout` is the
// timeout of peer probes (assignments carry none), capped at 3/4 of the
// interval so that a round fits in it; a check's timeout_ms of 0 means 5 s. Unknown probe types are
// counted in *unknown.
std::vector<Round> rounds_of(const Assign& assign, const std::set<std::string>& known,
                             std::chrono::milliseconds peer_timeout, uint64_t* unknown);

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Scheduler(uint64_t seed) : rng_(seed) {}

  // Replaces the rounds; groups whose key remains keep their next due time.
  void set_rounds(std::vector<Round> rounds, Clock::time_point now);

  // The rounds due at `now`, not already running; each is marked running until
  // finished(key). Advances every due group to its next slot after `now`.
  std::vector<Round> take_due(Clock::time_point now);
  void finished(const std::string& key);

  // Adds `count` one-shot runs of each of `rounds`, the first at `now`, then
  // every `every`. Returns how many were added; beyond kMaxOnce waiting, the
  // rest are dropped and counted in once_dropped(). One-shot rounds run even
  // while their probe's regular group runs, and never move its schedule.
  static constexpr std::size_t kMaxOnce = 64;
  std::size_t add_once(const std::vector<Round>& rounds, uint32_t count,
                       std::chrono::milliseconds every, Clock::time_point now);
  std::size_t once_waiting() const { return once_.size(); }
  uint64_t once_dropped() const { return once_dropped_; }

  // When the next round is due (time_point::max() when there is none).
  Clock::time_point next_due() const;

  std::size_t groups() const { return groups_.size(); }
  std::size_t targets() const;
  uint64_t skipped() const { return skipped_; }  // slots not run (overrun, suspend)

 private:
  struct Group {
    Round round;
    Clock::time_point next;
    bool running = false;
  };
  std::map<std::string, Group> groups_;
  std::multimap<Clock::time_point, Round> once_;  // one-shot rounds by due time
  uint64_t once_dropped_ = 0;
  std::mt19937_64 rng_;
  uint64_t skipped_ = 0;
};

}  // namespace mutuo::agent
