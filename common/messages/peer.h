// mutuo/v1/peers/{agent} (retained, by the tracker): one entry of the live peer
// list. A zero-length retained payload means the peer left.
// Schema: schemas/peer.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct Peer {
  std::string agent;
  std::vector<std::string> addrs;
  uint16_t echo_port = 0;
  codec::Labels labels;
  int64_t since_ms = 0;  // when the tracker first saw this peer online

  bool operator==(const Peer&) const = default;
};

void to_json(nlohmann::json& j, const Peer& p);
std::string encode(const Peer& p);
Result<Peer> decode_peer(std::string_view payload);

}  // namespace mutuo
