// schemas/*.schema.json against the C++ codecs, both ways: every example in a schema
// validates and decodes, what the encoder writes validates, and bad payloads are
// refused by the decoder with a reason and, where JSON Schema can say so, by the
// schema too. The schemas are the contract operators' tools rely on, so a drift
// between them and the codecs fails here.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/ack.h"
#include "common/messages/alert.h"
#include "common/messages/assign.h"
#include "common/messages/check.h"
#include "common/messages/peer.h"
#include "common/messages/results.h"
#include "common/messages/status.h"
#include "tests/unit/json_edits.h"
#include "tests/unit/schema_support.h"
#include "tests/unit/test_support.h"

using mutuo::test::contains;
using mutuo::test::drop;
using mutuo::test::Mutation;
using mutuo::test::SchemaFile;
using mutuo::test::schema_file;
using mutuo::test::set;
using nlohmann::json;

namespace {

const char* const kMessages[] = {"status", "peer", "assign", "results", "ack", "check", "alert"};

// What the C++ codec makes of a payload: the decoder's reason, or the message
// encoded again.
struct Decoded {
  bool ok = false;
  std::string error;
  std::string reencoded;
};

template <class Decode>
Decoded run(Decode decode, std::string_view payload) {
  auto r = decode(payload);
  if (!r.ok()) return {false, r.error(), ""};
  return {true, "", mutuo::encode(r.value())};
}

Decoded decode_as(const std::string& name, std::string_view payload) {
  if (name == "status") return run(mutuo::decode_status, payload);
  if (name == "peer") return run(mutuo::decode_peer, payload);
  if (name == "assign") return run(mutuo::decode_assign, payload);
  if (name == "results") return run(mutuo::decode_results, payload);
  if (name == "ack") return run(mutuo::decode_ack, payload);
  if (name == "check") return run(mutuo::decode_check, payload);
  if (name == "alert") return run(mutuo::decode_alert, payload);
  throw std::invalid_argument("no codec for " + name);
}

const json& example(const std::string& name, std::size_t i) {
  return schema_file(name).doc().at("examples").at(i);
}

json nested_arrays(int levels) {
  json deep = json::array();
  for (int i = 1; i < levels; ++i) deep = json::array({deep});
  return deep;
}

json repeat(std::size_t n, const json& item) { return json(std::vector<json>(n, item)); }

// Walks every "properties" map of a schema and calls `f(path, property schema)`.
void for_each_property(const json& node, const std::string& path,
                       const std::function<void(const std::string&, const json&)>& f) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "examples") continue;
      if (key == "properties" && value.is_object()) {
        for (const auto& [name, prop] : value.items()) f(path + "/" + name, prop);
      }
      for_each_property(value, path + "/" + key, f);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      for_each_property(node[i], path + "/" + std::to_string(i), f);
    }
  }
}

}  // namespace

TEST_CASE("every schema is a documented draft-07 schema with examples") {
  for (const std::string name : kMessages) {
    CAPTURE(name);
    const json& s = schema_file(name).doc();
    CHECK(s.at("$schema") == "http://json-schema.org/draft-07/schema#");
    CHECK(s.at("title").is_string());
    CHECK(contains(s.at("description").get<std::string>(), "mutuo/v1/"));
    CHECK(s.at("type") == "object");
    CHECK(s.value("additionalProperties", true) == true);  // unknown fields are ignored
    CHECK(s.at("properties").at("v").at("const") == 1);
    CHECK(s.at("required").size() >= 3);
    CHECK(s.at("examples").size() >= 2);
    CHECK(s.at("examples").size() <= 3);
    // Operators plug topics into their tools from these: every field says what it is.
    // (Inside if/then/else the fields are documented at the top level.)
    for_each_property(s, "", [&](const std::string& path, const json& prop) {
      if (contains(path, "/then/") || contains(path, "/else/") || contains(path, "/if/")) return;
      CAPTURE(path);
      CHECK(prop.contains("title"));
      CHECK(prop.contains("description"));
    });
  }
}

