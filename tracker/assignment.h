// Whom each live agent probes, and which service checks it runs (DESIGN.md, "Whom
// each agent probes").
//
// Up to `full_mesh_max` live peers the mesh is full. Beyond it every peer gets
// min(k, N-1) observers, chosen by rendezvous hashing: each (target, observer)
// pair has a score from a fixed hash of both ids, the target keeps its
// `candidates` best-scoring observers in score order, and its observers are picked
// from that list so that label values (site, provider) are spread before one
// repeats. Checks are placed the same way among their eligible agents.
//
// Why this shape: the score of a pair never changes, so a join or a leave only
// moves that peer in or out of the candidate lists it ranks in (about
// `candidates` of them) and changes O(k) assignments; the candidate list bounds
// how many targets one observer can be picked for, so an agent alone at its site
// does not end up probing everyone; and everything is a pure function of the live
// set, so a restarted tracker computes the same assignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/messages/assign.h"
#include "common/messages/check.h"
#include "common/messages/peer.h"

namespace mutuo::tracker {

struct AssignmentConfig {
  uint32_t interval_s = 10;        // probe round interval handed to agents
  std::size_t full_mesh_max = 64;  // up to this many live peers, everyone probes everyone
  std::size_t k = 16;              // observers per peer beyond that
  std::vector<std::string> spread_labels = {"site", "provider"};  // spread observers over these
  std::size_t candidates = 0;  // candidate observers ranked per target; 0 means 3 * k
};

// The assignment of a live set, kept up to date incrementally.
// Not thread-safe: one owner calls update() and reads the results.
class Assignment {
 public:
  explicit Assignment(AssignmentConfig config);

  // Brings the assignment in line with `live` and `checks`. Returns the agents
  // whose Assign changed, including those that left (no longer in assigns()).
  // Every Assign has rev 0: the Publisher numbers them. With `touched`, only
  // those agents are looked at in `live` (the caller guarantees no other entry
  // changed since the last update): at 10,000 agents a full scan costs more
  // than the join itself.
  std::set<std::string> update(const std::map<std::string, Peer>& live,
                               const std::map<std::string, Check>& checks,
                               const std::set<std::string>* touched = nullptr);

  const std::map<std::string, Assign>& assigns() const { return assigns_; }

  // The observers of a live peer, sorted by id (empty for an unknown id).
  std::vector<std::string> observers_of(const std::string& target) const;
  // The agents a check is placed on, sorted by id.
  std::vector<std::string> check_observers(const std::string& check) const;
  bool sparse() const { return sparse_; }

 private:
  struct Candidate {
    uint64_t score;
    std::string id;
  };
  struct Member {
    uint64_t hash = 0;
    std::vector<std::string> spread;     // this agent's values of spread_labels ("" = none)
    std::vector<Candidate> candidates;   // best observers first, at most prefix_ of them
    std::vector<std::string> observers;  // chosen among candidates, sorted
  };

  void add_member(const std::string& id, const Peer& peer, std::set<std::string>& dirty_targets);
  void remove_member(const std::string& id, std::set<std::string>& dirty_targets,
                     std::set<std::string>& dirty_agents);
  void refill(const std::string& id, Member& m);
  std::vector<std::string> pick(const std::vector<Candidate>& ranked, std::size_t want) const;
  void spread_pick(const std::vector<Candidate>& ranked, const std::vector<std::size_t>& among,
                   std::size_t want, std::size_t key, std::vector<std::size_t>& out) const;
  std::vector<std::string> select_observers(const Member& m) const;
  std::vector<std::string> place_check(const Check& c) const;
  std::vector<std::string> spread_values(const Peer& peer) const;
  bool same_spread(const Peer& peer, const std::vector<std::string>& spread) const;
  Assign build(const std::string& agent) const;

  const AssignmentConfig config_;
  const std::size_t prefix_;  // candidate list length per target
  bool sparse_ = false;
  std::map<std::string, Member> members_;
  std::map<std::string, Peer> peers_;                        // as last seen by update()
  std::map<std::string, Check> checks_;                      // as last seen by update()
  std::map<std::string, std::set<std::string>> targets_of_;  // observer -> peers it probes
  std::map<std::string, std::vector<std::string>> placed_;   // check -> its agents
  std::map<std::string, std::set<std::string>> checks_of_;   // agent -> checks it runs
  std::map<std::string, Assign> assigns_;
};

// Rendezvous score of `observer` for `target`: a fixed 64-bit hash of both ids,
// the same on every platform and across restarts.
uint64_t rendezvous_score(const std::string& target, const std::string& observer);

// True when `agent`, carrying `labels`, may run check `c`: listed in c.agents
// (when that is not empty) and carrying every label of c.selector.
bool check_eligible(const Check& c, const std::string& agent, const codec::Labels& labels);

// A fresh assignment of `live` (what a restarted tracker computes).
std::map<std::string, Assign> assign_all(const std::map<std::string, Peer>& live,
                                         const std::map<std::string, Check>& checks,
                                         const AssignmentConfig& config);

}  // namespace mutuo::tracker
