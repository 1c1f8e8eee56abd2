// Alert transitions (receiver/health/alerting.h): held before committed, one
// alert per outage, reminders, recovery notices, flap damping, silences.
#include <doctest/doctest.h>

#include "health_fixtures.h"
#include "receiver/health/alerting.h"

using namespace health_fixtures;
using mutuo::Alert;
using mutuo::HealthState;
using mutuo::health::AlertingConfig;
using mutuo::health::AlertTracker;
using mutuo::health::NoticeKind;
using mutuo::health::Silence;

namespace {

const mutuo::codec::Labels kNoLabels;

Alert state_of(const std::string& subject, HealthState s, std::string cause = "") {
  Alert a;
  a.subject = subject;
  a.state = s;
  a.cause = std::move(cause);
  return a;
}

struct Run {
  explicit Run(AlertingConfig config = {}, std::map<std::string, mutuo::codec::Labels> labels = {})
      : labels_(std::move(labels)),
        tracker(config, [this](const std::string& agent) -> const mutuo::codec::Labels& {
          auto it = labels_.find(agent);
          return it == labels_.end() ? kNoLabels : it->second;
        }) {}
  // Feeds `s` for subject every second from `from` to `to` (inclusive).
  void feed(const std::string& subject, HealthState s, int64_t from, int64_t to) {
    for (int64_t t = from; t <= to; t += 1000) {
      auto u = tracker.update({state_of(subject, s, s == HealthState::kUp ? "" : "target")}, t);
      for (auto& a : u.publish) published.push_back(a);
      for (auto& n : u.send) sent.push_back(n);
    }
  }
  std::map<std::string, mutuo::codec::Labels> labels_;
  AlertTracker tracker;
  std::vector<Alert> published;
  std::vector<mutuo::health::Notice> sent;
};

}  // namespace

TEST_CASE("an outage gives exactly one alert, then one recovery notice") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 5'000);
  CHECK(r.published.size() == 1);  // first seen up: published at once, nothing sent
  CHECK(r.sent.empty());
  r.feed("peer/d", HealthState::kDown, 6'000, 60'000);
  REQUIRE(r.sent.size() == 1);
  CHECK(r.sent[0].kind == NoticeKind::kAlert);
  CHECK(r.sent[0].alert.state == HealthState::kDown);
  CHECK(r.sent[0].alert.since_ms == 6'000);  // when the state began, not when committed
  CHECK(r.published.size() == 2);
  CHECK(r.published[1].state == HealthState::kDown);
  r.feed("peer/d", HealthState::kUp, 61'000, 100'000);
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[1].kind == NoticeKind::kRecovery);
  CHECK(r.sent[1].alert.since_ms == 61'000);
  CHECK(r.tracker.current("peer/d")->state == HealthState::kUp);
}

TEST_CASE("a state shorter than the hold time is neither published nor sent") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 5'000);
  r.feed("peer/d", HealthState::kDown, 6'000, 14'000);  // 9 s < hold 10 s
  r.feed("peer/d", HealthState::kUp, 15'000, 60'000);
  CHECK(r.sent.empty());
  CHECK(r.published.size() == 1);
}

TEST_CASE("offline comes from presence and is committed at once") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 1'000);
  r.feed("peer/d", HealthState::kOffline, 2'000, 2'000);
  REQUIRE(r.sent.size() == 1);
  CHECK(r.sent[0].alert.state == HealthState::kOffline);
}

TEST_CASE("unknown is recorded, not sent") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 1'000);
  r.feed("peer/d", HealthState::kUnknown, 2'000, 30'000);
  CHECK(r.sent.empty());
  CHECK(r.published.back().state == HealthState::kUnknown);
}

