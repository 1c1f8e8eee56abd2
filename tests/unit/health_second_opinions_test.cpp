// Second opinions, receiver side (receiver/health/second_opinions.h): which
// subjects the health engine calls suspects, how requests are paced per subject
// and overall, and the health service publishing them on
// mutuo/v1/probe-requests/{subject}, not retained.
#include <doctest/doctest.h>

#include "common/messages/probe_request.h"
#include "health_fixtures.h"
#include "receiver/health/health_service.h"
#include "receiver/health/second_opinions.h"

using namespace health_fixtures;
using mutuo::MqttMessage;
using mutuo::ProbeRequest;
using namespace mutuo::health;

namespace {

constexpr int64_t kT = 1'733'320'000'000;

const Suspect* suspect(const HealthEngine& e, const std::string& subject) {
  for (const auto& s : e.suspects()) {
    if (s.subject == subject) return &s;
  }
  return nullptr;
}

// ams-1, fra-1 and fra-2 probe ams-2 every 10 s; all fine at first.
HealthEngine three_observers(HealthConfig config = {}) {
  HealthEngine e(config);
  for (const auto& [a, site] : {std::pair{"ams-1", "ams"}, std::pair{"ams-2", "ams"},
                                std::pair{"fra-1", "fra"}, std::pair{"fra-2", "fra"}}) {
    e.presence(online(a, {{"site", site}, {"provider", "p-" + std::string(a)}}));
  }
  for (int i = 0; i < 4; ++i) {
    for (const char* o : {"ams-1", "fra-1", "fra-2"}) {
      e.observe({o, 1, {udp("ams-2", kT + i * 10'000, 10)}});
    }
  }
  return e;
}

}  // namespace

TEST_CASE("a first failed result makes a suspect; a quorum or presence does not") {
  HealthEngine e = three_observers();
  e.evaluate(kT + 31'000);
  CHECK(e.suspects().empty());

  e.observe({"fra-1", 1, {udp("ams-2", kT + 40'000, 0)}});
  e.evaluate(kT + 41'000);
  const Suspect* s = suspect(e, "peer/ams-2");
  REQUIRE(s != nullptr);
  CHECK(s->failing == std::vector<std::string>{"fra-1"});
  CHECK(s->observers == std::vector<std::string>{"ams-1", "fra-1", "fra-2"});

  // Once a quorum fails the verdict is in: nothing more to ask.
  for (int i = 0; i < 3; ++i) {
    for (const char* o : {"ams-1", "fra-1", "fra-2"}) {
      e.observe({o, 1, {udp("ams-2", kT + 50'000 + i * 10'000, 0)}});
    }
  }
  auto alerts = e.evaluate(kT + 71'000);
  CHECK(find(alerts, "peer/ams-2").state == mutuo::HealthState::kDown);
  CHECK(suspect(e, "peer/ams-2") == nullptr);

  // Offline by presence: not a probe question.
  e.presence(lost("ams-2"));
  e.evaluate(kT + 72'000);
  CHECK(e.suspects().empty());
}

TEST_CASE("a stale observer (no longer assigned, say) is not named: it may be asked") {
  HealthConfig config;
  config.stale_ms = 30'000;
  HealthEngine e = three_observers(config);
  // fra-2 stops probing ams-2 after kT + 30 s; 40 s later it is stale.
  for (int i = 4; i < 7; ++i) {
    for (const char* o : {"ams-1", "fra-1"}) {
      e.observe({o, 1, {udp("ams-2", kT + i * 10'000, i == 6 ? 0 : 10)}});
    }
  }
  auto alerts = e.evaluate(kT + 70'000);
  CHECK(find(alerts, "peer/ams-2").observers.at("fra-2") == "stale");
  const Suspect* s = suspect(e, "peer/ams-2");
  REQUIRE(s != nullptr);
  CHECK(s->observers == std::vector<std::string>{"ams-1", "fra-1"});
}

TEST_CASE("a suspect with a single observer (state unknown) is still a suspect") {
  HealthEngine e;
  e.presence(online("a"));
  e.presence(online("b"));
  e.observe({"a", 1, {udp("b", kT, 0)}});
  auto alerts = e.evaluate(kT + 1000);
  CHECK(find(alerts, "peer/b").state == mutuo::HealthState::kUnknown);
  REQUIRE(suspect(e, "peer/b") != nullptr);
  CHECK(suspect(e, "peer/b")->failing == std::vector<std::string>{"a"});
}

TEST_CASE("requests name the failing observers' label values to avoid") {
  std::map<std::string, mutuo::codec::Labels> labels = {
      {"fra-1", {{"site", "fra"}, {"provider", "acme"}}},
      {"fra-2", {{"site", "fra"}, {"provider", "other"}}}};
  SecondOpinions so({},
                    [&](const std::string& a) -> const mutuo::codec::Labels& { return labels[a]; });
  auto r = so.requests({{"peer/ams-2", {"fra-1", "fra-2"}, {"ams-1", "fra-1", "fra-2"}}}, kT);
  REQUIRE(r.size() == 1);
  CHECK(r[0].subject == "peer/ams-2");
  CHECK(r[0].reason == "first-failure");
  CHECK(r[0].want == 3);
  CHECK(r[0].ts_ms == kT);
  CHECK(r[0].failing == std::vector<std::string>{"fra-1", "fra-2"});
  CHECK(r[0].observers == std::vector<std::string>{"ams-1", "fra-1", "fra-2"});
  CHECK(r[0].avoid.at("site") == std::vector<std::string>{"fra"});
  CHECK(r[0].avoid.at("provider") == std::vector<std::string>{"acme", "other"});
  // What the receiver publishes decodes as what it meant.
  auto back = mutuo::decode_probe_request(mutuo::encode(r[0]));
  REQUIRE(back.ok());
  CHECK(*back == r[0]);
}

TEST_CASE("per subject: one request per gap, the gap doubling while it keeps failing") {
  mutuo::codec::Labels none;
  SecondOpinions so({3, 10'000, 40'000, 1000},
                    [&](const std::string&) -> const mutuo::codec::Labels& { return none; });
  std::vector<Suspect> s = {{"peer/x", {"a"}, {"a"}}};
  std::vector<int64_t> asked;
  for (int64_t t = 0; t <= 120'000; t += 1000) {
    if (!so.requests(s, kT + t).empty()) asked.push_back(t);
  }
  // 0, then gaps of 10, 20, 40, 40 s.
  CHECK(asked == std::vector<int64_t>{0, 10'000, 30'000, 70'000, 110'000});

  // Clear for a whole gap: the next failure is asked about at once, and paced
  // from every_ms again.
  for (int64_t t = 121'000; t <= 131'000; t += 1000) CHECK(so.requests({}, kT + t).empty());
  CHECK(so.requests(s, kT + 132'000).size() == 1);
  CHECK(so.requests(s, kT + 141'000).empty());
  CHECK(so.requests(s, kT + 142'000).size() == 1);
  CHECK(so.stats().requested == 7);
}

TEST_CASE("overall: a storm of suspects is capped by the per-minute bucket") {
  mutuo::codec::Labels none;
  SecondOpinions so({3, 10'000, 600'000, 5},
                    [&](const std::string&) -> const mutuo::codec::Labels& { return none; });
  std::vector<Suspect> storm;
  for (int i = 0; i < 20; ++i) storm.push_back({"peer/p" + std::to_string(i), {"a"}, {"a"}});
  CHECK(so.requests(storm, kT).size() == 5);
  CHECK(so.stats().rate_limited == 15);
  // 12 s later the bucket holds one more (5 a minute); the skipped ones are next.
  auto later = so.requests(storm, kT + 12'000);
  CHECK(later.size() == 1);
  CHECK(later[0].subject == "peer/p5");
}

TEST_CASE("off: want 0 asks nothing") {
  mutuo::codec::Labels none;
  SecondOpinions so({0, 10'000, 600'000, 60},
                    [&](const std::string&) -> const mutuo::codec::Labels& { return none; });
  CHECK(so.requests({{"peer/x", {"a"}, {"a"}}}, kT).empty());
}

TEST_CASE("the health service publishes the request, not retained, once per gap") {
  int64_t now = kT;
  std::vector<MqttMessage> published;
  HealthServiceConfig config;
  config.second_opinions.every_ms = 30'000;
  HealthService service(
      config,
      [&](const MqttMessage& m) {
        published.push_back(m);
        return true;
      },
      {}, [&] { return now; });
  for (const char* a : {"a", "b", "c"}) service.on_status(online(a));
  service.on_results({"a", 1, {udp("c", kT - 2000, 10)}});
  service.on_results({"b", 1, {udp("c", kT - 2000, 10)}});
  service.tick();
  auto requests = [&] {
    std::vector<MqttMessage> out;
    for (const auto& m : published) {
      if (m.topic.starts_with("mutuo/v1/probe-requests/")) out.push_back(m);
    }
    return out;
  };
  CHECK(requests().empty());

  now += 1000;
  service.on_results({"a", 2, {udp("c", now - 500, 0)}});
  service.tick();
  REQUIRE(requests().size() == 1);
  const MqttMessage m = requests()[0];
  CHECK(m.topic == "mutuo/v1/probe-requests/peer/c");
  CHECK_FALSE(m.retained);
  CHECK(m.qos == 1);
  auto r = mutuo::decode_probe_request(m.payload);
  REQUIRE(r.ok());
  CHECK(r->failing == std::vector<std::string>{"a"});
  CHECK(service.counters()->probe_requests == 1);

  now += 1000;
  service.tick();
  CHECK(requests().size() == 1);  // paced
}
