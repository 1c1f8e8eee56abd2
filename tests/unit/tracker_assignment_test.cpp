// The sparse mesh and check placement (tracker/assignment.h): coverage, spread
// across labels, stability under churn, determinism; and leadership.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "tracker/assignment.h"
#include "tracker/leader.h"
#include "tests/unit/test_scale.h"

using namespace mutuo;
using namespace mutuo::tracker;

namespace {

const char* const kSites[] = {"fra", "ams", "par", "lon", "waw", "mad"};
const char* const kProviders[] = {"acme", "globex", "initech"};

Peer peer(int i, int sites = 6, int providers = 3) {
  Peer p;
  p.agent = "agent-" + std::to_string(i);
  p.addrs = {"10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)};
  p.echo_port = 7777;
  p.labels = {{"site", kSites[i % sites]}, {"provider", kProviders[(i / 7) % providers]}};
  p.since_ms = 1;
  return p;
}

std::map<std::string, Peer> live_set(int n, int first = 0) {
  std::map<std::string, Peer> live;
  for (int i = first; i < first + n; ++i) live.emplace("agent-" + std::to_string(i), peer(i));
  return live;
}

// observer -> targets, and target -> observers, from the published form.
std::map<std::string, std::set<std::string>> observers_by_target(
    const std::map<std::string, Assign>& assigns) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [id, a] : assigns) {
    for (const auto& t : a.peers) out[t.agent].insert(id);
  }
  return out;
}

}  // namespace

TEST_CASE("full mesh up to full_mesh_max live peers") {
  auto assigns = assign_all(live_set(64), {}, {});
  REQUIRE(assigns.size() == 64);
  for (const auto& [id, a] : assigns) {
    CHECK(a.peers.size() == 63);
    for (const auto& t : a.peers) CHECK(t.agent != id);
  }
}

TEST_CASE("coverage: beyond the full mesh every live peer has exactly k observers") {
  for (int n : {65, 200, 1000}) {
    CAPTURE(n);
    auto live = live_set(n);
    auto assigns = assign_all(live, {}, {});
    REQUIRE(assigns.size() == static_cast<size_t>(n));
    auto by_target = observers_by_target(assigns);
    REQUIRE(by_target.size() == static_cast<size_t>(n));
    std::size_t max_targets = 0, total = 0;
    for (const auto& [target, observers] : by_target) {
      CHECK(observers.size() == 16);
      CHECK(observers.count(target) == 0);
    }
    for (const auto& [id, a] : assigns) {
      max_targets = std::max(max_targets, a.peers.size());
      total += a.peers.size();
      for (const auto& t : a.peers) {
        CHECK(t.addr == live.at(t.agent).addrs.front());
        CHECK(t.echo_port == 7777);
      }
    }
    CHECK(total == 16u * n);
    CHECK(max_targets <= 64);  // nobody probes more than its candidate lists allow
  }
}

TEST_CASE("coverage: with few peers and a large k everybody observes everybody") {
  AssignmentConfig config{.full_mesh_max = 3, .k = 16};
  auto by_target = observers_by_target(assign_all(live_set(10), {}, config));
  for (const auto& [target, observers] : by_target) CHECK(observers.size() == 9);
}

TEST_CASE("diversity: observers cover every site and provider before repeating") {
  auto live = live_set(600);
  auto spread = observers_by_target(assign_all(live, {}, {}));
  AssignmentConfig plain_config;
  plain_config.spread_labels = {};
  auto plain = observers_by_target(assign_all(live, {}, plain_config));

  auto worst = [&](const std::map<std::string, std::set<std::string>>& by_target) {
    std::size_t fewest_sites = 99, fewest_providers = 99, most_one_site = 0;
    for (const auto& [target, observers] : by_target) {
      std::map<std::string, std::size_t> sites, providers;
      for (const auto& o : observers) {
        ++sites[live.at(o).labels.at("site")];
        ++providers[live.at(o).labels.at("provider")];
      }
      fewest_sites = std::min(fewest_sites, sites.size());
      fewest_providers = std::min(fewest_providers, providers.size());
      for (const auto& [s, c] : sites) most_one_site = std::max(most_one_site, c);
    }
    return std::tuple{fewest_sites, fewest_providers, most_one_site};
  };
  auto [sites, providers, most] = worst(spread);
  auto [plain_sites, plain_providers, plain_most] = worst(plain);
  MESSAGE("spread: fewest sites " << sites << ", providers " << providers << ", most in one site "
                                  << most << "; plain rendezvous: " << plain_sites << ", "
                                  << plain_providers << ", " << plain_most);
  CHECK(sites == 6);
  CHECK(providers == 3);
  CHECK(most <= 3);  // 16 observers over 6 sites: 2 or 3 each, where plain hashing piles up
  CHECK(most < plain_most);
}

