// LiveSet: the agents online now, built from their retained status messages.
// Pure logic, no I/O: the tracker feeds it what arrives on agents/+/status.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/messages/peer.h"
#include "common/messages/status.h"

namespace mutuo::tracker {

class LiveSet {
 public:
  // Applies the status of `agent`: nullopt means the retained status was cleared.
  // An online status adds or updates the peer; offline or cleared removes it.
  // `now_ms` becomes the peer's `since` when it was not live before (unless a
  // previously published since is remembered, see remember_since()).
  // Returns true when the live set or any live peer's details changed.
  bool apply(const std::string& agent, const std::optional<Status>& status, int64_t now_ms);

  // Remembers the `since` of a peer entry the tracker published before it
  // restarted, so a restart does not reset how long a peer has been up.
  void remember_since(const std::string& agent, int64_t since_ms);

  const std::map<std::string, Peer>& peers() const { return peers_; }

 private:
  std::map<std::string, Peer> peers_;
  std::map<std::string, int64_t> remembered_since_;
};

}  // namespace mutuo::tracker
