#include "tracker/assignment.h"

namespace mutuo::tracker {

std::map<std::string, Assign> full_mesh(const std::map<std::string, Peer>& live,
                                        const AssignmentConfig& config) {
  std::map<std::string, Assign> out;
  for (const auto& [id, self] : live) {
    Assign a;
    a.agent = id;
    for (const auto& [other_id, other] : live) {
      if (other_id == id || other.addrs.empty()) continue;
      a.peers.push_back(PeerTarget{other_id, other.addrs.front(), other.echo_port, {"udp"},
                                   config.interval_s});
    }
    out.emplace(id, std::move(a));
  }
  return out;
}

}  // namespace mutuo::tracker
