// The message codecs (common/messages/): what each encoder writes, what each decoder
// accepts, and the reason it gives for everything it refuses. A bad message from the
// network must come back as an error value, never as a crash or an exception.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/ack.h"
#include "common/messages/assign.h"
#include "common/messages/check.h"
#include "common/messages/peer.h"
#include "common/messages/results.h"
#include "common/messages/status.h"
#include "tests/unit/json_edits.h"
#include "tests/unit/test_support.h"

using nlohmann::json;
using namespace mutuo;

namespace {

using mutuo::test::contains;
using mutuo::test::drop;
using mutuo::test::Mutation;
using mutuo::test::set;

struct Bad {
  const char* what;
  Mutation mutate;
  const char* reason;  // must appear in the decoder's error
};

// `base` decodes; each mutation of it is refused with a reason naming the field.
template <class Decode>
void check_rejections(const json& base, Decode decode, std::initializer_list<Bad> cases) {
  REQUIRE(decode(base.dump()).ok());
  for (const Bad& b : cases) {
    INFO("what: " << std::string(b.what));
    json j = base;
    b.mutate(j);
    auto r = decode(j.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(contains(r.error(), b.reason), "reason was: " << r.error());
  }
}

json strings(std::size_t n, const std::string& s) { return json(std::vector<std::string>(n, s)); }

json status_online() {
  return json::parse(R"({"v":1,"agent":"fra-1","state":"online","ts":1733320000123,
    "version":"0.1.0","addrs":["192.0.2.10","2001:db8::10"],"echo_port":7777,
    "labels":{"site":"fra","provider":"acme"},"probes":["udp","tcp","http","dns","icmp"]})");
}

json status_offline() {
  return json::parse(
      R"({"v":1,"agent":"fra-1","state":"offline","ts":1733320000123,"reason":"shutdown"})");
}

json peer_json() {
  return json::parse(R"({"v":1,"agent":"ams-2","addrs":["198.51.100.7"],"echo_port":7777,
    "labels":{"site":"ams"},"since":1733320000123})");
}

json assign_json() {
  return json::parse(R"({"v":1,"agent":"fra-1","rev":42,
    "peers":[{"agent":"ams-2","addr":"198.51.100.7","echo_port":7777,"probes":["udp"],"interval_s":10}],
    "checks":[{"check":"web-home","type":"http","url":"https://example.org/","interval_s":30,"timeout_ms":5000},
              {"check":"db-port","type":"tcp","host":"db.example.org","port":5432,"interval_s":60,"timeout_ms":3000}]})");
}

json results_json() {
  return json::parse(R"({"v":1,"agent":"fra-1","batch":1234,"results":[
    {"peer":"ams-2","probe":"udp","ts":1733320010000,"sent":10,"recv":9,
     "rtt_ms":{"min":11.2,"avg":11.9,"max":14.0},"jitter_ms":0.4},
    {"check":"web-home","probe":"http","ts":1733320010000,"ok":true,"status":200,
     "ms":{"dns":1.1,"connect":9.8,"tls":21.0,"ttfb":48.2,"total":52.9},"bytes":5120}]})");
}

json ack_json() { return json::parse(R"({"v":1,"agent":"fra-1","batches":[1233,1234]})"); }

// Pads `j` with an unknown field so that its encoding is exactly `size` bytes.
std::string padded_to(json j, std::size_t size) {
  j["pad"] = "";
  std::size_t base = j.dump().size();
  REQUIRE(base <= size);
  j["pad"] = std::string(size - base, 'x');
  std::string s = j.dump();
  REQUIRE(s.size() == size);
  return s;
}