TEST_CASE("diversity: an agent alone at its site is not made to probe everyone") {
  auto live = live_set(500);
  Peer lone = peer(9999);
  lone.labels = {{"site", "lone"}, {"provider", "solo"}};
  live.emplace(lone.agent, lone);
  auto assigns = assign_all(live, {}, {});
  // It is picked wherever it is a candidate (about 4k = 64 lists), not for all 500.
  MESSAGE("the lone agent probes " << assigns.at(lone.agent).peers.size() << " peers");
  CHECK(assigns.at(lone.agent).peers.size() <= 96);
}

TEST_CASE("stability: one join or leave changes O(k) assignments") {
  Assignment a({});
  auto live = live_set(1000);
  a.update(live, {});
  std::mt19937 rng(7);
  std::size_t worst = 0, sum = 0, rounds = 0;
  int next = 1000;
  for (int i = 0, n = mutuo::test::scaled(60); i < n; ++i) {
    std::set<std::string> touched;
    if (i % 2 == 0) {
      Peer p = peer(next++);
      live.emplace(p.agent, p);
      touched.insert(p.agent);
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      touched.insert(it->first);
      live.erase(it);
    }
    auto changed = a.update(live, {}, i % 4 < 2 ? &touched : nullptr);
    worst = std::max(worst, changed.size());
    sum += changed.size();
    ++rounds;
  }
  MESSAGE("assignments changed per join/leave at N=1000, k=16: mean "
          << static_cast<double>(sum) / rounds << ", max " << worst);
  CHECK(worst <= 4 * 16);
  CHECK(static_cast<double>(sum) / rounds <= 3 * 16);
  CHECK(a.assigns() == assign_all(live, {}, {}));  // told what changed, or finding out alone
}

TEST_CASE("stability: a peer's new address changes only its observers' assignments") {
  Assignment a({});
  auto live = live_set(300);
  a.update(live, {});
  live.at("agent-5").addrs = {"192.0.2.99"};
  auto changed = a.update(live, {});
  auto observers = a.observers_of("agent-5");
  CHECK(changed == std::set<std::string>(observers.begin(), observers.end()));
}

TEST_CASE("determinism: churn applied step by step equals a fresh computation") {
  Assignment incremental({});
  auto live = live_set(400);
  incremental.update(live, {});
  std::mt19937 rng(11);
  int next = 400;
  for (int round = 0, n = std::max(11, mutuo::test::scaled(20)); round < n; ++round) {
    for (int j = 0; j < 5; ++j) {  // a burst: several leaves and joins in one update
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      live.erase(it);
      Peer p = peer(next++);
      live.emplace(p.agent, p);
    }
    if (round == 10) live.at(live.begin()->first).labels["site"] = "moved";  // a label change
    incremental.update(live, {});
  }
  CHECK(incremental.assigns() == assign_all(live, {}, {}));
}

TEST_CASE("determinism: crossing the full-mesh size both ways") {
  Assignment a({});
  auto live = live_set(60);
  a.update(live, {});
  CHECK_FALSE(a.sparse());
  for (int i = 60; i < 80; ++i) live.emplace("agent-" + std::to_string(i), peer(i));
  a.update(live, {});
  CHECK(a.sparse());
  CHECK(a.assigns() == assign_all(live, {}, {}));
  while (live.size() > 50) live.erase(live.begin());
  a.update(live, {});
  CHECK_FALSE(a.sparse());
  CHECK(a.assigns() == assign_all(live, {}, {}));
}

