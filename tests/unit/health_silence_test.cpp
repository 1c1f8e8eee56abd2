// Silences on the bus (common/messages/silence.h, schemas/silence.schema.json):
// the codec against its schema both ways, what it refuses, and how the health
// service applies retained silences/{id} messages: added, replaced, removed by a
// zero-length payload, a bad one refused and counted.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/messages/silence.h"
#include "health_fixtures.h"
#include "receiver/health/health_service.h"
#include "tests/unit/schema_support.h"

using nlohmann::json;
using namespace health_fixtures;
using mutuo::HealthState;
using mutuo::MqttMessage;
using namespace mutuo::health;

namespace {

const mutuo::test::SchemaFile& schema() { return mutuo::test::schema_file("silence"); }

bool schema_valid(const json& instance) { return schema().valid(instance); }

json example(std::size_t i) { return schema().doc().at("examples").at(i); }

}  // namespace

TEST_CASE("every schema example validates, decodes, and encodes back to itself") {
  const json& examples = schema().doc().at("examples");
  REQUIRE(examples.size() >= 2);
  for (const json& e : examples) {
    CAPTURE(e.dump());
    CHECK(schema_valid(e));
    auto s = mutuo::decode_silence(e.dump());
    REQUIRE(s.ok());
    json again = json::parse(mutuo::encode(*s));
    CHECK(schema_valid(again));
    CHECK(again == e);
  }
  auto by_label = mutuo::decode_silence(example(1).dump());
  REQUIRE(by_label.ok());
  CHECK(by_label->label_key == "site");
  CHECK(by_label->label_value == "fra");
  CHECK(by_label->subject.empty());
}

TEST_CASE("bad silences are refused by the codec with a reason, and by the schema") {
  struct Bad {
    const char* what;
    std::function<void(json&)> edit;
    const char* reason;
    bool schema_says = true;  // JSON Schema cannot compare two fields
  };
  const std::vector<Bad> cases = {
      {"v 2", [](json& j) { j["v"] = 2; }, "unsupported version"},
      {"no id", [](json& j) { j.erase("silence"); }, "'silence'"},
      {"id with /", [](json& j) { j["silence"] = "a/b"; }, "'silence'"},
      {"ends before starts", [](json& j) { j["ends"] = j["starts"].get<int64_t>() - 1; }, "'ends'",
       false},
      {"no subject nor label", [](json& j) { j.erase("subject"); }, "exactly one"},
      {"subject and label",
       [](json& j) {
         j["label"] = {{"key", "site"}, {"value", "fra"}};
       },
       "exactly one"},
      {"bad subject", [](json& j) { j["subject"] = "host/x"; }, "'subject'"},
      {"wildcard subject", [](json& j) { j["subject"] = "peer/#"; }, "'subject'"},
      {"bad label key",
       [](json& j) {
         j.erase("subject");
         j["label"] = {{"key", "Site!"}, {"value", "fra"}};
       },
       "label key"},
      {"empty label value",
       [](json& j) {
         j.erase("subject");
         j["label"] = {{"key", "site"}, {"value", ""}};
       },
       "label value"},
      {"label without value",
       [](json& j) {
         j.erase("subject");
         j["label"] = {{"key", "site"}};
       },
       "'value'"},
      {"comment with a newline", [](json& j) { j["comment"] = "a\nb"; }, "'comment'"},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.what);
    json j = example(0);
    b.edit(j);
    auto s = mutuo::decode_silence(j.dump());
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().find(b.reason) != std::string::npos);
    if (b.schema_says) CHECK_FALSE(schema_valid(j));
  }
  CHECK_FALSE(mutuo::decode_silence("not json").ok());
  CHECK_FALSE(mutuo::decode_silence(std::string(20'000, ' ')).ok());
}

TEST_CASE("silence topics") {
  CHECK(mutuo::silence_topic("maint-1") == "mutuo/v1/silences/maint-1");
  CHECK(mutuo::silence_id_of("mutuo/v1/silences/maint-1") == "maint-1");
  CHECK_FALSE(mutuo::silence_id_of("mutuo/v1/silences/").has_value());
  CHECK_FALSE(mutuo::silence_id_of("mutuo/v1/silences/a/b").has_value());
  CHECK_FALSE(mutuo::silence_id_of("mutuo/v1/alerts/peer/a").has_value());
}

TEST_CASE("the health service applies retained silences from the bus") {
  int64_t now = 1'000'000;
  std::vector<Notice> sent;
  class Sink : public Channel {
   public:
    explicit Sink(std::vector<Notice>* out) : out_(out) {}
    const std::string& name() const override { return name_; }
    void submit(const Notice& n, int64_t) override { out_->push_back(n); }
    void pump(int64_t) override {}
    int64_t next_due_ms() const override { return INT64_MAX; }
    ChannelStats stats() const override { return {}; }

   private:
    std::string name_ = "sink";
    std::vector<Notice>* out_;
  };
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<Sink>(&sent));
  HealthServiceConfig config;
  config.alerting.hold_ms = 0;
  HealthService service(
      config, [](const MqttMessage&) { return true; }, std::move(channels), [&] { return now; });

  mutuo::Silence s{"maint-d", "peer/d", "", "", now - 1, now + 3'600'000, "disk swap"};
  service.on_message({mutuo::silence_topic("maint-d"), mutuo::encode(s), 1, true});
  // Refused: the id differs from the topic's; and not a silence at all.
  service.on_message({mutuo::silence_topic("other"), mutuo::encode(s), 1, true});
  service.on_message({mutuo::silence_topic("junk"), "{\"v\":1}", 1, true});

  auto feed = [&](bool d_answers) {
    for (const std::string o : {"a", "b", "c"}) {
      std::vector<mutuo::ProbeResult> rs{udp("d", now, d_answers ? 10 : 0)};
      service.on_message({"mutuo/v1/results/" + o,
                          mutuo::encode(mutuo::ResultBatch{o, static_cast<uint64_t>(now), rs}), 1,
                          false});
    }
  };
  for (const std::string a : {"a", "b", "c", "d"}) {
    service.on_message({"mutuo/v1/agents/" + a + "/status", mutuo::encode(online(a)), 1, true});
  }
  for (int i = 0; i < 3; ++i, now += 1000) {
    feed(true);
    service.tick();
  }
  for (int i = 0; i < 5; ++i, now += 1000) {
    feed(false);
    service.tick();
  }
  CHECK(sent.empty());  // down, but silenced
  CHECK(service.rejected_silences() == 2);

  // Removed by a zero-length retained payload: the next outage is sent.
  service.on_message({mutuo::silence_topic("maint-d"), "", 1, true});
  for (int i = 0; i < 8; ++i, now += 1000) {
    feed(true);
    service.tick();
  }
  for (int i = 0; i < 30; ++i, now += 1000) {
    feed(true);
    service.tick();
  }
  for (int i = 0; i < 5; ++i, now += 1000) {
    feed(false);
    service.tick();
  }
  REQUIRE_FALSE(sent.empty());
  CHECK(sent.back().alert.subject == "peer/d");
  CHECK(sent.back().alert.state == HealthState::kDown);
}