// Replaces the value of "version" in the status fixture by `raw` (JSON text).
std::string status_with_raw_version(std::string_view raw) {
  std::string s = status_online().dump();
  const std::string from = "\"version\":\"0.1.0\"";
  s.replace(s.find(from), from.size(), "\"version\":" + std::string(raw));
  return s;
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST_CASE("status: an online status round-trips") {
  Status s;
  s.agent = "fra-1";
  s.online = true;
  s.ts_ms = 1733320000123;
  s.version = "0.1.0";
  s.addrs = {"192.0.2.10", "2001:db8::10"};
  s.echo_port = 7777;
  s.labels = {{"site", "fra"}, {"provider", "acme"}};
  s.probes = {"udp", "tcp"};

  auto d = decode_status(encode(s));
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(d->agent == s.agent);
  CHECK(d->online);
  CHECK(d->ts_ms == s.ts_ms);
  CHECK(d->version == s.version);
  CHECK(d->addrs == s.addrs);
  CHECK(d->echo_port == 7777);
  CHECK(d->labels == s.labels);
  CHECK(d->probes == s.probes);
  CHECK(d->reason.empty());
}

TEST_CASE("status: offline carries its reason, and no reason means lost") {
  Status s;
  s.agent = "fra-1";
  s.ts_ms = 1;
  s.reason = "shutdown";
  auto d = decode_status(encode(s));
  REQUIRE(d.ok());
  CHECK_FALSE(d->online);
  CHECK(d->reason == "shutdown");
  CHECK(d->addrs.empty());

  s.reason.clear();  // the encoder writes "lost"
  CHECK(json::parse(encode(s))["reason"] == "lost");
  CHECK(decode_status(encode(s))->reason == "lost");

  auto no_reason = decode_status(R"({"v":1,"agent":"fra-1","state":"offline","ts":5})");
  REQUIRE(no_reason.ok());
  CHECK(no_reason->reason == "lost");
}

TEST_CASE("status: encoder writes the documented shape") {
  Status s;
  s.agent = "fra-1";
  s.online = true;
  s.ts_ms = 1733320000123;
  s.addrs = {"192.0.2.10"};
  s.echo_port = 7777;
  json j = json::parse(encode(s));
  CHECK(j["v"] == 1);
  CHECK(j["state"] == "online");
  CHECK(j["ts"] == 1733320000123);
  CHECK(j["labels"] == json::object());
  CHECK(j["probes"] == json::array());
  CHECK_FALSE(j.contains("version"));  // left out when empty
  CHECK_FALSE(j.contains("reason"));
}

TEST_CASE("status: offline ignores the online-only fields") {
  json j = status_offline();
  j["addrs"] = "not even an array";
  j["echo_port"] = -5;
  auto d = decode_status(j.dump());
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(d->addrs.empty());
  CHECK(d->echo_port == 0);
}

TEST_CASE("peer: round-trips") {
  Peer p{"ams-2", {"198.51.100.7", "2001:db8::7"}, 7777, {{"site", "ams"}}, 1733320000123};
  auto d = decode_peer(encode(p));
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(*d == p);

  Peer bare{"x", {"::1"}, 65535, {}, 1};
  CHECK(*decode_peer(encode(bare)) == bare);
  auto no_labels = decode_peer(R"({"v":1,"agent":"x","addrs":["::1"],"echo_port":1,"since":1})");
  REQUIRE(no_labels.ok());
  CHECK(no_labels->labels.empty());
}

TEST_CASE("assign: round-trips, with every check type") {
  Assign a;
  a.agent = "fra-1";
  a.rev = 42;
  a.peers = {{"ams-2", "198.51.100.7", 7777, {"udp"}, 10},
             {"par-3", "2001:db8::3", 17777, {"udp", "icmp"}, 86400}};
  a.checks = {
      {"web-home", "http", "https://example.org/", "", 0, "", 30, 5000, {200, 204}, "Welcome"},
      {"db-port", "tcp", "", "db.example.org", 5432, "", 60, 3000, {}, ""},
      {"dns-www", "dns", "", "192.0.2.53", 0, "www.example.org", 60, 2000, {}, ""},
      {"gw", "icmp", "", "192.0.2.1", 0, "", 1, 0, {}, ""},
  };
  auto d = decode_assign(encode(a));
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(*d == a);

  json j = json::parse(encode(a));
  CHECK_FALSE(j["checks"][0].contains("port"));  // unset fields are left out
  CHECK_FALSE(j["checks"][0].contains("host"));
  CHECK(j["checks"][1]["port"] == 5432);
  CHECK(j["checks"][0]["expect_status"] == json::array({200, 204}));
  CHECK(j["checks"][0]["expect_keyword"] == "Welcome");
  CHECK_FALSE(j["checks"][1].contains("expect_status"));  // empty: any 2xx, left out
  CHECK_FALSE(j["checks"][1].contains("expect_keyword"));
}

TEST_CASE("check: http expectations reach the assignment untouched") {
  auto c = decode_check(R"({"v":1,"check":"web-home","type":"http","url":"https://example.org/",
    "interval_s":30,"expect_status":[200,301],"expect_keyword":"Welcome home"})");
  REQUIRE_MESSAGE(c.ok(), c.error());
  CHECK(c->expect_status == std::vector<uint16_t>{200, 301});
  CHECK(c->expect_keyword == "Welcome home");
  CHECK(*decode_check(encode(*c)) == *c);

  CheckTarget t = check_target(*c);
  CHECK(t.expect_status == c->expect_status);
  CHECK(t.expect_keyword == c->expect_keyword);
  Assign a;
  a.agent = "fra-1";
  a.checks = {t};
  auto back = decode_assign(encode(a));
  REQUIRE_MESSAGE(back.ok(), back.error());
  CHECK(back->checks.at(0) == t);

  // One code is shorthand for a list of one; the encoder writes the list.
  auto one = decode_check(R"({"v":1,"check":"w","type":"http","url":"http://a/","interval_s":1,
    "expect_status":503})");
  REQUIRE_MESSAGE(one.ok(), one.error());
  CHECK(one->expect_status == std::vector<uint16_t>{503});
  CHECK(json::parse(encode(*one))["expect_status"] == json::array({503}));
  // Absent: any 2xx, no keyword (checks written before these fields).
  auto plain = decode_check(R"({"v":1,"check":"w","type":"http","url":"http://a/","interval_s":1})");
  REQUIRE(plain.ok());
  CHECK(plain->expect_status.empty());
  CHECK(plain->expect_keyword.empty());
  CHECK(check_target(*plain).expect_status.empty());
}

TEST_CASE("check and assign: http expectations are checked like any field") {
  json check = json::parse(R"({"v":1,"check":"w","type":"http","url":"http://a/","interval_s":1,
    "expect_status":[200],"expect_keyword":"ok"})");
  auto decode_check_text = [](std::string_view p) { return decode_check(p); };
  check_rejections(check, decode_check_text, {
      {"status 99", set("/expect_status/0", 99), "out of range: 'expect_status'"},
      {"status 600", set("/expect_status/0", 600), "out of range: 'expect_status'"},
      {"status a string", set("/expect_status/0", "200"), "'expect_status'"},
      {"single status 0", set("/expect_status", 0), "out of range: 'expect_status'"},
      {"status an object", set("/expect_status", json::object()), "'expect_status'"},
      {"17 statuses", set("/expect_status", json(std::vector<int>(17, 200))),
       "too many items in 'expect_status'"},
      {"keyword 257 bytes", set("/expect_keyword", std::string(257, 'k')),
       "string too long for 'expect_keyword'"},
      {"keyword with NUL", set("/expect_keyword", std::string("a\0b", 3)), "'expect_keyword'"},
      {"keyword a number", set("/expect_keyword", 1), "'expect_keyword'"},
  });
  json assign = assign_json();
  assign["checks"][0]["expect_status"] = json::array({200});
  check_rejections(assign, decode_assign, {
      {"assigned status 600", set("/checks/0/expect_status/0", 600), "out of range: 'expect_status'"},
      {"assigned keyword too long", set("/checks/0/expect_keyword", std::string(257, 'k')),
       "string too long for 'expect_keyword'"},
  });
}