TEST_CASE("rendezvous scores are fixed: the same on every run and platform") {
  // Pinned values: a change here would reshuffle every deployment on upgrade.
  CHECK(rendezvous_score("fra-1", "ams-2") == 0xb02dbe992b8e3e72ULL);
  CHECK(rendezvous_score("ams-2", "fra-1") == 0x0f3b7c6d338069ffULL);  // not symmetric
}

TEST_CASE("checks: placed on `observers` eligible agents, spread, and handed over") {
  auto live = live_set(200);
  std::map<std::string, Check> checks;
  Check web;
  web.check = "web-home";
  web.type = "http";
  web.url = "https://example.org/";
  web.observers = 6;
  checks[web.check] = web;
  Check fra = web;
  fra.check = "web-fra";
  fra.selector = {{"site", "fra"}};
  fra.observers = 3;
  checks[fra.check] = fra;
  Check listed = web;
  listed.check = "db-port";
  listed.type = "tcp";
  listed.url = "";
  listed.host = "db.example.org";
  listed.port = 5432;
  listed.agents = {"agent-1", "agent-2", "gone-agent"};
  listed.observers = 5;
  checks[listed.check] = listed;

  Assignment a({});
  a.update(live, checks);
  auto on_web = a.check_observers("web-home");
  CHECK(on_web.size() == 6);
  std::set<std::string> sites;
  for (const auto& o : on_web) sites.insert(live.at(o).labels.at("site"));
  CHECK(sites.size() == 6);  // one per site
  for (const auto& o : a.check_observers("web-fra")) CHECK(live.at(o).labels.at("site") == "fra");
  CHECK(a.check_observers("web-fra").size() == 3);
  CHECK(a.check_observers("db-port") == std::vector<std::string>{"agent-1", "agent-2"});

  const Assign& one = a.assigns().at("agent-1");
  auto has = [](const Assign& x, const std::string& check) {
    return std::any_of(x.checks.begin(), x.checks.end(),
                       [&](const CheckTarget& c) { return c.check == check; });
  };
  CHECK(has(one, "db-port"));
  for (const auto& c : one.checks) {
    if (c.check == "db-port") {
      CHECK(c.host == "db.example.org");
      CHECK(c.port == 5432);
    }
  }

  // Removing a check, or an observer leaving, moves only what it must.
  checks.erase("db-port");
  auto changed = a.update(live, checks);
  CHECK(changed == std::set<std::string>{"agent-1", "agent-2"});
  CHECK_FALSE(has(a.assigns().at("agent-1"), "db-port"));
  std::string leaver = on_web.front();
  live.erase(leaver);
  a.update(live, checks);
  auto after = a.check_observers("web-home");
  CHECK(after.size() == 6);
  CHECK(std::count(after.begin(), after.end(), leaver) == 0);
  std::vector<std::string> kept;
  std::set_intersection(on_web.begin(), on_web.end(), after.begin(), after.end(),
                        std::back_inserter(kept));
  CHECK(kept.size() == 5);
  CHECK(a.assigns() == assign_all(live, checks, {}));
}

TEST_CASE("leadership: vacant topic claimed once; the last claim the broker orders wins") {
  Leadership a("tracker"), b("tracker-standby");
  auto claim_a = a.claim(1);
  auto claim_b = b.claim(1);
  REQUIRE(claim_a);
  REQUIRE(claim_b);
  CHECK(claim_a->retained);
  CHECK(claim_a->topic == kLeaderTopic);
  CHECK_FALSE(a.claim(2));  // not twice while the first is on its way
  // The broker orders a's claim, then b's; both see both, in that order.
  for (Leadership* l : {&a, &b}) {
    l->observe(claim_a->payload);
    l->observe(claim_b->payload);
  }
  CHECK_FALSE(a.leader());
  CHECK(b.leader());
  CHECK_FALSE(a.claim(3));  // somebody leads
  // b dies: its last will empties the topic, a claims and leads.
  a.observe(Leadership::vacate().payload);
  auto again = a.claim(4);
  REQUIRE(again);
  a.observe(again->payload);
  CHECK(a.leader());
  // Garbage on the topic never makes anyone leader.
  a.observe("{not json");
  CHECK_FALSE(a.leader());
  CHECK_FALSE(a.claim(5));
}
