// The agent's scheduler: rounds grouped by probe and interval, random phases,
// a fixed-rate grid that never drifts, overruns skipped and counted.
#include <doctest/doctest.h>

#include "agent/scheduler.h"

using namespace mutuo;
using namespace mutuo::agent;
using namespace std::chrono_literals;
using Clock = Scheduler::Clock;

namespace {

Assign sample_assign() {
  Assign a;
  a.agent = "fra-1";
  a.rev = 1;
  a.peers = {{"ams-2", "198.51.100.7", 7777, {"udp", "icmp"}, 10},
             {"par-3", "198.51.100.8", 7778, {"udp"}, 10},
             {"lon-1", "198.51.100.9", 7777, {"udp", "carrier-pigeon"}, 30}};
  CheckTarget web{"web",      "http",   "https://example.org/", "", 0, "", 30, 2000,
                  {200, 301}, "Welcome"};
  CheckTarget db{"db", "tcp", "", "192.0.2.1", 5432, "", 10, 0, {}, ""};
  a.checks = {web, db};
  return a;
}

std::vector<Round> rounds() {
  uint64_t unknown = 0;
  return rounds_of(sample_assign(), {"udp", "icmp", "tcp", "http", "dns"}, 1000ms, &unknown);
}

}  // namespace

TEST_CASE("an assignment becomes one round per probe type and interval") {
  uint64_t unknown = 0;
  auto rs = rounds_of(sample_assign(), {"udp", "icmp", "tcp", "http", "dns"}, 1000ms, &unknown);
  CHECK(unknown == 1);  // the pigeon
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& r : rs) {
    for (const auto& t : r.targets) ids[r.key()].push_back(t.id);
  }
  CHECK(ids["udp/10"] == std::vector<std::string>{"ams-2", "par-3"});
  CHECK(ids["udp/30"] == std::vector<std::string>{"lon-1"});
  CHECK(ids["icmp/10"] == std::vector<std::string>{"ams-2"});
  CHECK(ids["http/30"] == std::vector<std::string>{"web"});
  CHECK(ids["tcp/10"] == std::vector<std::string>{"db"});
  CHECK(rs.size() == 5);
  for (const auto& r : rs) {
    for (const auto& t : r.targets) {
      if (r.key() == "udp/10" && t.id == "par-3") {
        CHECK(t.host == "198.51.100.8");
        CHECK(t.port == 7778);
        CHECK(t.kind == TargetKind::kPeer);
      }
      if (t.id == "db") {
        CHECK(t.timeout == 5000ms);  // 0 means the default
        CHECK(t.kind == TargetKind::kCheck);
      }
      if (t.id == "web") {  // the http expectations reach the probe
        CHECK(t.timeout == 2000ms);
        CHECK(t.expect_status == std::vector<uint16_t>{200, 301});
        CHECK(t.expect_keyword == "Welcome");
      }
    }
  }
  SUBCASE("types this agent does not run are skipped and counted") {
    uint64_t skipped = 0;
    auto only_udp = rounds_of(sample_assign(), {"udp"}, 1000ms, &skipped);
    CHECK(only_udp.size() == 2);
    CHECK(skipped == 4);  // ams-2 icmp, the pigeon, the http and the tcp check
  }
  SUBCASE("a peer round fits in its interval") {
    Assign fast = sample_assign();
    for (auto& p : fast.peers) p.interval_s = 1;
    auto rs1 = rounds_of(fast, {"udp"}, 5000ms, &unknown);
    for (const auto& t : rs1.at(0).targets) CHECK(t.timeout == 750ms);
  }
}

TEST_CASE("first rounds are spread over the interval at random") {
  auto t0 = Clock::now();
  std::set<int64_t> phases;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Scheduler s(seed);
    s.set_rounds(rounds(), t0);
    auto first = s.next_due() - t0;
    CHECK(first >= 0ms);
    CHECK(first < 10s);
    phases.insert(std::chrono::duration_cast<std::chrono::milliseconds>(first).count());
  }
  CHECK(phases.size() > 40);  // 50 agents starting together do not probe in step
}