TEST_CASE("assign: an empty assignment round-trips; checks may be absent") {
  Assign a;
  a.agent = "lon-1";
  CHECK(*decode_assign(encode(a)) == a);
  auto d = decode_assign(R"({"v":1,"agent":"lon-1","rev":3,"peers":[]})");
  REQUIRE(d.ok());
  CHECK(d->checks.empty());
  CHECK(d->rev == 3);
}

TEST_CASE("results: a batch round-trips exactly, doubles included") {
  ResultBatch b;
  b.agent = "fra-1";
  b.batch = 1234;
  ProbeResult udp;
  udp.target = "ams-2";
  udp.probe = "udp";
  udp.ts_ms = 1733320010000;
  udp.sent = 10;
  udp.recv = 9;
  udp.rtt_ms = Rtt{11.2, 11.9, 14.0};
  udp.jitter_ms = 0.1 + 0.2;  // not representable in short decimal: must survive anyway
  ProbeResult http;
  http.kind = TargetKind::kCheck;
  http.target = "web-home";
  http.probe = "http";
  http.ts_ms = 1733320010000;
  http.ok = true;
  http.status = 200;
  http.phase_ms = {{"dns", 1.1}, {"connect", 9.8}, {"total", 52.9}};
  http.bytes = 5120;
  ProbeResult failed;
  failed.kind = TargetKind::kCheck;
  failed.target = "db-port";
  failed.probe = "tcp";
  failed.ts_ms = 1733320010000;
  failed.ok = false;
  failed.error = "timeout";
  b.results = {udp, http, failed};

  auto d = decode_results(encode(b));
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(d->agent == "fra-1");
  CHECK(d->batch == 1234);
  REQUIRE(d->results.size() == 3);
  CHECK(d->results[0] == udp);
  CHECK(d->results[1] == http);
  CHECK(d->results[2] == failed);

  json j = json::parse(encode(b));
  CHECK(j["results"][0].contains("peer"));
  CHECK_FALSE(j["results"][0].contains("check"));
  CHECK(j["results"][1]["check"] == "web-home");
  CHECK_FALSE(j["results"][1].contains("sent"));  // absent optionals stay absent
  CHECK_FALSE(j["results"][0].contains("error"));
}

TEST_CASE("results: decode_probe_result reads one stored result") {
  json one = results_json()["results"][1];
  auto r = decode_probe_result(one);
  REQUIRE(r.ok());
  CHECK(r->kind == TargetKind::kCheck);
  CHECK(r->phase_ms.at("ttfb") == 48.2);
  CHECK(decode_probe_result(json::array()).error() == "expected objects in 'results'");
  CHECK(contains(decode_probe_result(json{{"peer", "a"}}).error(), "'probe'"));
}

TEST_CASE("ack: round-trips") {
  Ack a{"fra-1", {1233, 1234, 0, uint64_t{1} << 53}};
  auto d = decode_ack(encode(a));
  REQUIRE(d.ok());
  CHECK(d->agent == "fra-1");
  CHECK(d->batches == a.batches);
  CHECK(decode_ack(encode(Ack{"x", {}}))->batches.empty());
}

// ---------------------------------------------------------------- rejections

TEST_CASE("every message: version and agent are checked first") {
  struct Message {
    const char* name;
    json base;
    std::function<std::string(const std::string&)> reason;  // "" when accepted
  };
  auto reason_of = [](auto decode) {
    return [decode](const std::string& p) -> std::string {
      auto r = decode(p);
      return r.ok() ? "" : r.error();
    };
  };
  const Message messages[] = {
      {"status", status_online(), reason_of(decode_status)},
      {"peer", peer_json(), reason_of(decode_peer)},
      {"assign", assign_json(), reason_of(decode_assign)},
      {"results", results_json(), reason_of(decode_results)},
      {"ack", ack_json(), reason_of(decode_ack)},
  };
  for (const Message& m : messages) {
    INFO("name: " << std::string(m.name));
    CHECK(m.reason(m.base.dump()).empty());
    auto with = [&](const char* key, json value) {
      json j = m.base;
      j[key] = value;
      return m.reason(j.dump());
    };
    auto without = [&](const char* key) {
      json j = m.base;
      j.erase(key);
      return m.reason(j.dump());
    };
    CHECK(without("v") == "missing field 'v'");
    CHECK(with("v", 2) == "unsupported version");
    CHECK(with("v", 0) == "unsupported version");
    CHECK(with("v", "1") == "unsupported version");
    CHECK(with("v", 1.0) == "unsupported version");
    CHECK(with("v", true) == "unsupported version");
    CHECK(with("v", json(std::numeric_limits<uint64_t>::max())) == "unsupported version");
    CHECK(without("agent") == "missing field 'agent'");
    for (const char* bad : {"", "A", "Fra-1", "-fra", "fra/1", "+", "#", "fra_1", "fr\xc3\xa9"}) {
      INFO("bad: " << std::string(bad));
      CHECK(with("agent", bad) == "invalid id in 'agent'");
    }
    CHECK(with("agent", std::string(64, 'a')) == "invalid id in 'agent'");
    CHECK(with("agent", std::string(63, 'a')).empty());
    CHECK(with("agent", 7) == "invalid id in 'agent'");
    CHECK(with("agent", nullptr) == "invalid id in 'agent'");
    CHECK(with("unknown_field", json{{"ignored", {1, 2, 3}}}).empty());
  }
}

