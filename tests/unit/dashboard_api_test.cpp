// The dashboard's presence table, API documents and routes, from in-memory
// inputs: no broker, no store.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/messages/status.h"
#include "common/topics.h"
#include "dashboard/api_json.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/presence_table.h"
#include "dashboard/web_assets.h"
#include "tests/unit/dashboard_support.h"
#include "tests/unit/test_support.h"

using mutuo::Rtt;
using mutuo::Status;
using mutuo::TargetKind;
using mutuo::dashboard::AgentPresence;
using mutuo::dashboard::PresenceTable;
using mutuo::dashboard::PresenceUpdate;
using mutuo::store::StoredResult;
using nlohmann::json;

using mutuo::test::header;
using mutuo::test::TempDir;

namespace {

std::string online_status(const std::string& agent, int64_t ts) {
  Status s;
  s.agent = agent;
  s.online = true;
  s.ts_ms = ts;
  s.version = "0.1.0";
  s.addrs = {"192.0.2.10"};
  s.echo_port = 7777;
  s.labels = {{"site", "fra"}};
  s.probes = {"udp"};
  return mutuo::encode(s);
}

std::string offline_status(const std::string& agent, int64_t ts, const std::string& reason) {
  Status s;
  s.agent = agent;
  s.online = false;
  s.ts_ms = ts;
  s.reason = reason;
  return mutuo::encode(s);
}

StoredResult udp(const std::string& observer, const std::string& target, int64_t ts, uint32_t sent,
                 uint32_t recv, std::optional<Rtt> rtt = Rtt{0.1, 0.2, 0.4}) {
  StoredResult r;
  r.series = {observer, TargetKind::kPeer, target, "udp"};
  r.result.kind = TargetKind::kPeer;
  r.result.target = target;
  r.result.probe = "udp";
  r.result.ts_ms = ts;
  r.result.sent = sent;
  r.result.recv = recv;
  if (recv > 0) {
    r.result.rtt_ms = rtt;
    r.result.jitter_ms = 0.05;
  }
  return r;
}

AgentPresence presence(const std::string& id, bool online, int64_t seen) {
  AgentPresence a;
  a.id = id;
  a.online = online;
  a.reason = online ? "" : "lost";
  a.seen_ms = seen;
  a.since_ms = seen - 1000;
  return a;
}

}  // namespace

TEST_CASE("presence: an online status adds the agent with what it announced") {
  PresenceTable table;
  CHECK(table.apply(mutuo::topics::status("fra-1"), online_status("fra-1", 1000), true, 5000) ==
        PresenceUpdate::kUpdated);
  auto agents = table.snapshot();
  REQUIRE(agents.size() == 1);
  const auto& a = agents[0];
  CHECK(a.id == "fra-1");
  CHECK(a.online);
  CHECK(a.version == "0.1.0");
  CHECK(a.addrs == std::vector<std::string>{"192.0.2.10"});
  CHECK(a.labels.at("site") == "fra");
  CHECK(a.echo_port == 7777);
  CHECK(a.status_ts_ms == 1000);
  CHECK(a.seen_ms == 5000);
  CHECK(a.since_ms == 1000);  // retained: the status's own time
}

TEST_CASE("presence: going offline keeps the agent with its reason; since follows changes") {
  PresenceTable table;
  auto topic = mutuo::topics::status("fra-1");
  table.apply(topic, online_status("fra-1", 1000), true, 5000);
  table.apply(topic, online_status("fra-1", 2000), false, 6000);
  CHECK(table.snapshot()[0].since_ms == 1000);  // still online: unchanged

  // The last will carries the connect time, so a live transition uses receive time.
  CHECK(table.apply(topic, offline_status("fra-1", 2000, "lost"), false, 9000) ==
        PresenceUpdate::kUpdated);
  auto a = table.snapshot().at(0);
  CHECK_FALSE(a.online);
  CHECK(a.reason == "lost");
  CHECK(a.seen_ms == 9000);
  CHECK(a.since_ms == 9000);
}

TEST_CASE("presence: an empty retained payload clears the agent") {
  PresenceTable table;
  auto topic = mutuo::topics::status("fra-1");
  table.apply(topic, online_status("fra-1", 1000), true, 5000);
  table.apply(mutuo::topics::status("ams-2"), online_status("ams-2", 1000), true, 5000);
  CHECK(table.apply(topic, "", true, 6000) == PresenceUpdate::kCleared);
  auto agents = table.snapshot();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].id == "ams-2");
  CHECK(table.apply(mutuo::topics::status("never-seen"), "", true, 6000) ==
        PresenceUpdate::kCleared);
  CHECK(table.counters().cleared == 2);
}

