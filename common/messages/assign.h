// mutuo/v1/assign/{agent} (retained, by the tracker): whom one agent probes and
// how often, with a revision number that only grows.
// Schema: schemas/assign.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct PeerTarget {
  std::string agent;
  std::string addr;
  uint16_t echo_port = 0;
  std::vector<std::string> probes;  // e.g. {"udp"}
  uint32_t interval_s = 10;

  bool operator==(const PeerTarget&) const = default;
};

// A user-defined service check handed to this agent. Which fields are set
// depends on `type`: http uses url; tcp uses host and port; dns uses name (and
// host as the server, optional); icmp uses host.
struct CheckTarget {
  std::string check;
  std::string type;  // "http" | "tcp" | "dns" | "icmp"
  std::string url;
  std::string host;
  uint16_t port = 0;
  std::string name;
  uint32_t interval_s = 30;
  uint32_t timeout_ms = 5000;

  bool operator==(const CheckTarget&) const = default;
};

struct Assign {
  std::string agent;
  uint64_t rev = 0;
  std::vector<PeerTarget> peers;
  std::vector<CheckTarget> checks;

  bool operator==(const Assign&) const = default;
};

inline constexpr std::size_t kMaxAssignedPeers = 4096;
inline constexpr std::size_t kMaxAssignedChecks = 1024;

void to_json(nlohmann::json& j, const Assign& a);
std::string encode(const Assign& a);
Result<Assign> decode_assign(std::string_view payload);

}  // namespace mutuo
