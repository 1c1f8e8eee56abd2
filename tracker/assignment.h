// Whom each live agent probes. For now a full mesh: every live agent probes every
// other one with the UDP echo probe (the sparse mesh of DESIGN.md comes later).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/messages/assign.h"
#include "common/messages/peer.h"

namespace mutuo::tracker {

struct AssignmentConfig {
  uint32_t interval_s = 10;  // probe round interval handed to agents
};

// One Assign per live peer, with rev left at 0 (the Publisher numbers them).
std::map<std::string, Assign> full_mesh(const std::map<std::string, Peer>& live,
                                        const AssignmentConfig& config);

}  // namespace mutuo::tracker