TEST_CASE("presence: a status whose agent differs from the topic's is rejected") {
  PresenceTable table;
  CHECK(table.apply(mutuo::topics::status("fra-1"), online_status("ams-2", 1000), true, 5000) ==
        PresenceUpdate::kRejected);
  CHECK(table.snapshot().empty());
  CHECK(table.counters().rejected == 1);
}

TEST_CASE("presence: malformed and invalid payloads are counted and change nothing") {
  PresenceTable table;
  auto topic = mutuo::topics::status("fra-1");
  table.apply(topic, online_status("fra-1", 1000), true, 5000);
  CHECK(table.apply(topic, "{not json", false, 6000) == PresenceUpdate::kRejected);
  CHECK(table.apply(topic, R"({"v":1,"agent":"fra-1","state":"dancing","ts":1})", false, 6000) ==
        PresenceUpdate::kRejected);
  CHECK(table.apply(topic, R"({"v":2,"agent":"fra-1","state":"online","ts":1})", false, 6000) ==
        PresenceUpdate::kRejected);
  CHECK(table.apply("mutuo/v1/peers/fra-1", online_status("fra-1", 1000), false, 6000) ==
        PresenceUpdate::kRejected);
  auto c = table.counters();
  CHECK(c.rejected == 4);
  CHECK(c.updated == 1);
  auto agents = table.snapshot();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].online);
  CHECK(agents[0].seen_ms == 5000);
}

TEST_CASE("presence: snapshot is sorted by id") {
  PresenceTable table;
  for (std::string id : {"par-3", "ams-2", "fra-1"}) {
    table.apply(mutuo::topics::status(id), online_status(id, 1000), true, 5000);
  }
  auto agents = table.snapshot();
  REQUIRE(agents.size() == 3);
  CHECK(agents[0].id == "ams-2");
  CHECK(agents[1].id == "fra-1");
  CHECK(agents[2].id == "par-3");
}

TEST_CASE("agents json: states, reasons and last_seen from presence and results") {
  std::vector<AgentPresence> agents = {presence("ams-2", false, 4000),
                                       presence("fra-1", true, 5000)};
  agents[1].version = "0.1.0";
  agents[1].addrs = {"192.0.2.10"};
  agents[1].labels = {{"site", "fra"}};
  // ams-2 reported results after its last status; fra-1's newest result is older.
  std::vector<StoredResult> latest = {udp("ams-2", "fra-1", 8000, 10, 10),
                                      udp("ams-2", "par-3", 7000, 10, 10),
                                      udp("fra-1", "ams-2", 3000, 10, 10)};
  json j = mutuo::dashboard::agents_json(agents, latest, 10000, true);
  CHECK(j["now"] == 10000);
  CHECK(j["broker_connected"] == true);
  REQUIRE(j["agents"].size() == 2);
  const json& ams = j["agents"][0];
  CHECK(ams["id"] == "ams-2");
  CHECK(ams["state"] == "offline");
  CHECK(ams["reason"] == "lost");
  CHECK(ams["last_seen"] == 8000);
  CHECK(ams["since"] == 3000);
  const json& fra = j["agents"][1];
  CHECK(fra["id"] == "fra-1");
  CHECK(fra["state"] == "online");
  CHECK(fra["reason"].is_null());
  CHECK(fra["version"] == "0.1.0");
  CHECK(fra["addrs"] == json::array({"192.0.2.10"}));
  CHECK(fra["labels"] == json{{"site", "fra"}});
  CHECK(fra["last_seen"] == 5000);
}

