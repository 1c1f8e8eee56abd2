// The v1 topic tree (DESIGN.md, "Topic tree"): builders, parse() and id syntax.
#include "common/topics.h"

#include <doctest/doctest.h>

#include <string>

#include "common/ids.h"

using mutuo::valid_id;
namespace topics = mutuo::topics;
using Kind = topics::Kind;

TEST_CASE("builders produce the documented topic strings") {
  CHECK(topics::status("fra-1") == "mutuo/v1/agents/fra-1/status");
  CHECK(topics::peer("fra-1") == "mutuo/v1/peers/fra-1");
  CHECK(topics::assign("fra-1") == "mutuo/v1/assign/fra-1");
  CHECK(topics::results("fra-1") == "mutuo/v1/results/fra-1");
  CHECK(topics::acks("fra-1") == "mutuo/v1/acks/fra-1");
  CHECK(topics::check("web-home") == "mutuo/v1/checks/web-home");
}

TEST_CASE("subscription filters cover exactly one level of ids") {
  CHECK(std::string(topics::kAllStatus) == "mutuo/v1/agents/+/status");
  CHECK(std::string(topics::kAllPeers) == "mutuo/v1/peers/+");
  CHECK(std::string(topics::kAllAssign) == "mutuo/v1/assign/+");
  CHECK(std::string(topics::kAllResults) == "mutuo/v1/results/+");
  CHECK(std::string(topics::kAllChecks) == "mutuo/v1/checks/+");
}

TEST_CASE("parse() inverts every builder") {
  struct Case {
    std::string topic;
    Kind kind;
    std::string id;
  };
  const Case cases[] = {
      {topics::status("fra-1"), Kind::kStatus, "fra-1"},
      {topics::peer("ams-2"), Kind::kPeer, "ams-2"},
      {topics::assign("par-3"), Kind::kAssign, "par-3"},
      {topics::results("lon-1"), Kind::kResults, "lon-1"},
      {topics::acks("0"), Kind::kAcks, "0"},
      {topics::check("web-home"), Kind::kCheck, "web-home"},
      // An id may look like a topic keyword.
      {topics::status("status"), Kind::kStatus, "status"},
      {topics::peer("agents"), Kind::kPeer, "agents"},
      {topics::results("results"), Kind::kResults, "results"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.topic);
    auto p = topics::parse(c.topic);
    REQUIRE(p.has_value());
    CHECK(p->kind == c.kind);
    CHECK(p->id == c.id);
  }
}

TEST_CASE("parse() refuses topics outside the tree") {
  const char* bad[] = {
      "",
      "mutuo/v1/",
      "mutuo/v1",
      "mutuo/v2/peers/fra-1",
      "Mutuo/v1/peers/fra-1",
      "/mutuo/v1/peers/fra-1",
      "x/mutuo/v1/peers/fra-1",
      "mutuo//v1/peers/fra-1",
      "mutuo/v1/peer/fra-1",
      "mutuo/v1/registry/fra-1",  // in the tree, but not one parse() knows
      "mutuo/v1/alerts/peer/fra-1",
      "mutuo/v1/agents/fra-1",
      "mutuo/v1/agents/fra-1/statu",
      "mutuo/v1/agents/status",
      "mutuo/v1/agents//status",
  };
  for (const char* t : bad) {
    INFO("t: " << std::string(t));
    CHECK_FALSE(topics::parse(t).has_value());
  }
}

TEST_CASE("parse() refuses extra segments") {
  const char* bad[] = {
      "mutuo/v1/peers/fra-1/",
      "mutuo/v1/peers/fra-1/x",
      "mutuo/v1/peers//fra-1",
      "mutuo/v1/assign/fra-1/extra",
      "mutuo/v1/results/a/b",
      "mutuo/v1/acks/fra-1/",
      "mutuo/v1/checks/web/home",
      "mutuo/v1/agents/fra-1/status/x",
      "mutuo/v1/agents/fra-1/x/status",
      "mutuo/v1/agents/fra-1/status/",
  };
  for (const char* t : bad) {
    INFO("t: " << std::string(t));
    CHECK_FALSE(topics::parse(t).has_value());
  }
}

TEST_CASE("parse() refuses every malformed id, for every kind") {
  const std::string bad_ids[] = {
      "",  "A",  "Fra-1", "a/b", "+",   "#",    "fra+1", "fra#1", "-fra", "fra_1",
      "fra.1", "fra 1", "fra\t1", std::string("fra\0", 4), "\xc3\xa9", std::string(64, 'a'),
  };
  for (const std::string& id : bad_ids) {
    CAPTURE(id);
    CHECK_FALSE(topics::parse(topics::status(id)).has_value());
    CHECK_FALSE(topics::parse(topics::peer(id)).has_value());
    CHECK_FALSE(topics::parse(topics::assign(id)).has_value());
    CHECK_FALSE(topics::parse(topics::results(id)).has_value());
    CHECK_FALSE(topics::parse(topics::acks(id)).has_value());
    CHECK_FALSE(topics::parse(topics::check(id)).has_value());
  }
}

TEST_CASE("parse() accepts ids up to 63 characters") {
  const std::string longest = "a" + std::string(61, '-') + "z";
  REQUIRE(longest.size() == 63);
  auto p = topics::parse(topics::results(longest));
  REQUIRE(p.has_value());
  CHECK(p->id == longest);
  CHECK_FALSE(topics::parse(topics::results(longest + "z")).has_value());
}

TEST_CASE("valid_id: [a-z0-9][a-z0-9-]{0,62}") {
  CHECK(valid_id("a"));
  CHECK(valid_id("0"));
  CHECK(valid_id("fra-1"));
  CHECK(valid_id("1-2-3"));
  CHECK(valid_id("a-"));  // a trailing hyphen is allowed by the pattern
  CHECK(valid_id(std::string(63, 'a')));
  CHECK(valid_id("z" + std::string(62, '9')));
  CHECK(mutuo::kMaxIdLength == 63);

  CHECK_FALSE(valid_id(""));
  CHECK_FALSE(valid_id(std::string(64, 'a')));
  CHECK_FALSE(valid_id("-a"));
  CHECK_FALSE(valid_id("A"));
  CHECK_FALSE(valid_id("aB"));
  CHECK_FALSE(valid_id("a/b"));
  CHECK_FALSE(valid_id("+"));
  CHECK_FALSE(valid_id("#"));
  CHECK_FALSE(valid_id("a_b"));
  CHECK_FALSE(valid_id("a.b"));
  CHECK_FALSE(valid_id("a b"));
  CHECK_FALSE(valid_id(std::string("a\0b", 3)));
  CHECK_FALSE(valid_id("\xc3\xa9"));
}