TEST_CASE("status: refusals name the field") {
  check_rejections(status_online(), decode_status, {
      {"no state", drop("/state"), "missing field 'state'"},
      {"unknown state", set("/state", "busy"), "invalid value for 'state'"},
      {"state not a string", set("/state", 1), "expected a string for 'state'"},
      {"no ts", drop("/ts"), "missing field 'ts'"},
      {"negative ts", set("/ts", -1), "out of range: 'ts'"},
      {"zero ts", set("/ts", 0), "out of range: 'ts'"},
      {"ts past 2^53", set("/ts", (int64_t{1} << 53) + 1), "out of range: 'ts'"},
      {"ts as string", set("/ts", "1733320000123"), "expected an integer for 'ts'"},
      {"ts as float", set("/ts", 1733320000123.5), "expected an integer for 'ts'"},
      {"version too long", set("/version", std::string(65, 'x')), "string too long for 'version'"},
      {"version not a string", set("/version", 1), "expected a string for 'version'"},
      {"version with newline", set("/version", "0.1\n"), "control characters in 'version'"},
      {"no addrs", drop("/addrs"), "missing field 'addrs'"},
      {"empty addrs", set("/addrs", json::array()), "no addresses in 'addrs'"},
      {"addrs not an array", set("/addrs", "192.0.2.10"), "expected an array for 'addrs'"},
      {"17 addrs", set("/addrs", strings(17, "192.0.2.10")), "too many items in 'addrs'"},
      {"addr not a string", set("/addrs/0", 3232235777), "expected strings in 'addrs'"},
      {"host name", set("/addrs/0", "fra-1.example.org"), "invalid address in 'addrs'"},
      {"zone index", set("/addrs/0", "fe80::1%eth0"), "invalid address in 'addrs'"},
      {"leading zero", set("/addrs/0", "192.0.2.010"), "invalid address in 'addrs'"},
      {"short ipv4", set("/addrs/0", "192.0.2"), "invalid address in 'addrs'"},
      {"no echo_port", drop("/echo_port"), "missing field 'echo_port'"},
      {"port 0", set("/echo_port", 0), "out of range: 'echo_port'"},
      {"port 70000", set("/echo_port", 70000), "out of range: 'echo_port'"},
      {"port 2^32+7777", set("/echo_port", (int64_t{1} << 32) + 7777), "out of range: 'echo_port'"},
      {"negative port", set("/echo_port", -1), "out of range: 'echo_port'"},
      {"labels array", set("/labels", json::array()), "expected an object for 'labels'"},
      {"label key upper", set("/labels/Site", "x"), "invalid label key in 'labels'"},
      {"label key 33", set("/labels/" + std::string(33, 'k'), "x"), "invalid label key in 'labels'"},
      {"label value number", set("/labels/site", 1), "expected string label values in 'labels'"},
      {"label value empty", set("/labels/site", ""), "invalid label value in 'labels'"},
      {"label value 65", set("/labels/site", std::string(65, 'v')), "invalid label value in 'labels'"},
      {"label value tab", set("/labels/site", "a\tb"), "invalid label value in 'labels'"},
      {"probes string", set("/probes", "udp"), "expected an array for 'probes'"},
      {"17 probes", set("/probes", strings(17, "udp")), "too many items in 'probes'"},
      {"probe 17 bytes", set("/probes/0", std::string(17, 'p')), "invalid string in 'probes'"},
  });
  json many_labels = status_online();
  for (int i = 0; i < 17; ++i) many_labels["labels"]["k" + std::to_string(i)] = "v";
  CHECK(decode_status(many_labels.dump()).error() == "too many items in 'labels'");

  check_rejections(status_offline(), decode_status, {
      {"unknown reason", set("/reason", "crashed"), "invalid value for 'reason'"},
      {"reason not a string", set("/reason", 1), "expected a string for 'reason'"},
  });
}

TEST_CASE("peer: refusals name the field") {
  check_rejections(peer_json(), decode_peer, {
      {"no addrs", drop("/addrs"), "missing field 'addrs'"},
      {"empty addrs", set("/addrs", json::array()), "no addresses in 'addrs'"},
      {"bad addr", set("/addrs/0", "198.51.100.256"), "invalid address in 'addrs'"},
      {"no echo_port", drop("/echo_port"), "missing field 'echo_port'"},
      {"port 0", set("/echo_port", 0), "out of range: 'echo_port'"},
      {"port 70000", set("/echo_port", 70000), "out of range: 'echo_port'"},
      {"label key with slash", set("/labels/a~1b", "x"), "invalid label key in 'labels'"},
      {"no since", drop("/since"), "missing field 'since'"},
      {"negative since", set("/since", -1733320000123), "out of range: 'since'"},
      {"since as float", set("/since", 1.7e12), "expected an integer for 'since'"},
  });
}