TEST_CASE("matrix json: cells from udp peer results, agents are the union") {
  std::vector<AgentPresence> agents = {presence("fra-1", true, 5000),
                                       presence("zrh-9", true, 5000)};
  StoredResult check;
  check.series = {"fra-1", TargetKind::kCheck, "web-home", "http"};
  check.result.kind = TargetKind::kCheck;
  check.result.target = "web-home";
  check.result.probe = "http";
  check.result.ts_ms = 9000;
  StoredResult icmp = udp("fra-1", "lon-4", 9000, 3, 3);
  icmp.series.probe = icmp.result.probe = "icmp";

  std::vector<StoredResult> latest = {
      udp("fra-1", "ams-2", 9500, 10, 10, Rtt{0.1, 0.21, 0.4}), udp("ams-2", "fra-1", 9000, 10, 0),
      udp("ams-2", "par-3", 9800, 4, 3, Rtt{10, 12, 15}), check, icmp};
  json j = json::parse(mutuo::dashboard::matrix_text(agents, latest, 10000, true));
  CHECK(j["now"] == 10000);
  CHECK(j["store_available"] == true);
  CHECK(j["agents"] == json::array({"ams-2", "fra-1", "par-3", "zrh-9"}));
  const json& cells = j["cells"];
  REQUIRE(cells.size() == 3);

  CHECK(cells[0]["observer"] == "ams-2");
  CHECK(cells[0]["target"] == "fra-1");
  CHECK(cells[0]["loss"] == 1.0);
  CHECK(cells[0]["rtt_ms"].is_null());
  CHECK(cells[0]["jitter_ms"].is_null());
  CHECK(cells[0]["sent"] == 10);
  CHECK(cells[0]["recv"] == 0);

  CHECK(cells[1]["target"] == "par-3");
  CHECK(cells[1]["loss"].get<double>() == doctest::Approx(0.25));
  CHECK(cells[1]["age_ms"] == 200);

  const json& c = cells[2];
  CHECK(c["observer"] == "fra-1");
  CHECK(c["target"] == "ams-2");
  CHECK(c["probe"] == "udp");
  CHECK(c["ts"] == 9500);
  CHECK(c["age_ms"] == 500);
  CHECK(c["loss"] == 0.0);
  CHECK(c["rtt_ms"]["min"] == 0.1);
  CHECK(c["rtt_ms"]["avg"] == 0.21);
  CHECK(c["rtt_ms"]["max"] == 0.4);
  CHECK(c["jitter_ms"] == 0.05);
  CHECK_FALSE(c.contains("error"));
}

TEST_CASE("matrix json: empty inputs give an empty matrix, not an error") {
  json j = json::parse(mutuo::dashboard::matrix_text({}, {}, 10000, false));
  CHECK(j["agents"] == json::array());
  CHECK(j["cells"] == json::array());
  CHECK(j["store_available"] == false);
}

TEST_CASE("matrix json: a result from the future has age 0 and counts without sent") {
  StoredResult r = udp("fra-1", "ams-2", 12000, 10, 10);
  r.result.sent.reset();
  r.result.recv.reset();
  r.result.error = "unsupported";
  json j = json::parse(mutuo::dashboard::matrix_text({}, {r}, 10000, true));
  REQUIRE(j["cells"].size() == 1);
  CHECK(j["cells"][0]["age_ms"] == 0);
  CHECK(j["cells"][0]["loss"].is_null());
  CHECK(j["cells"][0]["sent"].is_null());
  CHECK(j["cells"][0]["error"] == "unsupported");
}

TEST_CASE("matrix text: every cell is cell_json's, plus p50_ms, and it parses back") {
  // The page merges live cells (cell_json) into the matrix: one shape for both.
  std::vector<StoredResult> latest = {
      udp("fra-1", "ams-2", 9500, 10, 10, Rtt{0.1, 0.21, 0.4}), udp("ams-2", "fra-1", 9000, 10, 0),
      udp("b\"q\\uote\n", "\xc3\xa9t\xc3\xa9-1", 12000, 4, 3, Rtt{1e-7, 12.5, 1e9}),
      udp("zrh-9", "ams-2", 9900, 3, 3)};
  latest[1].result.error = "timeout \"quoted\" \x01";
  latest[3].result.sent.reset();
  latest[3].result.recv.reset();
  latest[3].result.jitter_ms.reset();
  const std::vector<std::optional<double>> p50 = {0.2, std::nullopt, 12.25, 1.5};
  json j = json::parse(
      mutuo::dashboard::matrix_text({presence("lon-4", true, 5000)}, latest, 10000, true, &p50));
  CHECK(j["agents"] ==
        json::array({"ams-2", "b\"q\\uote\n", "fra-1", "lon-4", "zrh-9", "\xc3\xa9t\xc3\xa9-1"}));
  REQUIRE(j["cells"].size() == latest.size());
  for (const json& cell : j["cells"]) {
    auto it = std::find_if(latest.begin(), latest.end(), [&cell](const StoredResult& r) {
      return r.series.observer == cell["observer"] && r.series.target == cell["target"];
    });
    REQUIRE(it != latest.end());
    json expected =
        mutuo::dashboard::cell_json(it->series.observer, it->series.target, it->result, 10000);
    expected["p50_ms"] = p50[static_cast<std::size_t>(it - latest.begin())]
                             ? json(*p50[static_cast<std::size_t>(it - latest.begin())])
                             : json(nullptr);
    CHECK(cell == expected);
  }
}