TEST_CASE("rounds stay on their grid for a simulated week, whatever each takes") {
  Scheduler s(7);
  auto t0 = Clock::now();
  Round r;
  r.probe = "udp";
  r.interval = 10s;
  r.targets.resize(1);
  s.set_rounds({r}, t0);
  const auto phase = s.next_due() - t0;
  auto now = t0;
  uint64_t ran = 0;
  const uint64_t slots = 7 * 24 * 360;
  for (uint64_t i = 0; i < slots; ++i) {
    now = s.next_due() + std::chrono::milliseconds(i % 7);  // the loop wakes a bit late
    auto expected = s.next_due();
    auto due = s.take_due(now);
    REQUIRE(due.size() == 1);
    CHECK(due[0].due == expected);  // stamped with its slot, not with when it ran
    ++ran;
    s.finished(due[0].key());
  }
  CHECK(ran == slots);
  CHECK(s.skipped() == 0);
  CHECK(s.next_due() - t0 == phase + slots * 10s);  // exactly on the grid: no drift
}

TEST_CASE("a slot whose previous round still runs is skipped, not run late") {
  Scheduler s(1);
  auto t0 = Clock::now();
  Round r;
  r.probe = "http";
  r.interval = 1s;
  s.set_rounds({r}, t0);
  auto first = s.next_due();
  auto due = s.take_due(first);
  REQUIRE(due.size() == 1);
  CHECK(s.take_due(first + 1s).empty());  // still running
  CHECK(s.skipped() == 1);
  s.finished(due[0].key());
  CHECK(s.next_due() == first + 2s);
  SUBCASE("a suspended host skips the slots it slept through") {
    auto woke = first + 10s + 500ms;
    CHECK(s.take_due(woke).size() == 1);
    CHECK(s.skipped() == 1 + 8);  // slots +2 .. +10 would all be due: one runs, 8 skipped
    CHECK(s.next_due() == first + 11s);
  }
}

TEST_CASE("a new assignment keeps the phase of rounds that remain") {
  Scheduler s(3);
  auto t0 = Clock::now();
  s.set_rounds(rounds(), t0);
  auto before = s.next_due();
  auto again = rounds();
  again[0].targets.pop_back();
  s.set_rounds(again, t0 + 1s);
  CHECK(s.next_due() == before);
  CHECK(s.groups() == 5);
  s.set_rounds({}, t0 + 2s);
  CHECK(s.groups() == 0);
  CHECK(s.next_due() == Clock::time_point::max());
}

TEST_CASE("one-shot rounds (second opinions) run at once and on time, beside the groups") {
  Scheduler s(7);
  auto t0 = Clock::time_point{} + 1000h;
  s.set_rounds(rounds(), t0);
  // Start every group's first round and keep it running: a one-shot of the same
  // probe must not wait for it, nor be skipped because of it.
  auto first = s.take_due(t0 + 30s);
  CHECK(first.size() == 5);

  Assign second;
  second.agent = "fra-1";
  second.peers = {{"ams-9", "198.51.100.70", 7777, {"udp"}, 10}};
  uint64_t unknown = 0;
  auto extra = rounds_of(second, {"udp"}, 1000ms, &unknown);
  REQUIRE(extra.size() == 1);
  auto now = t0 + 31s;
  CHECK(s.add_once(extra, 3, 1000ms, now) == 3);
  CHECK(s.once_waiting() == 3);
  CHECK(s.next_due() == now);

  std::vector<Clock::time_point> ran;
  for (auto t = now; t <= now + 3s; t += 100ms) {
    for (const Round& r : s.take_due(t)) {
      REQUIRE(r.once);  // the groups' first rounds still run: their slots are skipped
      CHECK(r.key() == "once/udp/10");
      REQUIRE(r.targets.size() == 1);
      CHECK(r.targets[0].id == "ams-9");
      ran.push_back(r.due);
      s.finished(r.key());  // touches no group
    }
  }
  CHECK(ran == std::vector<Clock::time_point>{now, now + 1s, now + 2s});
  CHECK(s.once_waiting() == 0);
  CHECK(s.groups() == 5);
}

TEST_CASE("one-shot rounds are bounded: beyond kMaxOnce waiting they are dropped and counted") {
  Scheduler s(7);
  auto now = Clock::time_point{} + 1000h;
  auto rs = rounds();  // five rounds
  std::size_t added = 0;
  for (int i = 0; i < 20; ++i) added += s.add_once(rs, 1, 1000ms, now);
  CHECK(added == Scheduler::kMaxOnce);
  CHECK(s.once_waiting() == Scheduler::kMaxOnce);
  CHECK(s.once_dropped() == 100 - Scheduler::kMaxOnce);
  CHECK(s.take_due(now).size() == Scheduler::kMaxOnce);
  CHECK(s.once_waiting() == 0);
}
