// The tracker's live set, full-mesh assignment and publish planning.
#include "tracker/live_set.h"

#include <doctest/doctest.h>

#include <set>

#include "common/topics.h"
#include "tracker/assignment.h"
#include "tracker/publisher.h"

using namespace mutuo;
using namespace mutuo::tracker;

namespace {
Status online(const std::string& id, const std::string& addr = "127.0.0.1", uint16_t port = 7000) {
  Status s;
  s.agent = id;
  s.online = true;
  s.ts_ms = 1000;
  s.addrs = {addr};
  s.echo_port = port;
  return s;
}
Status offline(const std::string& id) {
  Status s;
  s.agent = id;
  s.online = false;
  s.ts_ms = 1000;
  s.reason = "lost";
  return s;
}
}  // namespace

TEST_CASE("an online status adds a peer, offline and cleared remove it") {
  LiveSet live;
  CHECK(live.apply("a", online("a"), 10));
  CHECK(live.apply("b", online("b"), 20));
  CHECK(live.peers().size() == 2);
  CHECK(live.peers().at("a").since_ms == 10);
  CHECK(live.apply("a", offline("a"), 30));
  CHECK(live.peers().count("a") == 0);
  CHECK(live.apply("b", std::nullopt, 40));
  CHECK(live.peers().empty());
  CHECK_FALSE(live.apply("c", offline("c"), 50));  // never live: nothing changes
}

TEST_CASE("a repeated status changes nothing; new details do, keeping since") {
  LiveSet live;
  CHECK(live.apply("a", online("a"), 10));
  CHECK_FALSE(live.apply("a", online("a"), 20));
  CHECK(live.apply("a", online("a", "127.0.0.2"), 30));
  CHECK(live.peers().at("a").addrs.front() == "127.0.0.2");
  CHECK(live.peers().at("a").since_ms == 10);
}

TEST_CASE("a restarted tracker keeps the since it published before") {
  LiveSet live;
  live.remember_since("a", 5);
  live.apply("a", online("a"), 100);
  CHECK(live.peers().at("a").since_ms == 5);
}

TEST_CASE("full mesh: every live agent probes every other, never itself") {
  LiveSet live;
  for (auto id : {"a", "b", "c"}) live.apply(id, online(id), 1);
  auto assigns = assign_all(live.peers(), {}, {.interval_s = 7});
  REQUIRE(assigns.size() == 3);
  for (const auto& [id, a] : assigns) {
    CHECK(a.agent == id);
    CHECK(a.peers.size() == 2);
    for (const auto& p : a.peers) {
      CHECK(p.agent != id);
      CHECK(p.interval_s == 7);
      CHECK(p.probes == std::vector<std::string>{"udp"});
    }
  }
}

TEST_CASE("publisher: publishes only differences and raises revisions") {
  LiveSet live;
  for (auto id : {"a", "b"}) live.apply(id, online(id), 1);
  Publisher pub;
  auto first = pub.plan(live.peers(), assign_all(live.peers(), {}, {}));
  CHECK(first.size() == 4);  // two peers entries, two assignments
  for (const auto& m : first) CHECK(m.retained);

  CHECK(pub.plan(live.peers(), assign_all(live.peers(), {}, {})).empty());

  live.apply("c", online("c"), 2);
  auto second = pub.plan(live.peers(), assign_all(live.peers(), {}, {}));
  CHECK(second.size() == 4);  // peers/c, assign/a, assign/b, assign/c
  for (const auto& m : second) {
    if (m.topic == topics::assign("a")) {
      auto a = decode_assign(m.payload);
      REQUIRE(a);
      CHECK(a->rev == 2);
    }
  }

  live.apply("c", offline("c"), 3);
  auto third = pub.plan(live.peers(), assign_all(live.peers(), {}, {}));
  int emptied = 0;
  for (const auto& m : third) {
    if (m.payload.empty()) {
      ++emptied;
      CHECK((m.topic == topics::peer("c") || m.topic == topics::assign("c")));
    }
  }
  CHECK(emptied == 2);
}

TEST_CASE("publisher: after a restart, retained state means nothing is republished") {
  LiveSet live;
  for (auto id : {"a", "b"}) live.apply(id, online(id), 1);
  Publisher before;
  auto published = before.plan(live.peers(), assign_all(live.peers(), {}, {}));

  Publisher after;  // a new tracker sees the retained topics first
  for (const auto& m : published) {
    auto t = topics::parse(m.topic);
    REQUIRE(t);
    if (t->kind == topics::Kind::kPeer) after.observe_peer(t->id, *decode_peer(m.payload));
    if (t->kind == topics::Kind::kAssign) after.observe_assign(t->id, *decode_assign(m.payload));
  }
  CHECK(after.plan(live.peers(), assign_all(live.peers(), {}, {})).empty());
}

