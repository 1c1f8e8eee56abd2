// The UDP echo packet exchanged between agents. Fixed size, so a responder never
// sends more than it received (no amplification), and typed request/reply, so
// two responders can never be tricked into bouncing packets between each other.
//
//   0..3  magic "MTE1"
//   4     type: 'Q' request, 'R' reply
//   5..7  zero
//   8..15 round nonce (random per probe round)
//   16..19 sequence number within the round
//   20..23 zero
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace mutuo::agent {

inline constexpr std::size_t kEchoPacketSize = 24;

struct EchoPacket {
  bool reply = false;
  uint64_t nonce = 0;
  uint32_t seq = 0;
};

std::array<uint8_t, kEchoPacketSize> encode_echo(const EchoPacket& p);
// nullopt for anything that is not exactly one well-formed echo packet.
std::optional<EchoPacket> parse_echo(std::span<const uint8_t> bytes);

}  // namespace mutuo::agent