TEST_CASE("a long outage sends reminders every repeat interval") {
  AlertingConfig config;
  config.repeat_ms = 60'000;
  Run r(config);
  r.feed("peer/d", HealthState::kDown, 0, 200'000);  // committed at 10 s
  REQUIRE(r.sent.size() == 4);                       // alert at 10 s, reminders at 70, 130, 190
  CHECK(r.sent[0].kind == NoticeKind::kAlert);
  CHECK(r.sent[1].kind == NoticeKind::kReminder);
  CHECK(r.sent[3].kind == NoticeKind::kReminder);
  CHECK(r.sent[3].alert.since_ms == 0);
  CHECK(r.published.size() == 1);  // reminders do not republish the retained alert
}

TEST_CASE("a flapping subject is published but not sent until it settles") {
  AlertingConfig config;
  config.hold_ms = 0;
  config.recovery_hold_ms = 0;
  config.flap_transitions = 3;
  config.flap_window_ms = 60'000;
  Run r(config);
  r.feed("peer/d", HealthState::kUp, 0, 0);
  for (int i = 0; i < 5; ++i) {
    r.feed("peer/d", HealthState::kDown, 1'000 + i * 2'000, 1'000 + i * 2'000);
    r.feed("peer/d", HealthState::kUp, 2'000 + i * 2'000, 2'000 + i * 2'000);
  }
  CHECK(r.published.size() == 11);
  CHECK(r.sent.size() == 3);  // down, up, down; then flapping
  std::size_t flapping = 0;
  for (const auto& n : r.tracker.history()) flapping += n.held_back == "flapping" ? 1 : 0;
  CHECK(flapping == 7);
  // Quiet for the flap window: the next outage is sent again.
  r.feed("peer/d", HealthState::kDown, 100'000, 100'000);
  CHECK(r.sent.size() == 4);
}

TEST_CASE("a silenced subject going down is recorded, not sent") {
  Run r;
  r.tracker.add_silence({"maint-1", "peer/d", "", "", 0, 120'000, "disk swap"});
  r.feed("peer/d", HealthState::kUp, 0, 1'000);
  r.feed("peer/d", HealthState::kDown, 2'000, 60'000);
  CHECK(r.sent.empty());
  REQUIRE(r.tracker.history().size() == 1);
  CHECK(r.tracker.history()[0].held_back == "silenced:maint-1");
  CHECK(r.published.back().state ==
        HealthState::kDown);  // the retained alert still tells the truth
  // The window ends at ends_ms.
  CHECK(r.tracker.silenced("peer/d", 119'999) != nullptr);
  CHECK(r.tracker.silenced("peer/d", 120'000) == nullptr);
}

TEST_CASE("silences by label cover every agent carrying it, and partitions on it") {
  Run r({}, {{"f1", {{"site", "fra"}}}, {"a1", {{"site", "ams"}}}});
  r.tracker.add_silence({"fra-works", "", "site", "fra", 0, 1'000'000, ""});
  r.feed("peer/f1", HealthState::kDown, 0, 20'000);
  r.feed("peer/a1", HealthState::kDown, 0, 20'000);
  REQUIRE(r.sent.size() == 1);
  CHECK(r.sent[0].alert.subject == "peer/a1");

  Alert p = state_of("partition/site/ams/fra", HealthState::kDown, "partition");
  p.partition = mutuo::PartitionSides{"site", "ams", "fra"};
  for (int64_t t = 0; t <= 20'000; t += 1000) {
    for (auto& n : r.tracker.update({p}, t).send) r.sent.push_back(n);
  }
  CHECK(r.sent.size() == 1);
  r.tracker.remove_silence("fra-works");
  CHECK(r.tracker.silenced("peer/f1", 10) == nullptr);
}

TEST_CASE("degraded then down: each worse state is an alert") {
  Run r;
  r.feed("check/web", HealthState::kUp, 0, 0);
  r.feed("check/web", HealthState::kDegraded, 1'000, 20'000);
  r.feed("check/web", HealthState::kDown, 21'000, 40'000);
  r.feed("check/web", HealthState::kUp, 41'000, 80'000);
  REQUIRE(r.sent.size() == 3);
  CHECK(r.sent[0].alert.state == HealthState::kDegraded);
  CHECK(r.sent[1].alert.state == HealthState::kDown);
  CHECK(r.sent[2].kind == NoticeKind::kRecovery);
}

TEST_CASE("one-way loss appearing on an up subject is published again once it holds") {
  Run r;
  r.feed("peer/b", HealthState::kUp, 0, 1'000);
  REQUIRE(r.published.size() == 1);
  Alert one_way = state_of("peer/b", HealthState::kUp);
  one_way.one_way = {"a"};
  for (int64_t t = 2'000; t <= 20'000; t += 1000) {
    auto u = r.tracker.update({one_way}, t);
    for (auto& a : u.publish) r.published.push_back(a);
    for (auto& n : u.send) r.sent.push_back(n);
    if (t < 12'000) CHECK(u.publish.empty());  // held like a state change
  }
  REQUIRE(r.published.size() == 2);
  CHECK(r.published[1].one_way == std::vector<std::string>{"a"});
  CHECK(r.published[1].since_ms == 0);  // the state did not change
  CHECK(r.sent.empty());                // a flag in the alert, not a notice
  // And cleared the same way.
  r.feed("peer/b", HealthState::kUp, 21'000, 40'000);
  REQUIRE(r.published.size() == 3);
  CHECK(r.published[2].one_way.empty());
}

TEST_CASE("a one-way flag shorter than the hold time is not published") {
  Run r;
  r.feed("peer/b", HealthState::kUp, 0, 1'000);
  Alert one_way = state_of("peer/b", HealthState::kUp);
  one_way.one_way = {"a"};
  for (int64_t t = 2'000; t <= 6'000; t += 1000) r.tracker.update({one_way}, t);
  r.feed("peer/b", HealthState::kUp, 7'000, 40'000);
  CHECK(r.published.size() == 1);
}

TEST_CASE("every notice is recorded in the update, sent or held back") {
  Run r;
  r.tracker.add_silence({"maint-1", "peer/d", "", "", 0, 120'000, ""});
  std::vector<mutuo::health::Notice> recorded;
  for (int64_t t = 0; t <= 60'000; t += 1000) {
    Alert a = state_of("peer/d", t < 2'000 ? HealthState::kUp : HealthState::kDown,
                       t < 2'000 ? "" : "target");
    auto u = r.tracker.update({a}, t);
    for (auto& n : u.recorded) recorded.push_back(n);
    CHECK(u.send.empty());
  }
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].kind == NoticeKind::kAlert);
  CHECK(recorded[0].held_back == "silenced:maint-1");
}

TEST_CASE("down easing to degraded is published, not sent; the recovery follows") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 0);
  r.feed("peer/d", HealthState::kDown, 1'000, 20'000);
  r.feed("peer/d", HealthState::kDegraded, 21'000, 40'000);
  r.feed("peer/d", HealthState::kUp, 41'000, 80'000);
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[0].alert.state == HealthState::kDown);
  CHECK(r.sent[1].kind == NoticeKind::kRecovery);
  CHECK(r.published.size() == 4);  // up, down, degraded, up
}

TEST_CASE("a change of cause in the same state is published again, without a notice") {
  Run r;
  r.feed("peer/d", HealthState::kUp, 0, 0);
  r.feed("peer/d", HealthState::kDown, 1'000, 20'000);
  REQUIRE(r.published.back().cause == "target");
  for (int64_t t = 21'000; t <= 40'000; t += 1000) {
    for (auto& a :
         r.tracker.update({state_of("peer/d", HealthState::kDown, "observer-isolated")}, t)
             .publish) {
      r.published.push_back(a);
    }
  }
  CHECK(r.published.back().cause == "observer-isolated");
  CHECK(r.published.back().since_ms == 1'000);
  CHECK(r.published.size() == 3);
}
