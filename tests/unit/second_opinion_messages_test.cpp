// Second opinions on the bus (docs/health.md, "Second opinions"): the probe
// request (common/messages/probe_request.h) and probe-now
// (common/messages/probe_now.h) codecs against their schemas both ways, their
// topics, and what each decoder refuses, with a reason.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/messages/probe_now.h"
#include "common/messages/probe_request.h"
#include "tests/unit/schema_support.h"

using nlohmann::json;

namespace {

const json& schema_doc(const std::string& name) { return mutuo::test::schema_file(name).doc(); }

bool schema_valid(const std::string& name, const json& instance) {
  return mutuo::test::schema_file(name).valid(instance);
}

json example(const std::string& name, std::size_t i) {
  return schema_doc(name).at("examples").at(i);
}

struct Bad {
  const char* what;
  std::function<void(json&)> edit;
  const char* reason;
  bool schema_says = true;  // JSON Schema cannot compare two fields
};

template <class Decode>
void check_refused(const std::string& name, const std::vector<Bad>& cases, Decode decode) {
  for (const Bad& b : cases) {
    CAPTURE(b.what);
    json j = example(name, 0);
    b.edit(j);
    auto r = decode(j.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(b.reason) != std::string::npos, r.error());
    if (b.schema_says) CHECK_FALSE(schema_valid(name, j));
  }
}

}  // namespace

TEST_CASE("every probe-request and probe-now example validates, decodes and encodes back") {
  for (std::string name : {"probe_request", "probe_now"}) {
    const json& examples = schema_doc(name).at("examples");
    REQUIRE(examples.size() >= 2);
    for (const json& e : examples) {
      CAPTURE(e.dump());
      CHECK(schema_valid(name, e));
      std::string again;
      if (name == "probe_request") {
        auto r = mutuo::decode_probe_request(e.dump());
        REQUIRE_MESSAGE(r.ok(), r.error());
        again = mutuo::encode(*r);
      } else {
        auto r = mutuo::decode_probe_now(e.dump());
        REQUIRE_MESSAGE(r.ok(), r.error());
        again = mutuo::encode(*r);
      }
      CHECK(schema_valid(name, json::parse(again)));
      CHECK(json::parse(again) == e);
    }
  }
  auto r = mutuo::decode_probe_request(example("probe_request", 0).dump());
  REQUIRE(r.ok());
  CHECK(r->subject == "peer/ams-2");
  CHECK(r->want == 3);
  CHECK(r->failing == std::vector<std::string>{"fra-1"});
  CHECK(r->avoid.at("site") == std::vector<std::string>{"fra"});
  auto n = mutuo::decode_probe_now(example("probe_now", 0).dump());
  REQUIRE(n.ok());
  REQUIRE(n->peers.size() == 1);
  CHECK(n->peers[0].addr == "198.51.100.7");
  CHECK(n->peers[0].echo_port == 7777);
}

TEST_CASE("topics: probe requests by subject, probe-now by agent") {
  CHECK(mutuo::probe_request_topic("peer/ams-2") == "mutuo/v1/probe-requests/peer/ams-2");
  CHECK(mutuo::probe_request_subject_of("mutuo/v1/probe-requests/peer/ams-2") == "peer/ams-2");
  CHECK(mutuo::probe_request_subject_of("mutuo/v1/probe-requests/check/web") == "check/web");
  CHECK_FALSE(mutuo::probe_request_subject_of("mutuo/v1/probe-requests/partition/site/a/b"));
  CHECK_FALSE(mutuo::probe_request_subject_of("mutuo/v1/probe-requests/peer/A"));
  CHECK_FALSE(mutuo::probe_request_subject_of("mutuo/v1/probe-requests/peer/a/b"));
  CHECK_FALSE(mutuo::probe_request_subject_of("mutuo/v1/alerts/peer/a"));
  CHECK(mutuo::probe_now_topic("lon-1") == "mutuo/v1/probe-now/lon-1");
  CHECK(mutuo::probe_now_agent_of("mutuo/v1/probe-now/lon-1") == "lon-1");
  CHECK_FALSE(mutuo::probe_now_agent_of("mutuo/v1/probe-now/lon-1/x"));
  CHECK_FALSE(mutuo::probe_now_agent_of("mutuo/v1/probe-now/+"));
}

TEST_CASE("bad probe requests are refused with a reason, and by the schema") {
  check_refused(
      "probe_request",
      {
          {"v 2", [](json& j) { j["v"] = 2; }, "unsupported version"},
          {"partition subject", [](json& j) { j["subject"] = "partition/site/a/b"; }, "'subject'"},
          {"no subject", [](json& j) { j.erase("subject"); }, "'subject'"},
          {"want 0", [](json& j) { j["want"] = 0; }, "'want'"},
          {"want 17", [](json& j) { j["want"] = 17; }, "'want'"},
          {"reason with space", [](json& j) { j["reason"] = "a b"; }, "'reason'"},
          {"bad failing id", [](json& j) { j["failing"] = {"A"}; }, "'failing'"},
          {"failing not array", [](json& j) { j["failing"] = "fra-1"; }, "'failing'"},
          {"too many observers",
           [](json& j) { j["observers"] = std::vector<std::string>(1025, "a"); }, "'observers'"},
          {"bad avoid key",
           [](json& j) {
             j["avoid"] = {{"Site", {"fra"}}};
           },
           "'avoid'"},
          {"avoid value not array",
           [](json& j) {
             j["avoid"] = {{"site", "fra"}};
           },
           "'avoid'"},
          {"control character in avoid",
           [](json& j) {
             j["avoid"] = {{"site", {"a\n"}}};
           },
           "'avoid'"},
      },
      mutuo::decode_probe_request);
  CHECK(mutuo::decode_probe_request(std::string(200 * 1024, ' ')).error() == "payload too large");
  CHECK(mutuo::decode_probe_request(R"({"v":1,"v":1})").error() == "duplicate key");
}

TEST_CASE("bad probe-now messages are refused with a reason, and by the schema") {
  check_refused(
      "probe_now",
      {
          {"no agent", [](json& j) { j.erase("agent"); }, "'agent'"},
          {"expires before ts", [](json& j) { j["expires"] = j["ts"]; }, "'expires'", false},
          {"rounds 0", [](json& j) { j["rounds"] = 0; }, "'rounds'"},
          {"rounds 6", [](json& j) { j["rounds"] = 6; }, "'rounds'"},
          {"every_ms 50", [](json& j) { j["every_ms"] = 50; }, "'every_ms'"},
          {"host name as peer address", [](json& j) { j["peers"][0]["addr"] = "example.org"; },
           "'addr'"},
          {"17 peers", [](json& j) { j["peers"] = std::vector<json>(17, j["peers"][0]); },
           "'peers'"},
          {"no target", [](json& j) { j["peers"] = json::array(); }, "no targets", false},
          {"check of unknown type",
           [](json& j) {
             j["checks"] = {
                 {{"check", "c"}, {"type", "ftp"}, {"interval_s", 1}, {"timeout_ms", 1}}};
           },
           "'type'"},
      },
      mutuo::decode_probe_now);
}
