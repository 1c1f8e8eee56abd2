#include "agent/probes/echo_packet.h"

#include <cstring>

namespace mutuo::agent {

namespace {
constexpr uint8_t kMagic[4] = {'M', 'T', 'E', '1'};
}

std::array<uint8_t, kEchoPacketSize> encode_echo(const EchoPacket& p) {
  std::array<uint8_t, kEchoPacketSize> b{};
  std::memcpy(b.data(), kMagic, 4);
  b[4] = p.reply ? 'R' : 'Q';
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(p.nonce >> (8 * (7 - i)));
  for (int i = 0; i < 4; ++i) b[16 + i] = static_cast<uint8_t>(p.seq >> (8 * (3 - i)));
  return b;
}

std::optional<EchoPacket> parse_echo(std::span<const uint8_t> b) {
  if (b.size() != kEchoPacketSize || std::memcmp(b.data(), kMagic, 4) != 0) return std::nullopt;
  if (b[4] != 'Q' && b[4] != 'R') return std::nullopt;
  EchoPacket p;
  p.reply = b[4] == 'R';
  for (int i = 0; i < 8; ++i) p.nonce = (p.nonce << 8) | b[8 + i];
  for (int i = 0; i < 4; ++i) p.seq = (p.seq << 8) | b[16 + i];
  return p;
}

}  // namespace mutuo::agent
