// HealthEngine: the state of every peer and check from its observers' recent
// results, with the fault attributed (DESIGN.md, "Health, not just numbers").
//
//   - A subject is down only when a quorum of independent observers fails: at
//     least min_quorum and more than quorum_fraction of the observers that vote.
//     Fewer than min_observers voting: unknown. Otherwise degraded when the median
//     loss or latency over the voters crosses its threshold, else up.
//   - An observer that fails toward at least isolation_fraction of its targets
//     while most other observers reach those targets fine is "isolated": its own
//     link is down. Its votes are set aside everywhere; its own peer subject is
//     reported with cause "observer-isolated" (down when a quorum fails toward it,
//     else degraded).
//   - Failures between agents whose values of one label (site, provider, ...)
//     differ, in both directions, while each side reaches itself, are reported as
//     one partition subject (partition/{label}/{a}/{b}); those paths' votes are set
//     aside, so the agents behind it are not each reported down.
//   - A peer whose presence says offline (last will or shutdown) is "offline",
//     whatever the probes say; an offline observer does not vote.
//   - Reciprocity: when A->B fails (or loses packets) while B->A is fine, A is
//     listed in B's one_way.
//   - When an isolation or a partition heals, the failures it explained are
//     forgotten as each path answers again, so the healed paths' recent losses
//     do not make every subject behind them "degraded" for a window's length.
//
// Pure logic: no clock, no I/O; the caller passes `now`. Not thread-safe: one
// thread (the receiver's health thread) calls everything.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/messages/alert.h"
#include "common/messages/results.h"
#include "common/messages/status.h"
#include "receiver/health/observer_window.h"

namespace mutuo::health {

// A subject some observers have started failing toward while no quorum says down
// yet (docs/health.md, "Second opinions"): what a probe request is made of.
struct Suspect {
  std::string subject;                 // peer/{agent} or check/{check}
  std::vector<std::string> failing;    // voters whose newest result failed, sorted
  std::vector<std::string> observers;  // every observer with fresh results (not stale), sorted
};

struct HealthConfig {
  WindowLimits window;
  int64_t stale_ms = 90'000;         // an observer with no result this recent does not vote
  std::size_t min_observers = 2;     // fewer voters: unknown
  std::size_t min_quorum = 2;        // down needs at least this many failing voters
  double quorum_fraction = 0.5;      // ... and more than this share of the voters
  double isolation_fraction = 0.75;  // share of an observer's targets it fails alone
  std::size_t isolation_min_targets = 2;
  double partition_fraction = 0.8;      // share of cross-label paths failing
  std::size_t partition_min_paths = 2;  // cross-label paths measured, at least
};

class HealthEngine {
 public:
  explicit HealthEngine(HealthConfig config = {}) : config_(config) {}

  // One result reported by `observer` (taken from the topic, trusted).
  void observe(const std::string& observer, const ProbeResult& result);
  void observe(const ResultBatch& batch);
  // Presence from agents/{agent}/status: online (with labels) or offline. An
  // agent back online after being offline starts with no results toward it.
  void presence(const Status& status);
  // A peer removed for good (deregistered): forget it and its windows.
  void forget_agent(const std::string& agent);

  // The state of every subject known (peers with presence or results, checks
  // with results, partitions detected now or reported before and now healed, as
  // up), each as an Alert with ts = now and since = 0 (AlertTracker sets it).
  std::vector<Alert> evaluate(int64_t now_ms);

  // The peers and checks that the last evaluate() found neither down nor offline
  // (nor explained by an isolation) while at least one voter's newest result
  // failed: where more observers would bring the verdict sooner.
  const std::vector<Suspect>& suspects() const { return suspects_; }
  // Observers found isolated by the last evaluate().
  const std::set<std::string>& isolated() const { return isolated_; }
  // Labels of an agent (from its last online presence); empty when unknown.
  const codec::Labels& labels(const std::string& agent) const;

 private:
  struct Presence {
    bool online = true;
    codec::Labels labels;
  };
  // A fresh window's reading.
  struct View {
    std::string observer;
    Verdict verdict;
    ObserverEvidence evidence;
    double loss;
    std::optional<double> rtt_ms;
  };
  using Key = std::pair<std::string, std::string>;  // observer, subject

  bool offline(const std::string& agent) const;
  std::set<std::string> find_isolated(const std::map<std::string, std::vector<View>>& views) const;
  std::vector<PartitionSides> find_partitions(const std::map<std::string, std::vector<View>>& views,
                                              std::set<Key>& explained) const;
  // Marks the windows whose failures someone else's fault explains now; once
  // such a path answers again, forgets its failures and reads its view again.
  void forgive_healed(std::map<std::string, std::vector<View>>& views,
                      const std::set<Key>& explained);

  const HealthConfig config_;
  std::map<Key, ObserverWindow> windows_;
  std::map<std::string, Presence> presence_;
  std::set<std::string> isolated_;
  std::vector<Suspect> suspects_;
  std::map<std::string, PartitionSides> partitions_;  // subject -> sides, ever reported
};

}  // namespace mutuo::health