TEST_CASE("flap damping: a quick rejoin is held, then admitted; a first join is not") {
  LiveSet live(FlapConfig{.window_ms = 60000, .hold_ms = 5000});
  CHECK(live.apply("a", online("a"), 1000));        // first join: at once
  CHECK(live.apply("a", offline("a"), 2000));       // leave: at once
  CHECK_FALSE(live.apply("a", online("a"), 3000));  // back within the window: held
  CHECK(live.peers().count("a") == 0);
  CHECK(live.held() == 1);
  REQUIRE(live.next_release_ms());
  CHECK(*live.next_release_ms() == 8000);
  CHECK_FALSE(live.release(7999));
  CHECK(live.release(8000));
  CHECK(live.peers().count("a") == 1);
  CHECK(live.peers().at("a").since_ms == 8000);
  CHECK(live.held() == 0);
}

TEST_CASE("flap damping: bouncing during the hold changes nothing visible") {
  LiveSet live(FlapConfig{.window_ms = 60000, .hold_ms = 5000});
  live.apply("a", online("a"), 1000);
  CHECK(live.apply("a", offline("a"), 2000));
  for (int64_t t = 2100; t < 2600; t += 100) {
    CHECK_FALSE(live.apply("a", online("a"), t));
    CHECK_FALSE(live.apply("a", offline("a"), t + 50));
  }
  CHECK(live.held() == 0);
  CHECK_FALSE(live.release(100000));
  CHECK(live.peers().empty());
  // Long after the window, a join is a fresh one again.
  CHECK(live.apply("a", online("a"), 200000));
}

TEST_CASE("flap damping off: a rejoin applies at once") {
  LiveSet live(FlapConfig{.window_ms = 60000, .hold_ms = 0});
  live.apply("a", online("a"), 1000);
  live.apply("a", offline("a"), 2000);
  CHECK(live.apply("a", online("a"), 2001));
}

TEST_CASE("a retained peer entry arriving after the status restores the published since") {
  LiveSet live;
  live.apply("a", online("a"), 100);
  live.remember_since("a", 5);
  CHECK(live.peers().at("a").since_ms == 5);
}

TEST_CASE("publisher: a late echo of a superseded assignment is ignored") {
  Publisher pub;
  Assign a1{"a", 1, {}, {}};
  Assign a2{"a", 2, {PeerTarget{"b", "127.0.0.1", 7, {"udp"}, 10}}, {}};
  CHECK(pub.observe_assign("a", a2));
  CHECK_FALSE(pub.observe_assign("a", a1));
  CHECK_FALSE(pub.observe_assign("a", a2));
  CHECK(pub.published_assigns().at("a").rev == 2);
}

TEST_CASE("publisher: a plan limited to the touched agents equals a full one") {
  LiveSet live;
  for (auto id : {"a", "b", "c", "d"}) live.apply(id, online(id), 1);
  Publisher full, limited;
  auto assigns = assign_all(live.peers(), {}, {});
  full.plan(live.peers(), assigns);
  limited.plan(live.peers(), assigns);

  live.apply("b", offline("b"), 2);
  live.apply("e", online("e"), 2);
  auto next = assign_all(live.peers(), {}, {});
  std::set<std::string> touched{"a", "b", "c", "d", "e"};  // full mesh: everyone changed
  auto a = full.plan(live.peers(), next);
  auto b = limited.plan(live.peers(), next, &touched);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].topic == b[i].topic);
    CHECK(a[i].payload == b[i].payload);
  }
  // Departures come first.
  CHECK(b.front().payload.empty());
  // Limited to an agent that did not change: nothing.
  std::set<std::string> none{"a"};
  CHECK(limited.plan(live.peers(), next, &none).empty());
}

TEST_CASE("publisher: a failed publish is planned again") {
  LiveSet live;
  for (auto id : {"a", "b"}) live.apply(id, online(id), 1);
  Publisher pub;
  auto assigns = assign_all(live.peers(), {}, {});
  auto first = pub.plan(live.peers(), assigns);
  for (const auto& m : first) pub.forget(m);  // none reached the broker
  auto again = pub.plan(live.peers(), assigns);
  CHECK(again.size() == first.size());
  for (const auto& m : again) {
    if (m.topic == topics::assign("a")) CHECK(decode_assign(m.payload)->rev == 2);
  }
}
