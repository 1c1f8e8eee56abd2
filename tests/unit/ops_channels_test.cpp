// Notification channels on the bus (common/messages/channel.h,
// schemas/channel.schema.json) and how the receiver applies them
// (receiver/health/notifier.h, BusChannels): the codec against its schema both
// ways, what it refuses, and channels added, changed, disabled and removed by
// retained messages while notices flow, against a scripted endpoint.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/messages/channel.h"
#include "receiver/health/notifier.h"
#include "tests/unit/schema_support.h"

using nlohmann::json;
using mutuo::health::BusChannels;
using mutuo::health::Notice;
using mutuo::health::NoticeKind;

namespace {

const mutuo::test::SchemaFile& schema() { return mutuo::test::schema_file("channel"); }

bool schema_valid(const json& instance) { return schema().valid(instance); }

Notice down_notice(const std::string& agent) {
  Notice n;
  n.kind = NoticeKind::kAlert;
  n.alert.subject = "peer/" + agent;
  n.alert.state = mutuo::HealthState::kDown;
  n.alert.since_ms = 1000;
  n.alert.ts_ms = 2000;
  return n;
}

mutuo::MqttMessage channel_message(const std::string& id, const std::string& url,
                                   bool enabled = true) {
  mutuo::NotificationChannel c;
  c.id = id;
  c.url = url;
  c.enabled = enabled;
  return {mutuo::channel_topic(id), mutuo::encode(c), 1, true};
}

}  // namespace

