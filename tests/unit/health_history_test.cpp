// The alert history (receiver/health/alert_history.h) in a real RocksDB: entries
// by time and by subject, newest first, ranges and limits, a restart that
// continues, pruning by age, a secondary reader beside the writer, and the
// health service recording a silenced outage without sending it.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>

#include "health_fixtures.h"
#include "receiver/health/alert_history.h"
#include "receiver/health/health_service.h"
#include "tests/unit/test_support.h"

using namespace health_fixtures;
using mutuo::Alert;
using mutuo::HealthState;
using mutuo::MqttMessage;
using namespace mutuo::health;

using mutuo::test::TempDir;

namespace {

HistoryEntry entry(const std::string& subject, int64_t ts, HealthState state,
                   std::string kind = "alert", std::string held_back = "") {
  Alert a;
  a.subject = subject;
  a.state = state;
  a.since_ms = ts;
  a.ts_ms = ts;
  if (state != HealthState::kUp) a.cause = "target";
  a.observers = {{"a", state == HealthState::kUp ? "ok" : "fail"}};
  return {ts, std::move(kind), std::move(held_back), a};
}

std::vector<int64_t> times(const std::vector<HistoryEntry>& es) {
  std::vector<int64_t> out;
  for (const auto& e : es) out.push_back(e.ts_ms);
  return out;
}

}  // namespace

TEST_CASE("entries come back newest first, by subject or all, within a range") {
  TempDir dir;
  auto h = AlertHistory::open(dir.path, 3'600'000);
  REQUIRE(h.ok());
  auto& history = *h.value();
  REQUIRE(history
              .append({entry("peer/b", 1'000, HealthState::kDown),
                       entry("peer/a", 2'000, HealthState::kDown, "alert", "silenced:m1")})
              .ok());
  REQUIRE(history
              .append({entry("peer/b", 3'000, HealthState::kUp, "recovery"),
                       entry("peer/a", 3'000, HealthState::kUp, "change")})
              .ok());
  REQUIRE(history.append({}).ok());

  auto all = history.query({});
  REQUIRE(all.size() == 4);
  CHECK(times(all) == std::vector<int64_t>{3'000, 3'000, 2'000, 1'000});
  CHECK(all[2] == entry("peer/a", 2'000, HealthState::kDown, "alert", "silenced:m1"));

  auto b = history.query({"peer/b"});
  REQUIRE(b.size() == 2);
  CHECK(b[0].kind == "recovery");
  CHECK(b[1].alert.state == HealthState::kDown);
  // A subject that is a prefix of another one's does not see the other's.
  REQUIRE(history.append({entry("peer/b-2", 4'000, HealthState::kDown)}).ok());
  CHECK(history.query({"peer/b"}).size() == 2);

  CHECK(times(history.query({"", 2'000, 3'000})) == std::vector<int64_t>{2'000});
  CHECK(times(history.query({"", 0, INT64_MAX, 2})) == std::vector<int64_t>{4'000, 3'000});
  CHECK(history.query({"peer/none"}).empty());
}

TEST_CASE("a reopened history keeps its entries and adds after them") {
  TempDir dir;
  {
    auto h = AlertHistory::open(dir.path, 3'600'000);
    REQUIRE(h.ok());
    REQUIRE(h.value()->append({entry("peer/a", 5'000, HealthState::kDown)}).ok());
  }
  auto h = AlertHistory::open(dir.path, 3'600'000);
  REQUIRE(h.ok());
  // Same millisecond after the restart: a new entry, not an overwrite.
  REQUIRE(h.value()->append({entry("peer/a", 5'000, HealthState::kUp, "recovery")}).ok());
  auto all = h.value()->query({"peer/a"});
  REQUIRE(all.size() == 2);
  CHECK(all[0].kind == "recovery");
}

TEST_CASE("entries older than the retention are pruned from both indexes") {
  TempDir dir;
  auto h = AlertHistory::open(dir.path, 10'000);
  REQUIRE(h.ok());
  auto& history = *h.value();
  REQUIRE(history
              .append({entry("peer/a", 1'000, HealthState::kDown),
                       entry("peer/b", 5'000, HealthState::kDown),
                       entry("peer/a", 20'000, HealthState::kUp, "recovery")})
              .ok());
  auto pruned = history.prune(16'000);  // keeps [6'000, ...)
  REQUIRE(pruned.ok());
  CHECK(*pruned == 2);
  CHECK(times(history.query({})) == std::vector<int64_t>{20'000});
  CHECK(times(history.query({"peer/a"})) == std::vector<int64_t>{20'000});
  CHECK(history.query({"peer/b"}).empty());
}

TEST_CASE("a secondary reader sees what the receiver wrote after catching up") {
  TempDir dir;
  auto h = AlertHistory::open(dir.file("history"), 3'600'000);
  REQUIRE(h.ok());
  REQUIRE(h.value()->append({entry("peer/a", 1'000, HealthState::kDown)}).ok());
  auto r = AlertHistoryReader::open(dir.file("history"), dir.file("secondary"));
  REQUIRE(r.ok());
  CHECK(r.value()->query({}).size() == 1);
  REQUIRE(h.value()->append({entry("peer/a", 2'000, HealthState::kUp, "recovery")}).ok());
  REQUIRE(r.value()->catch_up().ok());
  auto all = r.value()->query({"peer/a"});
  REQUIRE(all.size() == 2);
  CHECK(all[0].kind == "recovery");
  CHECK(mutuo::test::info_log_files(dir.file("secondary")).empty());  // logs through ours
}

TEST_CASE("the health service records changes and notices, sent or silenced") {
  TempDir dir;
  auto h = AlertHistory::open(dir.path, 3'600'000);
  REQUIRE(h.ok());
  int64_t now = 1'000'000;
  HealthServiceConfig config;
  config.alerting.hold_ms = 0;
  HealthService service(
      config, [](const MqttMessage&) { return true; }, {}, [&] { return now; });
  service.set_history(h.value().get());
  service.add_silence({"maint-d", "peer/d", "", "", 0, now * 10, ""});
  for (const std::string a : {"a", "b", "c", "d"}) service.on_status(online(a));
  for (int i = 0; i < 8; ++i, now += 1000) {
    for (const std::string o : {"a", "b", "c"}) {
      service.on_results({o, static_cast<uint64_t>(i), {udp("d", now, i < 3 ? 10 : 0)}});
    }
    service.tick();
  }
  auto d = h.value()->query({"peer/d"});
  REQUIRE(d.size() == 2);  // up at first sight (a change), then down (an alert, held back)
  CHECK(d[1].kind == "change");
  CHECK(d[1].alert.state == HealthState::kUp);
  CHECK(d[0].kind == "alert");
  CHECK(d[0].alert.state == HealthState::kDown);
  CHECK(d[0].held_back == "silenced:maint-d");
  CHECK(service.history_errors() == 0);
}
