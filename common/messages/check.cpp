#include "common/messages/check.h"

namespace mutuo {

using codec::json;

CheckTarget check_target(const Check& c) {
  return CheckTarget{c.check, c.type,       c.url,        c.host,          c.port,
                     c.name,  c.interval_s, c.timeout_ms, c.expect_status, c.expect_keyword};
}

void to_json(json& j, const Check& c) {
  j = json{{"v", codec::kVersion},       {"check", c.check},           {"type", c.type},
           {"interval_s", c.interval_s}, {"timeout_ms", c.timeout_ms}, {"observers", c.observers}};
  if (!c.url.empty()) j["url"] = c.url;
  if (!c.host.empty()) j["host"] = c.host;
  if (c.port != 0) j["port"] = c.port;
  if (!c.name.empty()) j["name"] = c.name;
  write_http_expectations(j, c.expect_status, c.expect_keyword);
  if (!c.selector.empty()) j["selector"] = c.selector;
  if (!c.agents.empty()) j["agents"] = c.agents;
}

std::string encode(const Check& c) { return json(c).dump(); }

Result<Check> decode_check(std::string_view payload) {
  return codec::decode_payload<Check>(payload, 256 * 1024, [](const json& j) -> Result<Check> {
    Check c;
    c.check = codec::get_id(j, "check");
    c.type = codec::get_string(j, "type", 8);
    if (codec::optional(j, "url")) c.url = codec::get_string(j, "url", 2048);
    if (codec::optional(j, "host")) c.host = codec::get_string(j, "host", 255);
    if (codec::optional(j, "port")) {
      c.port = static_cast<uint16_t>(codec::get_uint(j, "port", 65535));
    }
    if (codec::optional(j, "name")) c.name = codec::get_string(j, "name", 255);
    read_http_expectations(j, &c.expect_status, &c.expect_keyword);  // other types ignore them
    if (c.type == "http") {
      if (c.url.empty()) return Error{"missing field 'url'"};
      if (!c.url.starts_with("http://") && !c.url.starts_with("https://")) {
        return Error{"invalid value for 'url'"};
      }
    } else if (c.type == "tcp") {
      if (c.host.empty()) return Error{"missing field 'host'"};
      if (c.port == 0) return Error{"out of range: 'port'"};
    } else if (c.type == "dns") {
      if (c.name.empty()) return Error{"missing field 'name'"};
    } else if (c.type == "icmp") {
      if (c.host.empty()) return Error{"missing field 'host'"};
    } else {
      return Error{"invalid value for 'type'"};
    }
    c.interval_s = static_cast<uint32_t>(codec::get_uint(j, "interval_s", 86400));
    if (c.interval_s == 0) return Error{"out of range: 'interval_s'"};
    if (codec::optional(j, "timeout_ms")) {
      c.timeout_ms = static_cast<uint32_t>(codec::get_uint(j, "timeout_ms", 600000));
    }
    if (codec::optional(j, "observers")) {
      c.observers = static_cast<uint32_t>(codec::get_uint(j, "observers", kMaxCheckObservers));
      if (c.observers == 0) return Error{"out of range: 'observers'"};
    }
    c.selector = codec::get_labels(j, "selector");
    if (codec::optional(j, "agents")) {
      const json& agents = codec::required(j, "agents");
      if (!agents.is_array()) return Error{"expected an array for 'agents'"};
      if (agents.size() > kMaxCheckAgents) return Error{"too many items in 'agents'"};
      for (const json& a : agents) {
        json wrapper{{"agent", a}};
        c.agents.push_back(codec::get_id(wrapper, "agent"));
      }
    }
    return c;
  });
}

}  // namespace mutuo
