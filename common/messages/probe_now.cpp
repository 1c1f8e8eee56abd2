#include "common/messages/probe_now.h"

#include "common/ids.h"
#include "common/messages/probe_request.h"

namespace mutuo {

using codec::json;

namespace {

constexpr std::string_view kProbeNowPrefix = "mutuo/v1/probe-now/";

}  // namespace

std::string probe_now_topic(std::string_view agent) {
  return std::string(kProbeNowPrefix) + std::string(agent);
}

std::optional<std::string> probe_now_agent_of(std::string_view topic) {
  if (!topic.starts_with(kProbeNowPrefix)) return std::nullopt;
  std::string_view id = topic.substr(kProbeNowPrefix.size());
  if (!valid_id(id)) return std::nullopt;
  return std::string(id);
}

// The targets are written and read exactly as an assignment's (assign.h), by
// its codec: one definition of what a peer or check target is.
void to_json(json& j, const ProbeNow& p) {
  json targets = json(Assign{p.agent, 0, p.peers, p.checks});
  j = json{{"v", codec::kVersion},
           {"agent", p.agent},
           {"subject", p.subject},
           {"ts", p.ts_ms},
           {"expires", p.expires_ms},
           {"rounds", p.rounds},
           {"every_ms", p.every_ms},
           {"peers", std::move(targets["peers"])},
           {"checks", std::move(targets["checks"])}};
}

std::string encode(const ProbeNow& p) { return json(p).dump(); }

Result<ProbeNow> decode_probe_now(std::string_view payload) {
  return codec::decode_payload<ProbeNow>(
      payload, kMaxProbeNowPayload, [](const json& j) -> Result<ProbeNow> {
        ProbeNow p;
        p.agent = codec::get_id(j, "agent");
        p.subject = codec::get_string(j, "subject", 200);
        if (!valid_probe_request_subject(p.subject)) return Error{"invalid value for 'subject'"};
        p.ts_ms = codec::get_timestamp(j, "ts");
        p.expires_ms = codec::get_timestamp(j, "expires");
        if (p.expires_ms <= p.ts_ms) return Error{"out of range: 'expires' must follow 'ts'"};
        p.rounds = static_cast<uint32_t>(codec::get_uint(j, "rounds", kMaxProbeNowRounds));
        if (p.rounds == 0) return Error{"out of range: 'rounds'"};
        p.every_ms = static_cast<uint32_t>(codec::get_uint(j, "every_ms", 60000));
        if (p.every_ms < 100) return Error{"out of range: 'every_ms'"};
        const json& peers = codec::required(j, "peers");
        if (!peers.is_array()) return Error{"expected an array for 'peers'"};
        if (peers.size() > kMaxProbeNowTargets) return Error{"too many items in 'peers'"};
        json checks = json::array();
        if (const json* c = codec::optional(j, "checks")) {
          if (!c->is_array()) return Error{"expected an array for 'checks'"};
          if (c->size() > kMaxProbeNowTargets) return Error{"too many items in 'checks'"};
          checks = *c;
        }
        if (peers.empty() && checks.empty()) return Error{"no targets in 'peers' or 'checks'"};
        json as_assign{{"v", codec::kVersion},
                       {"agent", p.agent},
                       {"rev", 0},
                       {"peers", peers},
                       {"checks", checks}};
        auto targets = decode_assign(as_assign.dump());
        if (!targets) return Error{targets.error()};
        p.peers = std::move(targets->peers);
        p.checks = std::move(targets->checks);
        return p;
      });
}

}  // namespace mutuo
