#include "common/messages/peer.h"

namespace mutuo {

using codec::json;

void to_json(json& j, const Peer& p) {
  j = json{{"v", codec::kVersion}, {"agent", p.agent},   {"addrs", p.addrs},
           {"echo_port", p.echo_port}, {"labels", p.labels}, {"since", p.since_ms}};
}

std::string encode(const Peer& p) { return json(p).dump(); }

Result<Peer> decode_peer(std::string_view payload) {
  return codec::decode_payload<Peer>(payload, 16 * 1024, [](const json& j) -> Result<Peer> {
    Peer p;
    p.agent = codec::get_id(j, "agent");
    p.addrs = codec::get_addrs(j, "addrs");
    if (p.addrs.empty()) return Error{"no addresses in 'addrs'"};
    p.echo_port = static_cast<uint16_t>(codec::get_uint(j, "echo_port", 65535));
    if (p.echo_port == 0) return Error{"out of range: 'echo_port'"};
    p.labels = codec::get_labels(j, "labels");
    p.since_ms = codec::get_timestamp(j, "since");
    return p;
  });
}

}  // namespace mutuo
