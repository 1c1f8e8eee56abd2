// Second opinions, tracker side (tracker/second_opinions.h): whom the tracker
// asks to probe a failing subject at once, and how often.
#include <doctest/doctest.h>

#include <set>

#include "tracker/second_opinions.h"

using namespace mutuo;
using namespace mutuo::tracker;

namespace {

constexpr int64_t kT = 1'733'320'000'000;

// Nine agents on three sites and three providers: a-0..a-8, site s{i%3},
// provider p{i/3}; sparse beyond 4 peers with k = 2.
struct World {
  std::map<std::string, Peer> live;
  std::map<std::string, Check> checks;
  Assignment assignment{AssignmentConfig{10, 4, 2, {"site", "provider"}, 0}};
  World() {
    for (int i = 0; i < 9; ++i) {
      Peer p;
      p.agent = "a-" + std::to_string(i);
      p.addrs = {"127.0.2." + std::to_string(i + 1)};
      p.echo_port = 7000 + i;
      p.labels = {{"site", "s" + std::to_string(i % 3)}, {"provider", "p" + std::to_string(i / 3)}};
      live.emplace(p.agent, p);
    }
    Check c;
    c.check = "web";
    c.type = "http";
    c.url = "http://127.0.0.1:1/";
    c.observers = 2;
    c.selector = {{"provider", "p1"}};  // a-3, a-4, a-5
    checks.emplace("web", c);
    assignment.update(live, checks);
  }
  ProbeRequest request(const std::string& subject, std::vector<std::string> failing,
                       uint32_t want = 3) {
    ProbeRequest r;
    r.subject = subject;
    r.ts_ms = kT;
    r.reason = "first-failure";
    r.want = want;
    r.failing = failing;
    r.observers = failing;
    for (const auto& f : failing) {
      for (const auto& [k, v] : live.at(f).labels) r.avoid[k].push_back(v);
    }
    return r;
  }
};

std::set<std::string> agents_of(const std::vector<ProbeNow>& answer) {
  std::set<std::string> out;
  for (const auto& p : answer) out.insert(p.agent);
  return out;
}

}  // namespace

TEST_CASE("a peer: others than its observers, other sites first, one probe-now each") {
  World w;
  SecondOpinions so({});
  auto observers = w.assignment.observers_of("a-0");
  REQUIRE(observers.size() == 2);
  auto r = w.request("peer/a-0", {observers[0]});
  auto answer = so.answer(r, w.live, w.assignment, w.checks, kT);
  REQUIRE(answer.ok());
  REQUIRE(answer->size() == 3);
  const std::string failing_site = w.live.at(observers[0]).labels.at("site");
  std::set<std::string> sites;
  for (const ProbeNow& p : *answer) {
    CAPTURE(p.agent);
    CHECK(p.agent != "a-0");
    CHECK(std::find(observers.begin(), observers.end(), p.agent) == observers.end());
    CHECK(w.live.at(p.agent).labels.at("site") != failing_site);
    sites.insert(w.live.at(p.agent).labels.at("site"));
    CHECK(p.subject == "peer/a-0");
    CHECK(p.ts_ms == kT);
    CHECK(p.expires_ms > kT);
    CHECK(p.rounds == 3);
    REQUIRE(p.peers.size() == 1);
    CHECK(p.peers[0].agent == "a-0");
    CHECK(p.peers[0].addr == "127.0.2.1");
    CHECK(p.peers[0].echo_port == 7000);
    CHECK(p.checks.empty());
    // What goes on the bus decodes back to the same.
    auto back = decode_probe_now(encode(p));
    REQUIRE(back.ok());
    CHECK(*back == p);
  }
  CHECK(sites.size() == 2);  // the two other sites, spread before one repeats
}

TEST_CASE("the choice is stable: the same request picks the same agents") {
  World w1, w2;
  SecondOpinions a({}), b({});
  auto r = w1.request("peer/a-4", {"a-1"});
  auto x = a.answer(r, w1.live, w1.assignment, w1.checks, kT);
  auto y = b.answer(r, w2.live, w2.assignment, w2.checks, kT + 5);
  REQUIRE(x.ok());
  REQUIRE(y.ok());
  CHECK(agents_of(*x) == agents_of(*y));
}

TEST_CASE("a check: only eligible agents not already running it") {
  World w;
  SecondOpinions so({});
  auto placed = w.assignment.check_observers("web");
  REQUIRE(placed.size() == 2);
  auto answer = so.answer(w.request("check/web", {placed[0]}), w.live, w.assignment, w.checks, kT);
  REQUIRE(answer.ok());
  REQUIRE(answer->size() == 1);  // a-3..a-5 are eligible, two run it already
  const ProbeNow& p = answer->front();
  CHECK(w.live.at(p.agent).labels.at("provider") == "p1");
  CHECK(std::find(placed.begin(), placed.end(), p.agent) == placed.end());
  REQUIRE(p.checks.size() == 1);
  CHECK(p.checks[0].check == "web");
  CHECK(p.checks[0].url == "http://127.0.0.1:1/");
  CHECK(p.peers.empty());
}

TEST_CASE("refusals: rate-limited per subject, unknown targets, nobody left") {
  World w;
  SecondOpinions so({});
  auto r = w.request("peer/a-0", {"a-1"});
  REQUIRE(so.answer(r, w.live, w.assignment, w.checks, kT).ok());
  auto again = so.answer(r, w.live, w.assignment, w.checks, kT + 9'000);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error() == "rate-limited");
  CHECK(so.answer(r, w.live, w.assignment, w.checks, kT + 10'000).ok());

  CHECK(so.answer(w.request("peer/gone", {"a-1"}), w.live, w.assignment, w.checks, kT).error() ==
        "unknown target");
  CHECK(so.answer(w.request("check/nope", {"a-1"}), w.live, w.assignment, w.checks, kT).error() ==
        "unknown target");

  ProbeRequest everyone = w.request("peer/a-0", {"a-1"});
  for (const auto& [id, p] : w.live) everyone.observers.push_back(id);
  auto none = so.answer(everyone, w.live, w.assignment, w.checks, kT + 20'000);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error() == "no candidate");
}

TEST_CASE("one agent is asked at most per_agent_per_minute times a minute") {
  World w;
  SecondOpinionConfig c;
  c.per_agent_per_minute = 2;
  SecondOpinions so(c);
  std::map<std::string, int> asked;
  for (int i = 0; i < 9; ++i) {
    auto r = w.request("peer/a-" + std::to_string(i), {}, 16);
    auto answer = so.answer(r, w.live, w.assignment, w.checks, kT + i);
    if (!answer) continue;
    for (const auto& p : *answer) ++asked[p.agent];
  }
  for (const auto& entry : asked) {  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(entry.first);
    CHECK(entry.second <= 2);
  }
  // A minute later they may be asked again.
  auto later =
      so.answer(w.request("peer/a-0", {}, 16), w.live, w.assignment, w.checks, kT + 70'000);
  REQUIRE(later.ok());
  CHECK(later->size() == 6);  // all but a-0 and its two observers
}