TEST_CASE("assign: refusals name the field") {
  check_rejections(assign_json(), decode_assign, {
      {"no rev", drop("/rev"), "missing field 'rev'"},
      {"negative rev", set("/rev", -1), "out of range: 'rev'"},
      {"rev past 2^53", set("/rev", (int64_t{1} << 53) + 1), "out of range: 'rev'"},
      {"no peers", drop("/peers"), "missing field 'peers'"},
      {"peers object", set("/peers", json::object()), "expected an array for 'peers'"},
      {"peer not an object", set("/peers/0", "ams-2"), "expected objects in 'peers'"},
      {"peer bad id", set("/peers/0/agent", "AMS-2"), "invalid id in 'agent'"},
      {"peer no addr", drop("/peers/0/addr"), "missing field 'addr'"},
      {"peer host name", set("/peers/0/addr", "ams-2.example.org"), "invalid address in 'addr'"},
      {"peer addr 65 bytes", set("/peers/0/addr", std::string(65, '1')), "string too long for 'addr'"},
      {"peer port 0", set("/peers/0/echo_port", 0), "out of range: 'echo_port'"},
      {"peer port 70000", set("/peers/0/echo_port", 70000), "out of range: 'echo_port'"},
      {"peer no probes", drop("/peers/0/probes"), "missing field 'probes'"},
      {"peer interval 0", set("/peers/0/interval_s", 0), "out of range: 'interval_s'"},
      {"peer interval > 1 day", set("/peers/0/interval_s", 86401), "out of range: 'interval_s'"},
      {"peer no interval", drop("/peers/0/interval_s"), "missing field 'interval_s'"},
      {"checks object", set("/checks", json::object()), "expected an array for 'checks'"},
      {"check not an object", set("/checks/0", 1), "expected objects in 'checks'"},
      {"check bad id", set("/checks/0/check", "web/home"), "invalid id in 'check'"},
      {"check no type", drop("/checks/0/type"), "missing field 'type'"},
      {"check type ftp", set("/checks/0/type", "ftp"), "invalid value for 'type'"},
      {"check type HTTP", set("/checks/0/type", "HTTP"), "invalid value for 'type'"},
      {"url too long", set("/checks/0/url", std::string(2049, 'u')), "string too long for 'url'"},
      {"url with NUL", set("/checks/0/url", std::string("https://a/\0", 11)), "control characters in 'url'"},
      {"host too long", set("/checks/1/host", std::string(256, 'h')), "string too long for 'host'"},
      {"port 65536", set("/checks/1/port", 65536), "out of range: 'port'"},
      {"name not a string", set("/checks/0/name", json::array()), "expected a string for 'name'"},
      {"check interval 0", set("/checks/0/interval_s", 0), "out of range: 'interval_s'"},
      {"check no timeout", drop("/checks/0/timeout_ms"), "missing field 'timeout_ms'"},
      {"timeout > 10 min", set("/checks/0/timeout_ms", 600001), "out of range: 'timeout_ms'"},
  });
  json many = assign_json();
  many["peers"] = json::array();
  for (std::size_t i = 0; i <= kMaxAssignedPeers; ++i) many["peers"].push_back(assign_json()["peers"][0]);
  CHECK(decode_assign(many.dump()).error() == "too many items in 'peers'");
  many["peers"].erase(many["peers"].size() - 1);
  CHECK(decode_assign(many.dump()).ok());
}

TEST_CASE("results: refusals name the field") {
  check_rejections(results_json(), decode_results, {
      {"no batch", drop("/batch"), "missing field 'batch'"},
      {"negative batch", set("/batch", -1), "out of range: 'batch'"},
      {"batch past 2^53", set("/batch", (int64_t{1} << 53) + 1), "out of range: 'batch'"},
      {"no results", drop("/results"), "missing field 'results'"},
      {"results object", set("/results", json::object()), "expected an array for 'results'"},
      {"result not an object", set("/results/0", 1), "expected objects in 'results'"},
      {"both peer and check", set("/results/0/check", "web-home"), "need exactly one of 'peer' and 'check'"},
      {"neither peer nor check", drop("/results/0/peer"), "need exactly one of 'peer' and 'check'"},
      {"bad peer id", set("/results/0/peer", "ams+2"), "invalid id in 'peer'"},
      {"bad check id", set("/results/1/check", "#"), "invalid id in 'check'"},
      {"no probe", drop("/results/0/probe"), "missing field 'probe'"},
      {"unknown probe", set("/results/0/probe", "smtp"), "invalid value for 'probe'"},
      {"no ts", drop("/results/0/ts"), "missing field 'ts'"},
      {"negative ts", set("/results/0/ts", -1), "out of range: 'ts'"},
      {"sent without recv", drop("/results/0/recv"), "'sent' and 'recv' go together"},
      {"recv without sent", drop("/results/0/sent"), "'sent' and 'recv' go together"},
      {"recv > sent", set("/results/0/recv", 11), "'recv' exceeds 'sent'"},
      {"sent > 100000", set("/results/0/sent", 100001), "out of range: 'sent'"},
      {"sent 2^32", set("/results/0/sent", int64_t{1} << 32), "out of range: 'sent'"},
      {"negative recv", set("/results/0/recv", -1), "out of range: 'recv'"},
      {"rtt not an object", set("/results/0/rtt_ms", json::array({1, 2, 3})), "expected an object for 'rtt_ms'"},
      {"rtt no avg", drop("/results/0/rtt_ms/avg"), "missing field 'avg'"},
      {"rtt min > max", set("/results/0/rtt_ms/min", 20.0), "'rtt_ms' not min<=avg<=max"},
      {"rtt avg > max", set("/results/0/rtt_ms/avg", 15.0), "'rtt_ms' not min<=avg<=max"},
      {"rtt negative", set("/results/0/rtt_ms/min", -0.1), "out of range: 'min'"},
      {"rtt over an hour", set("/results/0/rtt_ms/max", 3600000.5), "out of range: 'max'"},
      {"rtt as string", set("/results/0/rtt_ms/max", "14"), "expected a number for 'max'"},
      {"jitter negative", set("/results/0/jitter_ms", -1), "out of range: 'jitter_ms'"},
      {"jitter null", set("/results/0/jitter_ms", nullptr), "expected a number for 'jitter_ms'"},
      {"ok as string", set("/results/1/ok", "true"), "expected a boolean for 'ok'"},
      {"ok as 1", set("/results/1/ok", 1), "expected a boolean for 'ok'"},
      {"status 1000", set("/results/1/status", 1000), "out of range: 'status'"},
      {"status negative", set("/results/1/status", -1), "out of range: 'status'"},
      {"ms not an object", set("/results/1/ms", 52.9), "expected an object for 'ms'"},
      {"ms key upper", set("/results/1/ms/TLS", 1), "invalid key in 'ms'"},
      {"ms key 17", set("/results/1/ms/" + std::string(17, 'k'), 1), "invalid key in 'ms'"},
      {"ms key empty", set("/results/1/ms/", 1), "invalid key in 'ms'"},
      {"ms negative", set("/results/1/ms/total", -1), "out of range: 'total'"},
      {"ms not a number", set("/results/1/ms/total", "52.9"), "expected a number for 'total'"},
      {"bytes past 2^40", set("/results/1/bytes", (int64_t{1} << 40) + 1), "out of range: 'bytes'"},
      {"bytes negative", set("/results/1/bytes", -1), "out of range: 'bytes'"},
      {"error too long", set("/results/1/error", std::string(257, 'e')), "string too long for 'error'"},
      {"error with ESC", set("/results/1/error", "\x1b[31m"), "control characters in 'error'"},
  });
  json nine = results_json();
  for (int i = 0; i < 4; ++i) nine["results"][1]["ms"]["p" + std::to_string(i)] = 1;
  CHECK(decode_results(nine.dump()).error() == "too many items in 'ms'");
  json many = results_json();
  many["results"] = json::array();
  for (std::size_t i = 0; i <= kMaxResultsPerBatch; ++i) many["results"].push_back(results_json()["results"][0]);
  CHECK(decode_results(many.dump()).error() == "too many items in 'results'");
}

