// Fuzz target for the UDP echo packet parser (fuzz_targets.h).
#include "agent/probes/echo_packet.h"

#include <span>
#include <string>

#include "tests/fuzz/fuzz_targets.h"

namespace mutuo::fuzz {

std::string echo_packet(const uint8_t* data, std::size_t size) {
  auto p = agent::parse_echo(std::span<const uint8_t>(data, size));
  if (!p) return "";
  if (size != agent::kEchoPacketSize)
    return "echo: accepted a packet of " + std::to_string(size) + " bytes";
  auto bytes = agent::encode_echo(*p);
  auto back = agent::parse_echo(bytes);
  if (!back) return "echo: its own encoding is rejected";
  if (back->reply != p->reply || back->nonce != p->nonce || back->seq != p->seq) {
    return "echo: a round trip changed the packet";
  }
  return "";
}

}  // namespace mutuo::fuzz