TEST_CASE("matrix text: NaN or infinite values are written as null, the JSON stays valid") {
  StoredResult r = udp("fra-1", "ams-2", 9500, 10, 10, Rtt{0.1, 0.2, 0.3});
  r.result.jitter_ms = std::numeric_limits<double>::quiet_NaN();
  r.result.rtt_ms->max = std::numeric_limits<double>::infinity();
  const std::vector<std::optional<double>> p50 = {-std::numeric_limits<double>::infinity()};
  json j = json::parse(mutuo::dashboard::matrix_text({}, {r}, 10000, true, &p50));
  CHECK(j["cells"][0]["jitter_ms"].is_null());
  CHECK(j["cells"][0]["rtt_ms"]["max"].is_null());
  CHECK(j["cells"][0]["p50_ms"].is_null());
  json c = json::parse(mutuo::dashboard::matrix_compact_text({}, {r}, 10000, true, &p50));
  CHECK(c["cells"][0][7].is_null());
}

namespace {

// A scratch directory removed at the end of the test.
struct RouterFixture {
  TempDir dir;
  std::unique_ptr<mutuo::dashboard::DashboardStore> store =
      std::move(mutuo::dashboard::DashboardStore::open((dir.path / "data").string())).value();
  mutuo::dashboard::Accounts accounts{store.get(), 1000};
  mutuo::dashboard::SessionStore sessions;
  mutuo::dashboard::LoginLimiter limiter;
  PresenceTable table;
  std::vector<StoredResult> latest = {udp("fra-1", "ams-2", 9500, 10, 10)};
  mutuo::dashboard::ApiRouter router{{
      .presence = &table,
      .store =
          [this] {
            return mutuo::dashboard::StoreView::Snapshot{true, latest};
          },
      .broker_connected = [] { return false; },
      .now_ms = [] { return int64_t{10000}; },
      .index_html = "<!doctype html><title>mutuo</title>",
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
  }};
  std::string cookie;  // a viewer's session

  RouterFixture() {
    table.apply(mutuo::topics::status("fra-1"), online_status("fra-1", 1000), true, 5000);
    cookie = std::string("mutuo_session=") +
             sessions.create("v", mutuo::dashboard::Role::kViewer, 10000).first;
  }

  mutuo::dashboard::HttpResponse call(const std::string& method, const std::string& path) {
    mutuo::dashboard::HttpRequest req;
    req.method = method;
    req.path = path;
    req.cookie = cookie;
    return router.handle(req);
  }
};

}  // namespace

TEST_CASE_FIXTURE(RouterFixture, "routes: API answers are uncached JSON") {
  auto r = call("GET", "/api/agents");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(header(r, "Cache-Control") == "no-store");
  CHECK(header(r, "X-Content-Type-Options") == "nosniff");
  json j = json::parse(r.body);
  CHECK(j["agents"][0]["id"] == "fra-1");
  CHECK(j["agents"][0]["last_seen"] == 9500);
  CHECK(j["broker_connected"] == false);

  r = call("GET", "/api/matrix");
  CHECK(r.status == 200);
  j = json::parse(r.payload());  // a cached, shared answer
  CHECK(j["agents"] == json::array({"ams-2", "fra-1"}));
  CHECK(j["cells"].size() == 1);

  r = call("GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(json::parse(r.body) == json{{"ok", true}});
}

TEST_CASE_FIXTURE(RouterFixture, "routes: the page, 404 and 405") {
  auto r = call("GET", "/");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body == "<!doctype html><title>mutuo</title>");
  CHECK(header(r, "X-Content-Type-Options") == "nosniff");
  CHECK_FALSE(header(r, "Content-Security-Policy").empty());

  r = call("GET", "/api/nope");
  CHECK(r.status == 404);
  CHECK(json::parse(r.body) == json{{"error", "not found"}});
  CHECK(call("GET", "/index.html").status == 404);

  r = call("POST", "/api/agents");
  CHECK(r.status == 405);
  CHECK(json::parse(r.body).contains("error"));
  CHECK(header(r, "Allow") == "GET, HEAD");
  CHECK(call("DELETE", "/").status == 405);
  CHECK(call("HEAD", "/healthz").status == 200);
}

TEST_CASE("the embedded page is the UI, with the hooks the browser tests use") {
  std::string_view page = mutuo::dashboard::index_html();
  CHECK(page.starts_with("<!doctype html>"));
  CHECK(page.find("<title>mutuo</title>") != std::string_view::npos);
  CHECK(page.find("id=\"agents\"") != std::string_view::npos);
  CHECK(page.find("data-observer") != std::string_view::npos);
  CHECK(page.find("innerHTML") == std::string_view::npos);
}