TEST_CASE("results: dns answers and https certificate days round-trip; old agents omit them") {
  ResultBatch b;
  b.agent = "fra-1";
  ProbeResult dns;
  dns.kind = TargetKind::kCheck;
  dns.target = "dns-www";
  dns.probe = "dns";
  dns.ts_ms = 1733320010000;
  dns.ok = true;
  dns.status = 0;
  dns.answers = 3;
  ProbeResult https;
  https.kind = TargetKind::kCheck;
  https.target = "web-home";
  https.probe = "http";
  https.ts_ms = 1733320010000;
  https.ok = false;
  https.status = 200;
  https.cert_days_left = -0.25;  // expired six hours ago
  https.error = "certificate expired";
  ProbeResult nodata = dns;
  nodata.answers = 0;  // zero is a value, not an absence
  nodata.ok = false;
  b.results = {dns, https, nodata};
  auto d = decode_results(encode(b));
  REQUIRE_MESSAGE(d.ok(), d.error());
  REQUIRE(d->results.size() == 3);
  CHECK(d->results[0] == dns);
  CHECK(d->results[1] == https);
  CHECK(d->results[2] == nodata);
  json j = json::parse(encode(b));
  CHECK(j["results"][0]["answers"] == 3);
  CHECK(j["results"][2]["answers"] == 0);
  CHECK(j["results"][1]["cert_days_left"] == -0.25);
  CHECK_FALSE(j["results"][0].contains("cert_days_left"));
  CHECK_FALSE(j["results"][1].contains("answers"));

  auto old = decode_results(results_json().dump());  // an agent from before these fields
  REQUIRE(old.ok());
  CHECK_FALSE(old->results[1].answers.has_value());
  CHECK_FALSE(old->results[1].cert_days_left.has_value());
}

TEST_CASE("results: answers and cert_days_left are range-checked") {
  check_rejections(results_json(), decode_results, {
      {"answers negative", set("/results/1/answers", -1), "out of range: 'answers'"},
      {"answers 65536", set("/results/1/answers", 65536), "out of range: 'answers'"},
      {"answers a string", set("/results/1/answers", "1"), "'answers'"},
      {"answers a fraction", set("/results/1/answers", 1.5), "'answers'"},
      {"cert days past year 9999", set("/results/1/cert_days_left", 3000000.5),
       "out of range: 'cert_days_left'"},
      {"cert days far negative", set("/results/1/cert_days_left", -3000001),
       "out of range: 'cert_days_left'"},
      {"cert days a string", set("/results/1/cert_days_left", "30"),
       "expected a number for 'cert_days_left'"},
  });
  json edge = results_json();
  edge["results"][1]["answers"] = 65535;
  edge["results"][1]["cert_days_left"] = -3000000;
  CHECK(decode_results(edge.dump()).ok());
}

TEST_CASE("ack: refusals name the field") {
  check_rejections(ack_json(), decode_ack, {
      {"no batches", drop("/batches"), "missing field 'batches'"},
      {"batches object", set("/batches", json::object()), "invalid 'batches'"},
      {"negative batch", set("/batches/0", -1), "expected unsigned integers in 'batches'"},
      {"float batch", set("/batches/0", 1.5), "expected unsigned integers in 'batches'"},
      {"string batch", set("/batches/0", "1233"), "expected unsigned integers in 'batches'"},
  });
  json many = ack_json();
  many["batches"] = json::array();
  for (uint64_t i = 0; i <= 10000; ++i) many["batches"].push_back(i);
  CHECK(decode_ack(many.dump()).error() == "invalid 'batches'");
}

// ---------------------------------------------------------------- hostile payloads

TEST_CASE("oversize payloads are refused before parsing, at each message's limit") {
  struct Limit {
    const char* name;
    json base;
    std::size_t max;
    std::function<std::string(const std::string&)> reason;
  };
  auto reason_of = [](auto decode) {
    return [decode](const std::string& p) -> std::string {
      auto r = decode(p);
      return r.ok() ? "" : r.error();
    };
  };
  const Limit limits[] = {
      {"status", status_online(), 16 * 1024, reason_of(decode_status)},
      {"peer", peer_json(), 16 * 1024, reason_of(decode_peer)},
      {"assign", assign_json(), 2 * 1024 * 1024, reason_of(decode_assign)},
      {"results", results_json(), kMaxResultsPayload, reason_of(decode_results)},
      {"ack", ack_json(), 256 * 1024, reason_of(decode_ack)},
  };
  for (const Limit& l : limits) {
    INFO("name: " << std::string(l.name));
    CHECK(l.reason(padded_to(l.base, l.max)).empty());
    CHECK(l.reason(padded_to(l.base, l.max + 1)) == "payload too large");
    CHECK(l.reason(std::string(l.max + 1, '{')) == "payload too large");
  }
}

