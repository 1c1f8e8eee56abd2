// Who is at fault (receiver/health/health_engine.h): an observer whose own link
// is down is "isolated" and its votes are set aside; failures clustering by label
// on both sides are one partition; one-way loss is flagged.
#include <doctest/doctest.h>

#include <functional>

#include "health_fixtures.h"
#include "receiver/health/health_engine.h"

using namespace health_fixtures;
using mutuo::HealthState;
using mutuo::health::HealthEngine;

namespace {

using Recv = std::function<uint32_t(const std::string&, const std::string&)>;

void rounds(HealthEngine& e, const std::vector<std::string>& mesh, int n, const Recv& recv) {
  for (int i = 1; i <= n; ++i) {
    for (const auto& o : mesh) {
      for (const auto& t : mesh) {
        if (o != t) e.observe(o, udp(t, i * kRound, recv(o, t)));
      }
    }
  }
}

}  // namespace

TEST_CASE("an observer cut off from the network is isolated and no target goes down") {
  const std::vector<std::string> mesh = {"a", "b", "c", "d", "e"};
  HealthEngine e;
  for (const auto& a : mesh) e.presence(online(a));
  // e's link is cut: nothing gets through to or from e.
  rounds(e, mesh, 6, [](const std::string& o, const std::string& t) -> uint32_t {
    return o == "e" || t == "e" ? 0 : 10;
  });
  auto alerts = e.evaluate(6 * kRound);
  CHECK(e.isolated() == std::set<std::string>{"e"});
  for (const char* t : {"peer/a", "peer/b", "peer/c", "peer/d"}) {
    CAPTURE(t);
    const auto& a = find(alerts, t);
    CHECK(a.state == HealthState::kUp);
    CHECK(a.observers.at("e") == "isolated");  // its vote set aside, its evidence kept
    CHECK(a.evidence.at("e").failures == 6);
  }
  const auto& self = find(alerts, "peer/e");
  CHECK(self.state == HealthState::kDown);
  CHECK(self.cause == "observer-isolated");
  CHECK(count_state(alerts, HealthState::kDown) == 1);
}

TEST_CASE("an observer failing toward everyone while others reach it is isolated, degraded") {
  const std::vector<std::string> mesh = {"a", "b", "c", "d"};
  HealthEngine e;
  // d's outbound probes fail (say a firewall), the others reach d fine.
  rounds(e, mesh, 6,
         [](const std::string& o, const std::string&) -> uint32_t { return o == "d" ? 0 : 10; });
  auto alerts = e.evaluate(6 * kRound);
  CHECK(e.isolated() == std::set<std::string>{"d"});
  CHECK(find(alerts, "peer/d").state == HealthState::kDegraded);
  CHECK(find(alerts, "peer/d").cause == "observer-isolated");
  CHECK(count_state(alerts, HealthState::kUp) == 3);
}

TEST_CASE("a dead target does not make its observers isolated") {
  const std::vector<std::string> mesh = {"a", "b", "c"};
  HealthEngine e;
  rounds(e, mesh, 6,
         [](const std::string&, const std::string& t) -> uint32_t { return t == "c" ? 0 : 10; });
  CHECK(e.isolated().empty());
  CHECK(find(e.evaluate(6 * kRound), "peer/c").state == HealthState::kDown);
}

TEST_CASE("two sites cut from each other are one partition, not N x M outages") {
  const std::vector<std::string> fra = {"f1", "f2", "f3"}, ams = {"a1", "a2", "a3"};
  std::vector<std::string> mesh = fra;
  mesh.insert(mesh.end(), ams.begin(), ams.end());
  HealthEngine e;
  for (const auto& a : fra) e.presence(online(a, {{"site", "fra"}, {"provider", "acme"}}));
  for (const auto& a : ams) e.presence(online(a, {{"site", "ams"}, {"provider", "acme"}}));
  auto site = [](const std::string& id) { return id[0]; };
  rounds(e, mesh, 6, [&](const std::string& o, const std::string& t) -> uint32_t {
    return site(o) == site(t) ? 10 : 0;
  });
  auto alerts = e.evaluate(6 * kRound);
  CHECK(e.isolated().empty());
  CHECK(count_state(alerts, HealthState::kDown) == 1);
  const auto& p = find(alerts, "partition/site/ams/fra");
  CHECK(p.state == HealthState::kDown);
  CHECK(p.cause == "partition");
  REQUIRE(p.partition.has_value());
  CHECK(p.partition->label == "site");
  CHECK(p.partition->a == "ams");
  CHECK(p.partition->b == "fra");
  CHECK(p.observers.size() == 6);
  // Each agent's cross-site votes are set aside; its own site still votes.
  const auto& f1 = find(alerts, "peer/f1");
  CHECK(f1.observers.at("a1") == "partition");
  CHECK(f1.observers.at("f2") == "ok");
  CHECK(f1.state == HealthState::kUp);

  // Healed: the partition subject is reported up once more.
  for (int i = 7; i <= 14; ++i) {
    for (const auto& o : mesh) {
      for (const auto& t : mesh) {
        if (o != t) e.observe(o, udp(t, i * kRound, 10));
      }
    }
  }
  auto healed = e.evaluate(14 * kRound);
  CHECK(find(healed, "partition/site/ams/fra").state == HealthState::kUp);
  CHECK(count_state(healed, HealthState::kDown) == 0);
}

