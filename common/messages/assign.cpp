#include "common/messages/assign.h"

namespace mutuo {

using codec::json;

namespace {

json peer_json(const PeerTarget& p) {
  return json{{"agent", p.agent},
              {"addr", p.addr},
              {"echo_port", p.echo_port},
              {"probes", p.probes},
              {"interval_s", p.interval_s}};
}

json check_json(const CheckTarget& c) {
  json j{{"check", c.check},
         {"type", c.type},
         {"interval_s", c.interval_s},
         {"timeout_ms", c.timeout_ms}};
  if (!c.url.empty()) j["url"] = c.url;
  if (!c.host.empty()) j["host"] = c.host;
  if (c.port != 0) j["port"] = c.port;
  if (!c.name.empty()) j["name"] = c.name;
  write_http_expectations(j, c.expect_status, c.expect_keyword);
  return j;
}

uint16_t read_status_code(const json& obj) {
  auto code = codec::get_uint(obj, "expect_status", 599);
  if (code < 100) throw codec::DecodeError("out of range: 'expect_status'");
  return static_cast<uint16_t>(code);
}

PeerTarget read_peer(const json& j) {
  if (!j.is_object()) throw codec::DecodeError("expected objects in 'peers'");
  PeerTarget p;
  p.agent = codec::get_id(j, "agent");
  p.addr = codec::get_string(j, "addr", 64);
  if (!codec::valid_addr(p.addr)) throw codec::DecodeError("invalid address in 'addr'");
  p.echo_port = static_cast<uint16_t>(codec::get_uint(j, "echo_port", 65535));
  if (p.echo_port == 0) throw codec::DecodeError("out of range: 'echo_port'");
  p.probes = codec::get_strings(j, "probes", 16, 16);
  p.interval_s = static_cast<uint32_t>(codec::get_uint(j, "interval_s", 86400));
  if (p.interval_s == 0) throw codec::DecodeError("out of range: 'interval_s'");
  return p;
}

CheckTarget read_check(const json& j) {
  if (!j.is_object()) throw codec::DecodeError("expected objects in 'checks'");
  CheckTarget c;
  c.check = codec::get_id(j, "check");
  c.type = codec::get_string(j, "type", 8);
  if (c.type != "http" && c.type != "tcp" && c.type != "dns" && c.type != "icmp") {
    throw codec::DecodeError("invalid value for 'type'");
  }
  if (codec::optional(j, "url")) c.url = codec::get_string(j, "url", 2048);
  if (codec::optional(j, "host")) c.host = codec::get_string(j, "host", 255);
  if (codec::optional(j, "port")) c.port = static_cast<uint16_t>(codec::get_uint(j, "port", 65535));
  if (codec::optional(j, "name")) c.name = codec::get_string(j, "name", 255);
  c.interval_s = static_cast<uint32_t>(codec::get_uint(j, "interval_s", 86400));
  if (c.interval_s == 0) throw codec::DecodeError("out of range: 'interval_s'");
  c.timeout_ms = static_cast<uint32_t>(codec::get_uint(j, "timeout_ms", 600000));
  read_http_expectations(j, &c.expect_status, &c.expect_keyword);
  return c;
}

}  // namespace

void read_http_expectations(const json& j, std::vector<uint16_t>* status, std::string* keyword) {
  if (const json* s = codec::optional(j, "expect_status")) {
    if (s->is_array()) {
      if (s->size() > kMaxExpectedStatuses) {
        throw codec::DecodeError("too many items in 'expect_status'");
      }
      for (const json& code : *s) {
        status->push_back(read_status_code(json{{"expect_status", code}}));
      }
    } else {
      status->push_back(read_status_code(j));
    }
  }
  if (codec::optional(j, "expect_keyword")) {
    *keyword = codec::get_string(j, "expect_keyword", kMaxExpectedKeyword);
  }
}

void write_http_expectations(json& j, const std::vector<uint16_t>& status,
                             const std::string& keyword) {
  if (!status.empty()) j["expect_status"] = status;
  if (!keyword.empty()) j["expect_keyword"] = keyword;
}

void to_json(json& j, const Assign& a) {
  json peers = json::array();
  for (const auto& p : a.peers) peers.push_back(peer_json(p));
  json checks = json::array();
  for (const auto& c : a.checks) checks.push_back(check_json(c));
  j = json{{"v", codec::kVersion},
           {"agent", a.agent},
           {"rev", a.rev},
           {"peers", std::move(peers)},
           {"checks", std::move(checks)}};
}

std::string encode(const Assign& a) { return json(a).dump(); }

Result<Assign> decode_assign(std::string_view payload) {
  return codec::decode_payload<Assign>(payload, 2 * 1024 * 1024, [](const json& j) -> Result<Assign> {
    Assign a;
    a.agent = codec::get_id(j, "agent");
    a.rev = codec::get_uint(j, "rev", uint64_t{1} << 53);
    const json& peers = codec::required(j, "peers");
    if (!peers.is_array()) return Error{"expected an array for 'peers'"};
    if (peers.size() > kMaxAssignedPeers) return Error{"too many items in 'peers'"};
    for (const json& p : peers) a.peers.push_back(read_peer(p));
    if (const json* checks = codec::optional(j, "checks")) {
      if (!checks->is_array()) return Error{"expected an array for 'checks'"};
      if (checks->size() > kMaxAssignedChecks) return Error{"too many items in 'checks'"};
      for (const json& c : *checks) a.checks.push_back(read_check(c));
    }
    return a;
  });
}

}  // namespace mutuo
