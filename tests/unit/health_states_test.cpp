// The state of each peer and check from its observers' recent results
// (receiver/health/health_engine.h): down only on a quorum of independent
// observers, degraded on loss or latency, unknown when too few report, offline
// only by presence.
#include <doctest/doctest.h>

#include <functional>

#include "health_fixtures.h"
#include "receiver/health/health_engine.h"

using namespace health_fixtures;
using mutuo::HealthState;
using mutuo::health::HealthConfig;
using mutuo::health::HealthEngine;

namespace {

const std::vector<std::string> kMesh = {"a", "b", "c", "d"};

// One probing round at `ts` in a full mesh: every observer probes every other
// agent; `recv(observer, target)` is how many of 10 packets came back.
void round(HealthEngine& e, int64_t ts,
           const std::function<uint32_t(const std::string&, const std::string&)>& recv,
           const std::vector<std::string>& mesh = kMesh) {
  for (const auto& o : mesh) {
    for (const auto& t : mesh) {
      if (o != t) e.observe(o, udp(t, ts, recv(o, t)));
    }
  }
}

auto all_fine = [](const std::string&, const std::string&) -> uint32_t { return 10; };

}  // namespace

TEST_CASE("a healthy mesh is up everywhere") {
  HealthEngine e;
  for (const auto& a : kMesh) e.presence(online(a));
  for (int i = 1; i <= 3; ++i) round(e, i * kRound, all_fine);
  auto alerts = e.evaluate(3 * kRound);
  CHECK(alerts.size() == 4);
  CHECK(count_state(alerts, HealthState::kUp) == 4);
  const auto& d = find(alerts, "peer/d");
  CHECK(d.observers.size() == 3);
  CHECK(d.observers.at("a") == "ok");
  CHECK(d.cause.empty());
  CHECK(d.evidence.at("a").samples == 3);
  CHECK(d.evidence.at("a").loss == 0.0);
}

TEST_CASE("a target that stops answering is down once a quorum of observers fails") {
  HealthEngine e;
  for (int i = 1; i <= 4; ++i) round(e, i * kRound, all_fine);
  auto dead_d = [](const std::string&, const std::string& t) -> uint32_t {
    return t == "d" ? 0 : 10;
  };
  round(e, 5 * kRound, dead_d);
  // One failed round among good ones is not yet a failure.
  CHECK(find(e.evaluate(5 * kRound), "peer/d").state != HealthState::kDown);
  for (int i = 6; i <= 9; ++i) round(e, i * kRound, dead_d);
  auto alerts = e.evaluate(9 * kRound);
  const auto& d = find(alerts, "peer/d");
  CHECK(d.state == HealthState::kDown);
  CHECK(d.cause == "target");
  CHECK(d.observers ==
        std::map<std::string, std::string>{{"a", "fail"}, {"b", "fail"}, {"c", "fail"}});
  CHECK(d.evidence.at("a").failures >= 4);
  CHECK(count_state(alerts, HealthState::kDown) == 1);
  CHECK(e.isolated().empty());  // everyone fails toward d: d's fault, not theirs
}

TEST_CASE("one failing observer out of three is not a quorum") {
  HealthEngine e;
  for (int i = 1; i <= 6; ++i) {
    round(e, i * kRound, [](const std::string& o, const std::string& t) -> uint32_t {
      return o == "a" && t == "d" ? 0 : 10;
    });
  }
  auto alerts = e.evaluate(6 * kRound);  // find() returns a reference into it
  const auto& d = find(alerts, "peer/d");
  CHECK(d.state == HealthState::kUp);  // median loss over a, b, c is 0
  CHECK(d.observers.at("a") == "fail");
}

TEST_CASE("two failing observers out of three are a quorum") {
  HealthEngine e;
  for (int i = 1; i <= 6; ++i) {
    round(e, i * kRound, [](const std::string& o, const std::string& t) -> uint32_t {
      return t == "d" && o != "c" ? 0 : 10;
    });
  }
  CHECK(find(e.evaluate(6 * kRound), "peer/d").state == HealthState::kDown);
}

