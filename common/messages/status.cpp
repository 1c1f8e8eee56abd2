#include "common/messages/status.h"

namespace mutuo {

using codec::json;

void to_json(json& j, const Status& s) {
  j = json{{"v", codec::kVersion},
           {"agent", s.agent},
           {"state", s.online ? "online" : "offline"},
           {"ts", s.ts_ms}};
  if (!s.version.empty()) j["version"] = s.version;
  if (s.online) {
    j["addrs"] = s.addrs;
    j["echo_port"] = s.echo_port;
    j["labels"] = s.labels;
    j["probes"] = s.probes;
  } else {
    j["reason"] = s.reason.empty() ? "lost" : s.reason;
  }
}

std::string encode(const Status& s) { return json(s).dump(); }

Result<Status> decode_status(std::string_view payload) {
  return codec::decode_payload<Status>(payload, 16 * 1024, [](const json& j) -> Result<Status> {
    Status s;
    s.agent = codec::get_id(j, "agent");
    std::string state = codec::get_string(j, "state", 16);
    if (state != "online" && state != "offline") return Error{"invalid value for 'state'"};
    s.online = state == "online";
    s.ts_ms = codec::get_timestamp(j, "ts");
    if (codec::optional(j, "version")) s.version = codec::get_string(j, "version", 64);
    if (s.online) {
      s.addrs = codec::get_addrs(j, "addrs");
      if (s.addrs.empty()) return Error{"no addresses in 'addrs'"};
      s.echo_port = static_cast<uint16_t>(codec::get_uint(j, "echo_port", 65535));
      if (s.echo_port == 0) return Error{"out of range: 'echo_port'"};
      s.labels = codec::get_labels(j, "labels");
      if (codec::optional(j, "probes")) s.probes = codec::get_strings(j, "probes", 16, 16);
    } else {
      s.reason = codec::optional(j, "reason") ? codec::get_string(j, "reason", 16) : "lost";
      if (s.reason != "shutdown" && s.reason != "lost") return Error{"invalid value for 'reason'"};
    }
    return s;
  });
}

}  // namespace mutuo