TEST_CASE("the examples show the cases operators meet") {
  const json& online = example("status", 0);
  CHECK(online["state"] == "online");
  bool offline_lost = false;
  for (const json& e : schema_file("status").doc()["examples"]) {
    offline_lost |= e["state"] == "offline" && e["reason"] == "lost";
  }
  CHECK(offline_lost);

  const json& results = example("results", 0)["results"];
  bool udp_peer = false, http_check = false;
  for (const json& r : results) {
    udp_peer |= r.contains("peer") && r["probe"] == "udp" && r.contains("rtt_ms");
    http_check |= r.contains("check") && r["probe"] == "http" && r.contains("ms");
  }
  CHECK(udp_peer);
  CHECK(http_check);
}

TEST_CASE("every example validates, decodes, and re-encodes to a valid message") {
  for (const std::string name : kMessages) {
    const SchemaFile& schema = schema_file(name);
    const json& examples = schema.doc().at("examples");
    for (std::size_t i = 0; i < examples.size(); ++i) {
      CAPTURE(name);
      CAPTURE(i);
      const json& e = examples[i];
      CHECK_MESSAGE(schema.valid(e), schema.errors(e));

      Decoded d = decode_as(name, e.dump());
      REQUIRE_MESSAGE(d.ok, d.error);
      json again = json::parse(d.reencoded);
      CHECK_MESSAGE(schema.valid(again), schema.errors(again));

      // Decoding is lossless for everything the encoder writes.
      Decoded twice = decode_as(name, d.reencoded);
      REQUIRE_MESSAGE(twice.ok, twice.error);
      CHECK(json::parse(twice.reencoded) == again);
      // An example holds only fields the codec knows; the encoder may add defaults.
      for (const auto& item : e.items()) {
        const std::string key = item.key();  // clang 14 cannot capture a structured binding
        const auto& value = item.value();
        CAPTURE(key);
        CHECK(again.contains(key));
        if (again.contains(key)) CHECK(again[key] == value);
      }
    }
  }
}