TEST_CASE("the quorum is configurable") {
  HealthConfig config;
  config.min_quorum = 3;
  HealthEngine e(config);
  for (int i = 1; i <= 6; ++i) {
    round(e, i * kRound, [](const std::string& o, const std::string& t) -> uint32_t {
      return t == "d" && o != "c" ? 0 : 10;
    });
  }
  CHECK(find(e.evaluate(6 * kRound), "peer/d").state == HealthState::kDegraded);
}

TEST_CASE("with one observer reporting the state is unknown, never down") {
  HealthEngine e;
  for (int i = 1; i <= 6; ++i) e.observe("a", udp("z", i * kRound, 0));
  auto alerts_z = e.evaluate(6 * kRound);
  const auto& z = find(alerts_z, "peer/z");
  CHECK(z.state == HealthState::kUnknown);
  CHECK(z.cause.empty());
  CHECK(z.observers.at("a") == "fail");
}

TEST_CASE("an agent with presence but no results is unknown") {
  HealthEngine e;
  e.presence(online("lonely"));
  CHECK(find(e.evaluate(kRound), "peer/lonely").state == HealthState::kUnknown);
}

TEST_CASE("two observers, one failing: no quorum, degraded") {
  HealthEngine e;
  for (int i = 1; i <= 6; ++i) {
    e.observe("a", udp("z", i * kRound, 0));
    e.observe("b", udp("z", i * kRound, 10));
  }
  CHECK(find(e.evaluate(6 * kRound), "peer/z").state == HealthState::kDegraded);
}

TEST_CASE("loss above the threshold is degraded, not down") {
  HealthEngine e;
  for (int i = 1; i <= 6; ++i)
    round(e, i * kRound, [](auto&, const std::string& t) -> uint32_t {
      return t == "d" ? 7 : 10;  // 30 % loss toward d
    });
  auto alerts_d = e.evaluate(6 * kRound);
  const auto& d = find(alerts_d, "peer/d");
  CHECK(d.state == HealthState::kDegraded);
  CHECK(d.cause == "target");
  CHECK(d.observers.at("a") == "degraded");
  CHECK(d.evidence.at("a").loss == doctest::Approx(0.3));
}

TEST_CASE("latency above the threshold is degraded when a threshold is set") {
  HealthConfig config;
  config.window.degraded_rtt_ms = 100;
  HealthEngine slow(config), lax;
  for (int i = 1; i <= 3; ++i) {
    for (HealthEngine* e : {&slow, &lax}) {
      for (const char* o : {"a", "b", "c"}) e->observe(o, udp("d", i * kRound, 10, 250.0));
    }
  }
  CHECK(find(slow.evaluate(3 * kRound), "peer/d").state == HealthState::kDegraded);
  CHECK(find(slow.evaluate(3 * kRound), "peer/d").evidence.at("a").rtt_ms == 250.0);
  CHECK(find(lax.evaluate(3 * kRound), "peer/d").state == HealthState::kUp);
}

TEST_CASE("an agent offline by presence is offline, never down by probes") {
  HealthEngine e;
  for (const auto& a : kMesh) e.presence(online(a));
  auto dead_d = [](const std::string&, const std::string& t) -> uint32_t {
    return t == "d" ? 0 : 10;
  };
  for (int i = 1; i <= 6; ++i) round(e, i * kRound, dead_d);
  e.presence(lost("d"));
  auto alerts = e.evaluate(6 * kRound);
  const auto& d = find(alerts, "peer/d");
  CHECK(d.state == HealthState::kOffline);
  CHECK(d.cause == "offline");
  CHECK(count_state(alerts, HealthState::kDown) == 0);
  // d's own (older) results toward others do not vote.
  CHECK(find(alerts, "peer/a").observers.at("d") == "offline");
  // Back online: judged by probes again, by the rounds made since.
  e.presence(online("d"));
  CHECK(find(e.evaluate(6 * kRound), "peer/d").state == HealthState::kUnknown);
  for (int i = 7; i <= 12; ++i) round(e, i * kRound, dead_d);
  CHECK(find(e.evaluate(12 * kRound), "peer/d").state == HealthState::kDown);
}