TEST_CASE("a nesting bomb is refused quickly, without recursion") {
  auto start = std::chrono::steady_clock::now();
  CHECK(decode_status(std::string(10000, '[')).error() == "nesting too deep");
  CHECK(decode_assign(std::string(2 * 1024 * 1024, '[')).error() == "nesting too deep");
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  CHECK(decode_results(objects).error() == "nesting too deep");
  std::string balanced = std::string(5000, '[') + std::string(5000, ']');
  CHECK(decode_ack(balanced).error() == "nesting too deep");
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < std::chrono::seconds(1));
}

TEST_CASE("nesting: 16 levels are fine, 17 are not; brackets in strings do not count") {
  auto nested = [](int extra_levels) {
    json j = status_online();
    json deep = json::array();
    for (int i = 1; i < extra_levels; ++i) deep = json::array({deep});
    j["deep"] = deep;
    return j.dump();
  };
  CHECK(decode_status(nested(15)).ok());  // 1 (the message) + 15
  CHECK(decode_status(nested(16)).error() == "nesting too deep");

  json j = status_online();
  j["note"] = std::string(1000, '[') + "\"{{{" + std::string(1000, '{');
  CHECK(decode_status(j.dump()).ok());
  j["version"] = "[[[\\\"[[[";  // escaped quote and backslash inside a string
  auto d = decode_status(j.dump());
  REQUIRE(d.ok());
  CHECK(d->version == "[[[\\\"[[[");

  // Stray closers do not lower the count below zero.
  CHECK(decode_status("]]]]]]]]]]]]]]]]]]]]" + std::string(17, '[')).error() == "nesting too deep");
}

TEST_CASE("invalid JSON is refused: NaN, Infinity, comments, trailing data, empty") {
  const std::string base = results_json().dump();
  auto with_jitter = [&](const std::string& literal) {
    std::string s = base;
    const std::string from = "\"jitter_ms\":0.4";
    s.replace(s.find(from), from.size(), "\"jitter_ms\":" + literal);
    return decode_results(s);
  };
  CHECK(with_jitter("0.5").ok());
  for (const char* literal : {"NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "-1e400",
                              "0x10", "+1", ".5", "01", "1.", "undefined"}) {
    INFO("literal: " << std::string(literal));
    CHECK(with_jitter(literal).error() == "malformed JSON");
  }
  CHECK(decode_status("").error() == "malformed JSON");  // e.g. a peer that left
  CHECK(decode_peer("").error() == "malformed JSON");
  CHECK(decode_peer(" \n\t").error() == "malformed JSON");
  CHECK(decode_ack(ack_json().dump() + " x").error() == "malformed JSON");
  CHECK(decode_ack(ack_json().dump() + ack_json().dump()).error() == "malformed JSON");
  CHECK(decode_ack(R"({"v":1,"agent":"a","batches":[1,]})").error() == "malformed JSON");
  CHECK(decode_ack(R"({"v":1,/* c */"agent":"a","batches":[]})").error() == "malformed JSON");
  CHECK(decode_ack(R"({'v':1,'agent':'a','batches':[]})").error() == "malformed JSON");
  CHECK(decode_ack(R"({"v":1,"agent":"a","batches":[1])").error() == "malformed JSON");
  CHECK(decode_ack(ack_json().dump() + " \n").ok());  // trailing whitespace is fine
}

TEST_CASE("a payload that is JSON but not an object is refused") {
  for (const char* p : {"[]", "[1,2]", "1", "-0.5", "\"status\"", "null", "true", "false"}) {
    INFO("p: " << std::string(p));
    CHECK(decode_status(p).error() == "not a JSON object");
    CHECK(decode_results(p).error() == "not a JSON object");
  }
  CHECK(decode_ack("{}").error() == "missing field 'v'");
}

TEST_CASE("huge numbers are refused by range, never truncated") {
  auto ts = [](const std::string& literal) {
    return decode_status(R"({"v":1,"agent":"a","state":"offline","ts":)" + literal + "}");
  };
  CHECK(ts("9007199254740992")->ts_ms == int64_t{1} << 53);  // the largest timestamp
  CHECK(ts("9007199254740993").error() == "out of range: 'ts'");
  CHECK(ts("18446744073709551615").error() == "out of range: 'ts'");  // uint64 max
  CHECK(ts("18446744073709551616").error() == "expected an integer for 'ts'");  // parsed as double
  CHECK(ts("-9223372036854775808").error() == "out of range: 'ts'");
  CHECK(ts("-9223372036854775809").error() == "expected an integer for 'ts'");
  CHECK(ts("1e15").error() == "expected an integer for 'ts'");
  CHECK(ts("1733320000123.0").error() == "expected an integer for 'ts'");
  CHECK(ts(std::string(30, '9')).error() == "expected an integer for 'ts'");
  CHECK(ts(std::string(400, '9')).error() == "malformed JSON");  // overflows a double

  json ack = ack_json();
  ack["batches"] = json::array({std::numeric_limits<uint64_t>::max()});
  CHECK(decode_ack(ack.dump())->batches[0] == std::numeric_limits<uint64_t>::max());
  std::string over = R"({"v":1,"agent":"a","batches":[18446744073709551616]})";
  CHECK(decode_ack(over).error() == "expected unsigned integers in 'batches'");

  json r = results_json();
  r["results"][0]["rtt_ms"] = {{"min", 0}, {"avg", 1e-300}, {"max", 3600000}};
  CHECK(decode_results(r.dump()).ok());  // integers and tiny doubles are numbers too
  r["results"][1]["bytes"] = int64_t{1} << 40;
  CHECK(decode_results(r.dump()).ok());
}