// A payload both sides accept: the decoder and the schema agree at the edges.
TEST_CASE("edge values that both the decoder and the schema accept") {
  struct Edge {
    const char* schema;
    std::size_t example;
    const char* what;
    Mutation mutate;
  };
  const std::string id63 = "a" + std::string(61, '-') + "z";
  json eight_phases = json::object();
  for (int i = 0; i < 8; ++i) eight_phases["p" + std::to_string(i)] = i;
  json sixteen_labels = json::object();
  for (int i = 0; i < 16; ++i) sixteen_labels["k_" + std::to_string(i)] = std::string(64, 'v');
  const Edge edges[] = {
      {"status", 0, "63-character id", set("/agent", id63)},
      {"status", 0, "port 65535", set("/echo_port", 65535)},
      {"status", 0, "port 1", set("/echo_port", 1)},
      {"status", 0, "largest ts", set("/ts", int64_t{1} << 53)},
      {"status", 0, "smallest ts", set("/ts", 1)},
      {"status", 0, "16 addresses", set("/addrs", repeat(16, "::1"))},
      {"status", 0, "longest address", set("/addrs/0", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")},
      {"status", 0, "16 labels of 64 bytes", set("/labels", sixteen_labels)},
      {"status", 0, "no labels", drop("/labels")},
      {"status", 0, "no probes", drop("/probes")},
      {"status", 0, "no version", drop("/version")},
      {"status", 0, "empty version", set("/version", "")},
      {"status", 0, "64-byte version", set("/version", std::string(64, '9'))},
      {"status", 0, "non-ASCII label", set("/labels/site", "K\xc3\xb8" "benhavn")},
      {"status", 0, "reason is ignored when online", set("/reason", 42)},
      {"status", 0, "unknown fields", set("/extra", json{{"any", {1, "x", nullptr}}})},
      {"status", 1, "no reason", drop("/reason")},
      {"status", 1, "online fields are ignored when offline", set("/addrs", "nonsense")},
      {"status", 1, "echo_port is ignored when offline", set("/echo_port", 0)},
      {"status", 1, "labels are ignored when offline", set("/labels", 7)},
      {"peer", 0, "no labels", drop("/labels")},
      {"peer", 0, "IPv4-mapped IPv6", set("/addrs/0", "::ffff:192.0.2.10")},
      {"assign", 0, "rev 0", set("/rev", 0)},
      {"assign", 0, "largest rev", set("/rev", int64_t{1} << 53)},
      {"assign", 0, "no checks", drop("/checks")},
      {"assign", 0, "interval of a day", set("/peers/0/interval_s", 86400)},
      {"assign", 0, "timeout 0", set("/checks/0/timeout_ms", 0)},
      {"assign", 0, "timeout 10 min", set("/checks/0/timeout_ms", 600000)},
      {"assign", 0, "check port 0", set("/checks/1/port", 0)},
      {"assign", 0, "check without type fields", drop("/checks/0/url")},
      {"assign", 0, "2048-byte url", set("/checks/0/url", std::string(2048, 'u'))},
      {"results", 0, "largest batch", set("/batch", int64_t{1} << 53)},
      {"results", 0, "8 phases", set("/results/1/ms", eight_phases)},
      {"results", 0, "16-byte phase name", set("/results/1/ms/" + std::string(16, 'p'), 1)},
      {"results", 0, "rtt all equal", set("/results/0/rtt_ms", {{"min", 5}, {"avg", 5}, {"max", 5}})},
      {"results", 0, "rtt an hour", set("/results/0/rtt_ms/max", 3600000)},
      {"results", 0, "100% loss", set("/results/0/recv", 0)},
      {"results", 0, "largest bytes", set("/results/1/bytes", int64_t{1} << 40)},
      {"results", 0, "status 999", set("/results/1/status", 999)},
      {"results", 0, "no sent/recv", [](json& j) {
         j["results"][0].erase("sent");
         j["results"][0].erase("recv");
       }},
      {"ack", 0, "no batches", set("/batches", json::array())},
      {"ack", 0, "batch 0", set("/batches/0", 0)},
      {"ack", 0, "10000 batches", set("/batches", repeat(10000, 7))},
      {"check", 0, "no selector, no agents", drop("/selector")},
      {"check", 0, "no observers, no timeout", [](json& j) {
         j.erase("observers");
         j.erase("timeout_ms");
       }},
      {"check", 0, "1024 observers", set("/observers", 1024)},
      {"check", 1, "4096 agents", set("/agents", repeat(4096, "fra-1"))},
      {"check", 2, "dns without server", drop("/host")},
      {"check", 0, "icmp", [](json& j) {
         j["type"] = "icmp";
         j["host"] = "192.0.2.1";
       }},
  };
  for (const Edge& e : edges) {
    INFO("schema: " << std::string(e.schema));
    INFO("what: " << std::string(e.what));
    json j = example(e.schema, e.example);
    e.mutate(j);
    Decoded d = decode_as(e.schema, j.dump());
    CHECK_MESSAGE(d.ok, d.error);
    const SchemaFile& s = schema_file(e.schema);
    CHECK_MESSAGE(s.valid(j), s.errors(j));
    if (d.ok) {
      json again = json::parse(d.reencoded);
      CHECK_MESSAGE(s.valid(again), s.errors(again));
    }
  }
}

TEST_CASE("invalid payloads: the decoder refuses with a reason, the schema where it can") {
  struct Invalid {
    const char* schema;
    std::size_t example;
    const char* what;
    Mutation mutate;
    const char* reason;   // must appear in the decoder's error
    bool schema_rejects;  // false: a rule JSON Schema cannot express (decoder only)
  };
  json seventeen_labels = json::object();
  for (int i = 0; i < 17; ++i) seventeen_labels["k" + std::to_string(i)] = "v";
  json nine_phases = json::object();
  for (int i = 0; i < 9; ++i) nine_phases["p" + std::to_string(i)] = i;
  std::string thirty_three_e_acute;  // 33 characters, 66 bytes of UTF-8
  for (int i = 0; i < 33; ++i) thirty_three_e_acute += "\xc3\xa9";

  const Invalid cases[] = {
      // Every message: version and agent.
      {"status", 0, "no v", drop("/v"), "missing field 'v'", true},
      {"status", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"status", 0, "v \"1\"", set("/v", "1"), "unsupported version", true},
      // valijson uses strong types, so 1.0 is not the integer 1; some tools differ.
      {"status", 0, "v 1.0", set("/v", 1.0), "unsupported version", true},
      {"peer", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"assign", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"results", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"ack", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"status", 0, "no agent", drop("/agent"), "missing field 'agent'", true},
      {"status", 0, "agent with '/'", set("/agent", "fra/1"), "'agent'", true},
      {"status", 0, "agent '+'", set("/agent", "+"), "'agent'", true},
      {"status", 0, "agent '#'", set("/agent", "#"), "'agent'", true},
      {"status", 0, "agent uppercase", set("/agent", "Fra-1"), "'agent'", true},
      {"status", 0, "agent empty", set("/agent", ""), "'agent'", true},
      {"status", 0, "agent leading '-'", set("/agent", "-fra"), "'agent'", true},
      {"status", 0, "agent 64 chars", set("/agent", std::string(64, 'a')), "'agent'", true},
      {"status", 0, "agent a number", set("/agent", 1), "'agent'", true},
      {"peer", 0, "agent with '/'", set("/agent", "a/b"), "'agent'", true},
      {"assign", 0, "agent uppercase", set("/agent", "A"), "'agent'", true},
      {"results", 0, "agent '+'", set("/agent", "+"), "'agent'", true},
      {"ack", 0, "agent '#'", set("/agent", "#"), "'agent'", true},

      // status
      {"status", 0, "no state", drop("/state"), "missing field 'state'", true},
      {"status", 0, "state busy", set("/state", "busy"), "'state'", true},
      {"status", 0, "no ts", drop("/ts"), "missing field 'ts'", true},
      {"status", 0, "negative ts", set("/ts", -1), "'ts'", true},
      {"status", 0, "ts 0", set("/ts", 0), "'ts'", true},
      {"status", 0, "ts 2^53 + 2", set("/ts", (int64_t{1} << 53) + 2), "'ts'", true},
      // 2^53 + 1 rounds to 2^53 as a double, where valijson (like JavaScript) compares.
      {"status", 0, "ts 2^53 + 1", set("/ts", (int64_t{1} << 53) + 1), "'ts'", false},
      {"status", 0, "ts a string", set("/ts", "1733320000123"), "'ts'", true},
      {"status", 0, "ts a fraction", set("/ts", 1733320000123.5), "'ts'", true},
      {"status", 0, "version 65 bytes", set("/version", std::string(65, 'x')), "'version'", true},
      {"status", 0, "version with NUL", set("/version", std::string("0.1\0", 4)), "'version'", true},
      {"status", 0, "version with DEL", set("/version", "0.1\x7f"), "'version'", true},
      {"status", 0, "version 33 two-byte chars", set("/version", thirty_three_e_acute), "'version'",
       false},  // maxLength counts characters, the decoder bytes
      {"status", 0, "online without addrs", drop("/addrs"), "missing field 'addrs'", true},
      {"status", 0, "online without echo_port", drop("/echo_port"), "missing field 'echo_port'", true},
      {"status", 0, "empty addrs", set("/addrs", json::array()), "'addrs'", true},
      {"status", 0, "17 addrs", set("/addrs", repeat(17, "192.0.2.1")), "'addrs'", true},
      {"status", 0, "host name in addrs", set("/addrs/0", "fra-1.example.org"), "'addrs'", true},
      {"status", 0, "zone index in addrs", set("/addrs/0", "fe80::1%eth0"), "'addrs'", true},
      {"status", 0, "addr a number", set("/addrs/0", 3232235777), "'addrs'", true},
      {"status", 0, "port 0", set("/echo_port", 0), "'echo_port'", true},
      {"status", 0, "port 70000", set("/echo_port", 70000), "'echo_port'", true},
      {"status", 0, "port -1", set("/echo_port", -1), "'echo_port'", true},
      {"status", 0, "port a string", set("/echo_port", "7777"), "'echo_port'", true},
      {"status", 0, "labels an array", set("/labels", json::array()), "'labels'", true},
      {"status", 0, "label key uppercase", set("/labels/Site", "x"), "'labels'", true},
      {"status", 0, "label key with '.'", set("/labels/a.b", "x"), "'labels'", true},
      {"status", 0, "label value empty", set("/labels/site", ""), "'labels'", true},
      {"status", 0, "label value a number", set("/labels/site", 1), "'labels'", true},
      {"status", 0, "label value with newline", set("/labels/site", "a\nb"), "'labels'", true},
      {"status", 0, "17 labels", set("/labels", seventeen_labels), "'labels'", true},
      {"status", 0, "probes a string", set("/probes", "udp"), "'probes'", true},
      {"status", 0, "17 probes", set("/probes", repeat(17, "udp")), "'probes'", true},
      {"status", 0, "probe 17 bytes", set("/probes/0", std::string(17, 'p')), "'probes'", true},
      {"status", 1, "reason crashed", set("/reason", "crashed"), "'reason'", true},
      {"status", 1, "reason a number", set("/reason", 1), "'reason'", true},
      {"status", 0, "payload over 16 KiB", set("/pad", std::string(16 * 1024, 'x')),
       "payload too large", false},
      {"status", 0, "nested 17 deep", set("/deep", nested_arrays(16)), "nesting too deep", false},

      // peer
      {"peer", 0, "no addrs", drop("/addrs"), "missing field 'addrs'", true},
      {"peer", 0, "empty addrs", set("/addrs", json::array()), "'addrs'", true},
      {"peer", 0, "octet 256", set("/addrs/0", "192.0.2.256"), "'addrs'", true},
      {"peer", 0, "no echo_port", drop("/echo_port"), "missing field 'echo_port'", true},
      {"peer", 0, "port 0", set("/echo_port", 0), "'echo_port'", true},
      {"peer", 0, "port 70000", set("/echo_port", 70000), "'echo_port'", true},
      {"peer", 0, "label key 33", set("/labels/" + std::string(33, 'k'), "v"), "'labels'", true},
      {"peer", 0, "no since", drop("/since"), "missing field 'since'", true},
      {"peer", 0, "negative since", set("/since", -5), "'since'", true},

      // assign
      {"assign", 0, "no rev", drop("/rev"), "missing field 'rev'", true},
      {"assign", 0, "negative rev", set("/rev", -1), "'rev'", true},
      {"assign", 0, "rev 2^53 + 2", set("/rev", (int64_t{1} << 53) + 2), "'rev'", true},
      {"results", 0, "batch 2^53 + 2", set("/batch", (int64_t{1} << 53) + 2), "'batch'", true},
      {"assign", 0, "no peers", drop("/peers"), "missing field 'peers'", true},
      {"assign", 0, "peers an object", set("/peers", json::object()), "'peers'", true},
      {"assign", 0, "peer a string", set("/peers/0", "ams-2"), "'peers'", true},
      {"assign", 0, "peer id '+'", set("/peers/0/agent", "+"), "'agent'", true},
      {"assign", 0, "peer host name", set("/peers/0/addr", "ams-2.example.org"), "'addr'", true},
      {"assign", 0, "peer no probes", drop("/peers/0/probes"), "missing field 'probes'", true},
      {"assign", 0, "peer port 0", set("/peers/0/echo_port", 0), "'echo_port'", true},
      {"assign", 0, "peer port 70000", set("/peers/0/echo_port", 70000), "'echo_port'", true},
      {"assign", 0, "peer interval 0", set("/peers/0/interval_s", 0), "'interval_s'", true},
      {"assign", 0, "peer interval 86401", set("/peers/0/interval_s", 86401), "'interval_s'", true},
      {"assign", 0, "checks an object", set("/checks", json::object()), "'checks'", true},
      {"assign", 0, "check id with '/'", set("/checks/0/check", "web/home"), "'check'", true},
      {"assign", 0, "check type ftp", set("/checks/0/type", "ftp"), "'type'", true},
      {"assign", 0, "check no interval", drop("/checks/0/interval_s"), "missing field 'interval_s'",
       true},
      {"assign", 0, "url 2049 bytes", set("/checks/0/url", std::string(2049, 'u')), "'url'", true},
      {"assign", 0, "host 256 bytes", set("/checks/1/host", std::string(256, 'h')), "'host'", true},
      {"assign", 0, "name with tab", set("/checks/2/name", "www\texample"), "'name'", true},
      {"assign", 0, "port 65536", set("/checks/1/port", 65536), "'port'", true},
      {"assign", 0, "timeout 600001", set("/checks/0/timeout_ms", 600001), "'timeout_ms'", true},

      // results
      {"results", 0, "no batch", drop("/batch"), "missing field 'batch'", true},
      {"results", 0, "negative batch", set("/batch", -1), "'batch'", true},
      {"results", 0, "no results", drop("/results"), "missing field 'results'", true},
      {"results", 0, "result a number", set("/results/0", 1), "'results'", true},
      {"results", 0, "both peer and check", set("/results/0/check", "web-home"),
       "need exactly one of 'peer' and 'check'", true},
      {"results", 0, "neither peer nor check", drop("/results/0/peer"),
       "need exactly one of 'peer' and 'check'", true},
      {"results", 0, "peer id uppercase", set("/results/0/peer", "AMS-2"), "'peer'", true},
      {"results", 0, "probe smtp", set("/results/0/probe", "smtp"), "'probe'", true},
      {"results", 0, "no ts", drop("/results/0/ts"), "missing field 'ts'", true},
      {"results", 0, "negative ts", set("/results/0/ts", -1), "'ts'", true},
      {"results", 0, "sent without recv", drop("/results/0/recv"), "'sent' and 'recv' go together",
       true},
      {"results", 0, "recv without sent", drop("/results/0/sent"), "'sent' and 'recv' go together",
       true},
      {"results", 0, "sent 100001", set("/results/0/sent", 100001), "'sent'", true},
      {"results", 0, "rtt without avg", drop("/results/0/rtt_ms/avg"), "missing field 'avg'", true},
      {"results", 0, "rtt negative", set("/results/0/rtt_ms/min", -1), "'min'", true},
      {"results", 0, "rtt over an hour", set("/results/0/rtt_ms/max", 3600001), "'max'", true},
      {"results", 0, "jitter a string", set("/results/0/jitter_ms", "0.4"), "'jitter_ms'", true},
      {"results", 0, "ok a number", set("/results/1/ok", 1), "'ok'", true},
      {"results", 0, "status 1000", set("/results/1/status", 1000), "'status'", true},
      {"results", 0, "phase uppercase", set("/results/1/ms/TLS", 1), "'ms'", true},
      {"results", 0, "9 phases", set("/results/1/ms", nine_phases), "'ms'", true},
      {"results", 0, "phase negative", set("/results/1/ms/total", -1), "'total'", true},
      {"results", 0, "bytes past 2^40", set("/results/1/bytes", (int64_t{1} << 40) + 1), "'bytes'",
       true},
      {"results", 0, "error 257 bytes", set("/results/1/error", std::string(257, 'e')), "'error'",
       true},
      // Rules across fields that JSON Schema cannot compare: the decoder's alone.
      {"results", 0, "recv > sent", set("/results/0/recv", 11), "'recv' exceeds 'sent'", false},
      {"results", 0, "rtt min > max", set("/results/0/rtt_ms/min", 20), "'rtt_ms' not min<=avg<=max",
       false},
      {"results", 0, "rtt avg > max", set("/results/0/rtt_ms/avg", 14.5),
       "'rtt_ms' not min<=avg<=max", false},

      // ack
      {"ack", 0, "no batches", drop("/batches"), "missing field 'batches'", true},
      {"ack", 0, "batches an object", set("/batches", json::object()), "'batches'", true},
      {"ack", 0, "negative batch", set("/batches/0", -1), "'batches'", true},
      {"ack", 0, "fractional batch", set("/batches/0", 1.5), "'batches'", true},
      {"ack", 0, "batch a string", set("/batches/0", "1233"), "'batches'", true},
      {"ack", 0, "10001 batches", set("/batches", repeat(10001, 1)), "'batches'", true},

      // check
      {"check", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"check", 0, "no check", drop("/check"), "missing field 'check'", true},
      {"check", 0, "check id with '/'", set("/check", "web/home"), "'check'", true},
      {"check", 0, "type ftp", set("/type", "ftp"), "'type'", true},
      {"check", 0, "http without url", drop("/url"), "missing field 'url'", true},
      {"check", 0, "http url ftp://", set("/url", "ftp://example.org/"), "'url'", true},
      {"check", 1, "tcp without port", drop("/port"), "'port'", true},
      {"check", 1, "tcp port 0", set("/port", 0), "'port'", true},
      {"check", 1, "tcp without host", drop("/host"), "missing field 'host'", true},
      {"check", 2, "dns without name", drop("/name"), "missing field 'name'", true},
      {"check", 0, "no interval", drop("/interval_s"), "missing field 'interval_s'", true},
      {"check", 0, "interval 0", set("/interval_s", 0), "'interval_s'", true},
      {"check", 0, "observers 0", set("/observers", 0), "'observers'", true},
      {"check", 0, "observers 1025", set("/observers", 1025), "'observers'", true},
      {"check", 0, "selector key uppercase", set("/selector/Site", "fra"), "'selector'", true},
      {"check", 1, "agents a string", set("/agents", "fra-1"), "'agents'", true},
      {"check", 1, "agent id '+'", set("/agents/0", "+"), "'agent'", true},
      {"check", 1, "4097 agents", set("/agents", repeat(4097, "fra-1")), "'agents'", true},

      // alert
      {"alert", 0, "v 2", set("/v", 2), "unsupported version", true},
      {"alert", 0, "subject host/x", set("/subject", "host/x"), "'subject'", true},
      {"alert", 0, "subject peer/#", set("/subject", "peer/#"), "'subject'", true},
      {"alert", 0, "state dead", set("/state", "dead"), "'state'", true},
      {"alert", 0, "cause gremlins", set("/cause", "gremlins"), "'cause'", true},
      {"alert", 0, "no observers", drop("/observers"), "missing field 'observers'", true},
      {"alert", 0, "verdict maybe", set("/observers/lon-1", "maybe"), "'observers'", true},
      {"alert", 0, "observer id '+'", set("/observers/+", "ok"), "'observers'", true},
      {"alert", 0, "loss 1.5", set("/evidence/fra-1/loss", 1.5), "'loss'", true},
      {"alert", 0, "failures > samples", set("/evidence/fra-1/failures", 7), "'evidence'", false},
      {"alert", 0, "partition on a peer",
       set("/partition", {{"label", "site"}, {"sides", {"a", "b"}}}), "'partition'", true},
      {"alert", 1, "partition without sides", drop("/partition"), "'partition'", true},
      {"alert", 1, "one side", set("/partition/sides", {"ams"}), "'sides'", true},
  };
  for (const Invalid& c : cases) {
    INFO("schema: " << std::string(c.schema));
    INFO("what: " << std::string(c.what));
    json j = example(c.schema, c.example);
    c.mutate(j);
    Decoded d = decode_as(c.schema, j.dump());
    CHECK_FALSE(d.ok);
    CHECK_MESSAGE(contains(d.error, c.reason), "decoder said: " << d.error);
    const SchemaFile& s = schema_file(c.schema);
    if (c.schema_rejects) {
      CHECK_FALSE(s.valid(j));
    } else {
      CHECK_MESSAGE(s.valid(j), s.errors(j));  // documents exactly where the schema stops
    }
  }
}

TEST_CASE("the address pattern accepts exactly what inet_pton accepts") {
  const char* addrs[] = {
      "192.0.2.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
      "1.2.3.04", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1..3.4", "::", "::1", "1::", "2001:db8::1",
      "2001:DB8::A", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
      "1::2::3", ":1", "1:", ":::", "12345::", "g::1", "::ffff:192.0.2.1", "::192.0.2.1",
      "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1::1.2.3.4", "::ffff:1.2.3", "fe80::1%eth0",
      "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "0000:0000:0000:0000:0000:0000:0000:0001",
      "00000::1", "[::1]", "localhost", "", "1.2.3.4/24", "::1/128",
  };
  const SchemaFile& s = schema_file("peer");
  for (const char* addr : addrs) {
    INFO("addr: " << std::string(addr));
    json j = example("peer", 0);
    j["addrs"] = json::array({addr});
    CHECK(s.valid(j) == decode_as("peer", j.dump()).ok);
  }
}

TEST_CASE("the id pattern accepts exactly what valid_id accepts") {
  const std::string ids[] = {
      "a", "0", "fra-1", "a-", "1-2-3", std::string(63, 'z'), std::string(64, 'z'), "", "-a", "A",
      "aB", "a_b", "a.b", "a b", "a/b", "+", "#", "a+", "\xc3\xa9", std::string("a\0", 2), "a\n",
  };
  const SchemaFile& s = schema_file("ack");
  for (const std::string& id : ids) {
    CAPTURE(id);
    json j = example("ack", 0);
    j["agent"] = id;
    CHECK(s.valid(j) == decode_as("ack", j.dump()).ok);
  }
}

TEST_CASE("label keys and phase names: schema and decoder agree") {
  const std::string keys[] = {"site", "a", "_", "-", "a_b-c", std::string(32, 'k'),
                              std::string(33, 'k'), "", "Site", "a.b", "a b", "\xc3\xa9"};
  for (const std::string& k : keys) {
    CAPTURE(k);
    json status = example("status", 0);
    status["labels"] = {{k, "v"}};
    CHECK(schema_file("status").valid(status) == decode_as("status", status.dump()).ok);
    json results = example("results", 0);
    results["results"][1]["ms"] = {{k, 1.5}};
    CHECK(schema_file("results").valid(results) == decode_as("results", results.dump()).ok);
  }
}