TEST_CASE("an observer without recent results does not vote") {
  HealthEngine e;
  e.observe("a", udp("z", 1'000, 10));
  for (int i = 1; i <= 10; ++i) {
    e.observe("b", udp("z", i * kRound, 10));
    e.observe("c", udp("z", i * kRound, 10));
  }
  // a's only result is 99 s old: past stale_ms (90 s) and past the 60 s window.
  auto alerts_z = e.evaluate(10 * kRound);
  const auto& z = find(alerts_z, "peer/z");
  CHECK(z.observers.count("a") == 0);
  CHECK(z.state == HealthState::kUp);

  HealthConfig config;
  config.stale_ms = 15'000;
  HealthEngine strict(config);
  for (int i = 1; i <= 3; ++i) strict.observe("a", udp("z", i * kRound, 10));
  for (int i = 1; i <= 6; ++i) strict.observe("b", udp("z", i * kRound, 10));
  auto alerts_z2 = strict.evaluate(6 * kRound);
  const auto& z2 = find(alerts_z2, "peer/z");
  CHECK(z2.observers.at("a") == "stale");
  CHECK(z2.state == HealthState::kUnknown);  // b alone is too few
}

TEST_CASE("service checks get states from their observers too") {
  HealthEngine e;
  for (int i = 1; i <= 4; ++i) {
    for (const char* o : {"a", "b", "c"}) e.observe(o, http("web-home", i * kRound, i <= 1));
  }
  auto alerts_w = e.evaluate(4 * kRound);
  const auto& w = find(alerts_w, "check/web-home");
  CHECK(w.state == HealthState::kDown);
  CHECK(w.cause == "target");
  CHECK(w.evidence.at("b").failures == 3);
}

TEST_CASE("a resent result replaces the first, unsupported probes say nothing") {
  HealthEngine e;
  for (int i = 1; i <= 3; ++i) {
    for (const char* o : {"a", "b"}) {
      e.observe(o, udp("z", i * kRound, 10));
      e.observe(o, udp("z", i * kRound, 10));  // the same batch again
      auto r = udp("z", i * kRound + 1, 0);
      r.sent.reset();
      r.recv.reset();
      r.probe = "icmp";
      r.error = "unsupported";
      e.observe(o, r);
    }
  }
  auto alerts_z = e.evaluate(3 * kRound);
  const auto& z = find(alerts_z, "peer/z");
  CHECK(z.evidence.at("a").samples == 3);
  CHECK(z.state == HealthState::kUp);
}

TEST_CASE("a target going down passes from up to down, not through degraded") {
  HealthEngine e;
  for (const auto& a : kMesh) e.presence(online(a));
  for (int i = 1; i <= 6; ++i) round(e, i * kRound, all_fine);
  // d stops answering: after one and two failed rounds of six the observers do
  // not fail yet (too few), and they do not call d lossy either.
  for (int i = 7; i <= 8; ++i) {
    round(e, i * kRound,
          [](const std::string&, const std::string& t) -> uint32_t { return t == "d" ? 0 : 10; });
    auto a = find(e.evaluate(i * kRound), "peer/d");
    CAPTURE(i);
    CHECK(a.state == HealthState::kUp);
    CHECK(a.observers.at("a") == "ok");
  }
  round(e, 9 * kRound,
        [](const std::string&, const std::string& t) -> uint32_t { return t == "d" ? 0 : 10; });
  CHECK(find(e.evaluate(9 * kRound), "peer/d").state == HealthState::kDown);
}

TEST_CASE("an agent back online starts with no failures from before") {
  HealthEngine e;
  for (const auto& a : kMesh) e.presence(online(a));
  for (int i = 1; i <= 6; ++i) {
    round(e, i * kRound,
          [](const std::string&, const std::string& t) -> uint32_t { return t == "d" ? 0 : 10; });
  }
  e.presence(lost("d"));
  CHECK(find(e.evaluate(6 * kRound), "peer/d").state == HealthState::kOffline);
  e.presence(online("d"));  // no round toward d yet since it came back
  CHECK(find(e.evaluate(6 * kRound + 1000), "peer/d").state == HealthState::kUnknown);
}