TEST_CASE("duplicate keys: refused whole, at any depth, whatever the values (codec.h)") {
  const std::string dup = "duplicate key";
  CHECK(decode_status(R"({"v":1,"agent":"BAD/ID","agent":"fra-1","state":"offline","ts":1})")
            .error() == dup);
  CHECK(decode_status(R"({"v":1,"agent":"fra-1","agent":"fra-1","state":"offline","ts":1})")
            .error() == dup);  // the same value twice too
  CHECK(decode_status(R"({"v":1,"v":2,"agent":"a","state":"offline","ts":1})").error() == dup);
  CHECK(decode_status(R"({"v":1,"agent":"a","state":"offline","ts":1,"x":1,"x":[1]})").error() ==
        dup);  // a member no decoder reads
  CHECK(decode_status(R"({"v":1,"agent":"a","\u0061gent":"a","state":"offline","ts":1})")
            .error() == dup);  // the same key, escaped
  CHECK(decode_status(R"({"v":1,"agent":"a","state":"offline","ts":1,"agent ":"a"})").ok());

  std::string s = status_online().dump();
  s.replace(s.find("\"provider\""), 10, "\"site\"");  // labels {"site":"fra","site":"acme"}
  CHECK(decode_status(s).error() == dup);
  std::string r = results_json().dump();
  std::string one = r;
  one.replace(one.find("\"min\":11.2"), 10, "\"min\":11.2,\"min\":11.2");
  CHECK(decode_results(one).error() == dup);  // inside an object inside an array
  std::string two = r;
  two.replace(two.find("\"bytes\":5120"), 12, "\"bytes\":5120,\"bytes\":5120");
  CHECK(decode_results(two).error() == dup);  // in the second result
  CHECK(decode_ack(R"({"v":1,"agent":"a","batches":[1],"batches":[2]})").error() == dup);
  // Order of verdicts: not JSON, not an object, then duplicates, then fields.
  CHECK(decode_ack(R"({"v":1,"v":1,)").error() == "malformed JSON");
  CHECK(decode_ack(R"([{"v":1,"v":1}])").error() == "not a JSON object");
  // ':' inside strings is not a member.
  CHECK(decode_status(status_with_raw_version(R"("a:b\":{\"c\":1}")")).ok());
}

TEST_CASE("strings: UTF-8 passes, control characters and broken encodings do not") {
  auto version = [](std::string_view raw) { return decode_status(status_with_raw_version(raw)); };
  CHECK(version(R"("caf\u00e9")")->version == "caf\xc3\xa9");
  CHECK(version("\"caf\xc3\xa9\"")->version == "caf\xc3\xa9");
  CHECK(version(R"("\ud83d\ude00")")->version == "\xf0\x9f\x98\x80");  // surrogate pair
  CHECK(version(R"("\u0080")").ok());  // C1 code points are not refused
  CHECK(version(R"("a\"b\\c\/d")")->version == "a\"b\\c/d");

  CHECK(version(R"("\u0000")").error() == "control characters in 'version'");
  CHECK(version(R"("a\u001fb")").error() == "control characters in 'version'");
  CHECK(version(R"("\u007f")").error() == "control characters in 'version'");
  CHECK(version(R"("\n")").error() == "control characters in 'version'");
  CHECK(version("\"a\tb\"").error() == "malformed JSON");  // raw control characters
  CHECK(version("\"\xff\"").error() == "malformed JSON");  // not UTF-8
  CHECK(version("\"\xc3\"").error() == "malformed JSON");  // truncated sequence
  CHECK(version("\"\xc0\xaf\"").error() == "malformed JSON");  // overlong '/'
  CHECK(version(R"("\ud800")").error() == "malformed JSON");  // lone surrogate
  CHECK(version(R"("\x41")").error() == "malformed JSON");

  // Limits count UTF-8 bytes: 32 two-byte characters fit in 64, 33 do not.
  std::string e32, e33;
  for (int i = 0; i < 32; ++i) e32 += "\xc3\xa9";
  e33 = e32 + "\xc3\xa9";
  CHECK(version("\"" + e32 + "\"").ok());
  CHECK(version("\"" + e33 + "\"").error() == "string too long for 'version'");

  json j = status_online();
  j["agent"] = "fr\xc3\xa9";
  CHECK(decode_status(j.dump()).error() == "invalid id in 'agent'");
  j = status_online();
  j["labels"]["city"] = "K\xc3\xb8" "benhavn";
  CHECK(decode_status(j.dump())->labels.at("city") == "K\xc3\xb8" "benhavn");
}

TEST_CASE("no prefix of a valid message crashes or throws a decoder") {
  const std::string payloads[] = {status_online().dump(), peer_json().dump(), assign_json().dump(),
                                  results_json().dump(), ack_json().dump()};
  for (const std::string& p : payloads) {
    for (std::size_t n = 0; n < p.size(); ++n) {
      std::string_view prefix(p.data(), n);
      CHECK_NOTHROW(decode_status(prefix));
      CHECK_NOTHROW(decode_peer(prefix));
      CHECK_NOTHROW(decode_assign(prefix));
      CHECK_NOTHROW(decode_results(prefix));
      CHECK_NOTHROW(decode_ack(prefix));
      CHECK_FALSE(decode_results(prefix).ok());
    }
  }
}

// ---------------------------------------------------------------- loss

TEST_CASE("loss() is the fraction of packets without a reply") {
  ProbeResult r;
  CHECK_FALSE(r.loss().has_value());  // no counts: a service check
  r.sent = 10;
  r.recv = 10;
  CHECK(*r.loss() == 0.0);
  r.recv = 7;
  CHECK(*r.loss() == doctest::Approx(0.3));
  r.recv = 0;
  CHECK(*r.loss() == 1.0);
  r.sent = 0;
  CHECK_FALSE(r.loss().has_value());  // nothing sent: loss is unknown, not 0 or NaN
  r.sent = 3;
  r.recv.reset();
  CHECK_FALSE(r.loss().has_value());

  auto d = decode_results(results_json().dump());
  REQUIRE(d.ok());
  CHECK(*d->results[0].loss() == doctest::Approx(0.1));
  CHECK_FALSE(d->results[1].loss().has_value());
}
