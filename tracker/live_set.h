// LiveSet: the agents online now, built from their retained status messages.
// Pure logic, no I/O: the tracker feeds it what arrives on agents/+/status.
//
// Flap damping: an agent that comes back within `flap_window_ms` of leaving is
// held out of the live set for `flap_hold_ms`; if it leaves again meanwhile,
// nothing was published for it. So an agent bouncing on a bad link costs one
// leave and, once it stays up, one join, not a rewrite per bounce. Leaves apply
// at once: a dead peer must stop being probed. A first join (or one after a long
// absence) applies at once too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/messages/peer.h"
#include "common/messages/status.h"

namespace mutuo::tracker {

struct FlapConfig {
  int64_t window_ms = 60000;  // a rejoin this soon after a leave is held...
  int64_t hold_ms = 5000;     // ...for this long (0: no damping)
};

class LiveSet {
 public:
  explicit LiveSet(FlapConfig flap = {}) : flap_(flap) {}

  // Applies the status of `agent`: nullopt means the retained status was cleared.
  // An online status adds or updates the peer (or holds it, see above); offline
  // or cleared removes it. `now_ms` becomes the peer's `since` when it was not
  // live before (unless a previously published since is remembered, see
  // remember_since()). Returns true when the live set or any live peer's details
  // changed.
  bool apply(const std::string& agent, const std::optional<Status>& status, int64_t now_ms);

  // Admits held agents whose hold has ended by `now_ms`. True when any was.
  bool release(int64_t now_ms);
  // When the next held agent is due, if any is held.
  std::optional<int64_t> next_release_ms() const;
  std::size_t held() const { return held_.size(); }

  // Remembers the `since` of a peer entry the tracker published before it
  // restarted, so a restart does not reset how long a peer has been up.
  void remember_since(const std::string& agent, int64_t since_ms);

  const std::map<std::string, Peer>& peers() const { return peers_; }

 private:
  struct Held {
    Peer peer;
    int64_t until_ms;
  };

  Peer make_peer(const std::string& agent, const Status& status, int64_t now_ms) const;

  const FlapConfig flap_;
  std::map<std::string, Peer> peers_;
  std::map<std::string, Held> held_;
  std::map<std::string, int64_t> left_at_ms_;  // recent leaves only (pruned by release())
  std::map<std::string, int64_t> remembered_since_;
};

}  // namespace mutuo::tracker