TEST_CASE("a site whose agents cannot reach each other either is no partition") {
  const std::vector<std::string> mesh = {"f1", "f2", "a1", "a2"};
  HealthEngine e;
  for (const char* a : {"f1", "f2"}) e.presence(online(a, {{"site", "fra"}}));
  for (const char* a : {"a1", "a2"}) e.presence(online(a, {{"site", "ams"}}));
  // ams is broken inside too: everything toward a1 and a2 fails.
  rounds(e, mesh, 6,
         [](const std::string&, const std::string& t) -> uint32_t { return t[0] == 'a' ? 0 : 10; });
  auto alerts = e.evaluate(6 * kRound);
  for (const auto& a : alerts) CHECK(a.subject.rfind("partition/", 0) != 0);
  CHECK(find(alerts, "peer/a1").state == HealthState::kDown);
}

TEST_CASE("one-way loss: A->B fails while B->A is fine") {
  const std::vector<std::string> mesh = {"a", "b", "c", "d"};
  HealthEngine e;
  rounds(e, mesh, 6, [](const std::string& o, const std::string& t) -> uint32_t {
    return o == "a" && t == "b" ? 0 : 10;
  });
  auto alerts = e.evaluate(6 * kRound);
  const auto& b = find(alerts, "peer/b");
  CHECK(b.one_way == std::vector<std::string>{"a"});
  CHECK(b.state == HealthState::kUp);  // one path, no quorum
  CHECK(find(alerts, "peer/a").one_way.empty());
}

TEST_CASE("loss both ways is not one-way") {
  const std::vector<std::string> mesh = {"a", "b", "c"};
  HealthEngine e;
  rounds(e, mesh, 6, [](const std::string& o, const std::string& t) -> uint32_t {
    return (o == "a" && t == "b") || (o == "b" && t == "a") ? 5 : 10;
  });
  auto alerts = e.evaluate(6 * kRound);
  CHECK(find(alerts, "peer/a").one_way.empty());
  CHECK(find(alerts, "peer/b").one_way.empty());
}

TEST_CASE("a healed partition leaves no subject degraded by the failures it explained") {
  const std::vector<std::string> fra = {"f1", "f2", "f3"}, ams = {"a1", "a2", "a3"};
  std::vector<std::string> mesh = fra;
  mesh.insert(mesh.end(), ams.begin(), ams.end());
  HealthEngine e;
  for (const auto& a : fra) e.presence(online(a, {{"site", "fra"}}));
  for (const auto& a : ams) e.presence(online(a, {{"site", "ams"}}));
  auto cross = [](const std::string& o, const std::string& t) { return o[0] != t[0]; };
  rounds(e, mesh, 6, [&](const std::string& o, const std::string& t) -> uint32_t {
    return cross(o, t) ? 0 : 10;
  });
  REQUIRE(find(e.evaluate(6 * kRound), "partition/site/ams/fra").state == HealthState::kDown);
  // One round later every path answers again: the windows still hold 5 failed
  // results of 6, but those were the partition's, not the targets'.
  for (const auto& o : mesh) {
    for (const auto& t : mesh) {
      if (o != t) e.observe(o, udp(t, 7 * kRound, 10));
    }
  }
  auto healed = e.evaluate(7 * kRound);
  CHECK(find(healed, "partition/site/ams/fra").state == HealthState::kUp);
  for (const auto& a : mesh) {
    CAPTURE(a);
    CHECK(find(healed, "peer/" + a).state == HealthState::kUp);
  }
}

TEST_CASE("without a fault that explains them, a path's old failures still count") {
  // A target that was down for everyone and answers again is degraded while
  // its observers' windows still hold the outage (nobody else was to blame).
  const std::vector<std::string> mesh = {"a", "b", "c", "d"};
  HealthEngine e;
  rounds(e, mesh, 6,
         [](const std::string&, const std::string& t) -> uint32_t { return t == "d" ? 0 : 10; });
  REQUIRE(find(e.evaluate(6 * kRound), "peer/d").state == HealthState::kDown);
  for (const auto& o : mesh) {
    if (o != "d") e.observe(o, udp("d", 7 * kRound, 10));
  }
  CHECK(find(e.evaluate(7 * kRound), "peer/d").state == HealthState::kDegraded);
}