TEST_CASE("every channel schema example validates, decodes, and encodes back to itself") {
  const json& examples = schema().doc().at("examples");
  REQUIRE(examples.size() >= 2);
  for (const json& e : examples) {
    CAPTURE(e.dump());
    CHECK(schema_valid(e));
    auto c = mutuo::decode_channel(e.dump());
    REQUIRE(c.ok());
    json again = json::parse(mutuo::encode(*c));
    CHECK(schema_valid(again));
    CHECK(again == e);
  }
  auto minimal = mutuo::decode_channel(
      R"({"v":1,"channel":"a","kind":"webhook","url":"http://127.0.0.1:1/x"})");
  REQUIRE(minimal.ok());
  CHECK(minimal->rate_per_min == 30);
  CHECK(minimal->burst == 10);
  CHECK(minimal->enabled);
  CHECK(schema_valid(json::parse(mutuo::encode(*minimal))));
}

TEST_CASE("bad channels are refused by the codec with a reason, and by the schema") {
  struct Bad {
    const char* what;
    std::function<void(json&)> edit;
    const char* reason;
  };
  const std::vector<Bad> cases = {
      {"v 2", [](json& j) { j["v"] = 2; }, "unsupported version"},
      {"no id", [](json& j) { j.erase("channel"); }, "'channel'"},
      {"id with /", [](json& j) { j["channel"] = "a/b"; }, "'channel'"},
      {"kind sms", [](json& j) { j["kind"] = "sms"; }, "'kind'"},
      {"no url", [](json& j) { j.erase("url"); }, "'url'"},
      {"ftp url", [](json& j) { j["url"] = "ftp://h/x"; }, "'url'"},
      {"no host", [](json& j) { j["url"] = "http:///x"; }, "'url'"},
      {"space in url", [](json& j) { j["url"] = "http://h/a b"; }, "'url'"},
      {"rate 0", [](json& j) { j["rate_per_min"] = 0; }, "'rate_per_min'"},
      {"burst 0.5", [](json& j) { j["burst"] = 0.5; }, "'burst'"},
      {"enabled string", [](json& j) { j["enabled"] = "yes"; }, "'enabled'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    json j = schema().doc().at("examples").at(0);
    c.edit(j);
    auto decoded = mutuo::decode_channel(j.dump());
    REQUIRE_FALSE(decoded.ok());
    CHECK_MESSAGE(decoded.error().find(c.reason) != std::string::npos, decoded.error());
    CHECK_FALSE(schema_valid(j));
  }
  CHECK_FALSE(mutuo::decode_channel(std::string(20000, ' ')).ok());
  CHECK(mutuo::channel_id_of("mutuo/v1/channels/ops") == "ops");
  CHECK_FALSE(mutuo::channel_id_of("mutuo/v1/channels/a/b"));
  CHECK_FALSE(mutuo::channel_id_of("mutuo/v1/silences/ops"));
}

TEST_CASE("bus channels: added, changed, disabled and removed by retained messages") {
  std::vector<std::pair<std::string, std::string>> calls;  // url, body
  mutuo::health::HttpPost post = [&calls](const std::string& url,
                                          const std::string& body) -> mutuo::health::HttpResponse {
    calls.emplace_back(url, body);
    return {200, ""};
  };
  mutuo::metrics::Counter rejected;
  BusChannels bus({}, post, &rejected);
  int64_t now = 10'000;

  // Nothing configured: notices go nowhere.
  bus.submit(down_notice("a"), now);
  bus.pump(now);
  CHECK(calls.empty());
  CHECK(bus.stats_by_channel().empty());

  REQUIRE(bus.on_message(channel_message("ops", "http://127.0.0.1:9/one")));
  bus.submit(down_notice("a"), now);
  bus.pump(now);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].first == "http://127.0.0.1:9/one");
  auto body = json::parse(calls[0].second);
  CHECK(body["channel"] == "ops");
  CHECK(body["alert"]["subject"] == "peer/a");
  REQUIRE(bus.active().size() == 1);

  // A second channel, then the first one's URL changes.
  REQUIRE(bus.on_message(channel_message("audit", "http://127.0.0.1:9/audit")));
  REQUIRE(bus.on_message(channel_message("ops", "http://127.0.0.1:9/two")));
  bus.submit(down_notice("b"), now + 1);
  bus.pump(now + 1);
  REQUIRE(calls.size() == 3);
  CHECK(calls[1].first == "http://127.0.0.1:9/audit");  // by id order
  CHECK(calls[2].first == "http://127.0.0.1:9/two");

  // Disabled: no notices; removed: none either, its counters kept.
  REQUIRE(bus.on_message(channel_message("audit", "http://127.0.0.1:9/audit", false)));
  REQUIRE(bus.on_message({mutuo::channel_topic("ops"), "", 1, true}));
  bus.submit(down_notice("c"), now + 2);
  bus.pump(now + 2);
  CHECK(calls.size() == 3);
  CHECK(bus.active().size() == 1);  // audit, disabled
  auto stats = bus.stats_by_channel();
  REQUIRE(stats.size() == 2);
  CHECK(stats[1].first == "ops");
  CHECK(stats[1].second.delivered == 2);
  CHECK(bus.stats().delivered == 3);

  // Back again with the same id: delivers once more.
  REQUIRE(bus.on_message(channel_message("ops", "http://127.0.0.1:9/three")));
  bus.submit(down_notice("d"), now + 3);
  bus.pump(now + 3);
  REQUIRE(calls.size() == 4);
  CHECK(calls[3].first == "http://127.0.0.1:9/three");

  // Bad messages: refused, counted, nothing changes.
  CHECK_FALSE(bus.on_message({mutuo::channel_topic("ops"), "{\"v\":1}", 1, true}));
  CHECK_FALSE(bus.on_message({mutuo::channel_topic("x"), channel_message("y", "http://h/").payload,
                              1, true}));
  CHECK_FALSE(bus.on_message({"mutuo/v1/channels/BAD", "", 1, true}));
  CHECK(rejected.value() == 3);
  bus.submit(down_notice("e"), now + 4);
  bus.pump(now + 4);
  REQUIRE(calls.size() == 5);
  CHECK(calls[4].first == "http://127.0.0.1:9/three");
}

TEST_CASE("a bus channel's rate limit comes from its message") {
  int calls = 0;
  mutuo::health::HttpPost post = [&calls](const std::string&, const std::string&) -> mutuo::health::HttpResponse {
    ++calls;
    return {200, ""};
  };
  BusChannels bus({}, post);
  mutuo::NotificationChannel c;
  c.id = "slow";
  c.url = "http://127.0.0.1:9/";
  c.rate_per_min = 1;
  c.burst = 2;
  REQUIRE(bus.on_message({mutuo::channel_topic("slow"), mutuo::encode(c), 1, true}));
  for (int i = 0; i < 5; ++i) bus.submit(down_notice("p" + std::to_string(i)), 0);
  bus.pump(0);
  CHECK(calls == 2);  // the burst
  CHECK(bus.next_due_ms() > 0);
  bus.pump(60'001);  // one more token a minute
  CHECK(calls == 3);
  CHECK(bus.stats().rate_limited > 0);
}
