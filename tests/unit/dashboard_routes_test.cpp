// The routes added for checks, alerts, agent pages, the cached matrix, the
// public status page and the live socket's authentication: answers, errors
// (JSON, right status) and who may call them. In memory: no broker, no store.
#include <doctest/doctest.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/messages/status.h"
#include "common/topics.h"
#include "dashboard/api_json.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/status_page.h"
#include "tests/unit/dashboard_support.h"
#include "tests/unit/test_support.h"

using mutuo::dashboard::HttpRequest;
using mutuo::dashboard::HttpResponse;
using mutuo::dashboard::Role;
using mutuo::store::StoredResult;
using nlohmann::json;

using mutuo::test::header;
using mutuo::test::TempDir;

namespace {

StoredResult udp(const std::string& o, const std::string& t, int64_t ts, uint32_t recv) {
  StoredResult r;
  r.series = {o, mutuo::TargetKind::kPeer, t, "udp"};
  r.result.target = t;
  r.result.probe = "udp";
  r.result.ts_ms = ts;
  r.result.sent = 10;
  r.result.recv = recv;
  if (recv > 0) r.result.rtt_ms = mutuo::Rtt{1.0, 2.0, 4.0};
  return r;
}

StoredResult http(const std::string& o, const std::string& check, int64_t ts, bool ok) {
  StoredResult r;
  r.series = {o, mutuo::TargetKind::kCheck, check, "http"};
  r.result.kind = mutuo::TargetKind::kCheck;
  r.result.target = check;
  r.result.probe = "http";
  r.result.ts_ms = ts;
  r.result.ok = ok;
  r.result.status = ok ? 200 : 503;
  r.result.phase_ms = {{"total", 12.0}};
  return r;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<mutuo::dashboard::DashboardStore> data =
      std::move(mutuo::dashboard::DashboardStore::open((dir.path / "data").string())).value();
  mutuo::dashboard::Accounts accounts{data.get(), 1000};
  mutuo::dashboard::SessionStore sessions;
  mutuo::dashboard::LoginLimiter limiter;
  mutuo::dashboard::PresenceTable presence;
  mutuo::dashboard::RetainedTable<mutuo::Alert> alerts;
  mutuo::dashboard::RetainedTable<mutuo::Check> checks;
  std::vector<StoredResult> latest = {
      udp("fra-1", "ams-2", 9500, 10), udp("ams-2", "fra-1", 9400, 0),
      http("fra-1", "web", 9000, true), http("ams-2", "web", 9100, false)};
  std::vector<mutuo::MqttMessage> published;
  bool broker_up = true;
  int64_t now = 10000;
  mutuo::dashboard::ApiRouter router{{
      .presence = &presence,
      .store =
          [this] {
            return mutuo::dashboard::StoreView::Snapshot{true, latest};
          },
      .broker_connected = [] { return true; },
      .now_ms = [this] { return now; },
      .index_html = "<!doctype html><title>mutuo</title>",
      .series = [](const mutuo::store::SeriesId&, int64_t from, int64_t,
                   std::size_t) -> std::optional<mutuo::store::SeriesData> {
        mutuo::store::SeriesData d;
        d.tier = mutuo::store::Tier::kHour;
        d.step_ms = 3600000;
        mutuo::store::SeriesPoint p;
        p.ts_ms = from + 89LL * 24 * 3600 * 1000;  // the last day
        p.count = 10;
        p.loss = 0.1;
        d.points.push_back(p);
        return d;
      },
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
      .data = data.get(),
      .status_html = "<!doctype html><title>status</title>",
      .alerts = &alerts,
      .checks = &checks,
      .publish =
          [this](const mutuo::MqttMessage& m) {
            if (!broker_up) return false;
            published.push_back(m);
            return true;
          },
  }};
  std::string admin, admin_csrf, viewer, viewer_csrf;

  Fixture() {
    mutuo::Status s;
    s.agent = "fra-1";
    s.online = true;
    s.ts_ms = 1000;
    s.version = "0.1.0";
    s.addrs = {"192.0.2.10"};
    s.echo_port = 7777;
    s.labels = {{"site", "fra"}};
    s.probes = {"udp"};
    presence.apply(mutuo::topics::status("fra-1"), mutuo::encode(s), true, 5000);
    auto [a, as] = sessions.create("root", Role::kAdmin, now);
    admin = "mutuo_session=" + a;
    admin_csrf = as.csrf;
    auto [v, vs] = sessions.create("v", Role::kViewer, now);
    viewer = "mutuo_session=" + v;
    viewer_csrf = vs.csrf;
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& cookie = "", const std::string& csrf = "",
                    const std::string& body = "", const std::string& type = "application/json") {
    HttpRequest req;
    req.method = method;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.cookie = cookie;
    req.csrf_token = csrf;
    req.body = body;
    if (!body.empty()) req.content_type = type;
    req.host = "dash.example";
    return router.handle(req);
  }
  HttpResponse as_admin(const std::string& method, const std::string& target,
                        const json& body = nullptr) {
    return call(method, target, admin, admin_csrf, body.is_null() ? "" : body.dump());
  }
};

json body_of(const HttpResponse& r) { return json::parse(r.payload()); }

void check_error(const HttpResponse& r, int status, const std::string& part) {
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  json j = body_of(r);
  REQUIRE(j.contains("error"));
  CHECK_MESSAGE(j["error"].get<std::string>().find(part) != std::string::npos,
                j["error"].get<std::string>());
}

}  // namespace

TEST_CASE_FIXTURE(Fixture,
                  "checks: create publishes retained, list and detail show state and results") {
  json web = {{"id", "web"},
              {"type", "http"},
              {"url", "http://127.0.0.1:8080/"},
              {"expect_status", {200, 301}},
              {"expect_keyword", "ok"},
              {"interval_s", 10}};
  auto r = as_admin("POST", "/api/checks", web);
  REQUIRE(r.status == 201);
  REQUIRE(published.size() == 1);
  CHECK(published[0].topic == "mutuo/v1/checks/web");
  CHECK(published[0].retained);
  auto sent = mutuo::decode_check(published[0].payload);
  REQUIRE(sent);
  CHECK(sent->url == "http://127.0.0.1:8080/");
  CHECK(sent->expect_status == std::vector<uint16_t>{200, 301});
  CHECK(sent->expect_keyword == "ok");
  json j = body_of(r);
  CHECK(j["state"] == "up");                  // fra-1's newest result succeeded
  CHECK(j["latest"]["observer"] == "ams-2");  // the newest, a failure
  CHECK(j["results"].size() == 2);

  auto list = body_of(call("GET", "/api/checks", viewer));
  REQUIRE(list["checks"].size() == 1);
  CHECK(list["checks"][0]["definition"]["type"] == "http");
  CHECK(list["counts"]["up"] == 1);

  // An alert from the receiver decides the state once it knows one.
  mutuo::Alert down;
  down.subject = "check/web";
  down.state = mutuo::HealthState::kDown;
  alerts.set("check/web", down);
  CHECK(body_of(call("GET", "/api/checks/web", viewer))["state"] == "down");
  down.state = mutuo::HealthState::kUnknown;
  alerts.set("check/web", down);
  CHECK(body_of(call("GET", "/api/checks/web", viewer))["state"] == "up");
}

TEST_CASE_FIXTURE(Fixture, "checks: edit, delete, and every refusal is a JSON error") {
  json tcp = {{"id", "db"}, {"type", "tcp"}, {"host", "db.internal"}, {"port", 5432}};
  REQUIRE(as_admin("POST", "/api/checks", tcp).status == 201);
  check_error(as_admin("POST", "/api/checks", tcp), 409, "exists");
  check_error(as_admin("POST", "/api/checks", {{"type", "tcp"}}), 400, "id");
  check_error(as_admin("POST", "/api/checks", {{"id", "Bad Id"}, {"type", "tcp"}}), 400, "ids");
  check_error(as_admin("POST", "/api/checks", {{"id", "x"}, {"type", "tcp"}, {"host", "h"}}), 400,
              "invalid check");
  check_error(as_admin("POST", "/api/checks", {{"id", "x"}, {"type", "smtp"}}), 400,
              "invalid check");
  check_error(call("POST", "/api/checks", admin, admin_csrf, "{", "application/json"), 400,
              "JSON object");
  check_error(call("POST", "/api/checks", admin, admin_csrf, "id=x", "text/plain"), 415, "json");

  tcp["port"] = 5433;
  auto r = as_admin("PUT", "/api/checks/db", tcp);
  CHECK(r.status == 200);
  CHECK(body_of(r)["definition"]["port"] == 5433);
  check_error(as_admin("PUT", "/api/checks/db", {{"id", "other"}, {"type", "tcp"}}), 400,
              "differs");
  check_error(as_admin("PATCH", "/api/checks/db", tcp), 405, "method");

  broker_up = false;
  check_error(as_admin("DELETE", "/api/checks/db"), 502, "broker");
  broker_up = true;
  r = as_admin("DELETE", "/api/checks/db");
  CHECK(r.status == 200);
  CHECK(published.back().topic == "mutuo/v1/checks/db");
  CHECK(published.back().payload.empty());  // a cleared retained message
  check_error(as_admin("DELETE", "/api/checks/db"), 404, "no check");
  check_error(call("GET", "/api/checks/nothing", viewer), 404, "no check");
}

TEST_CASE_FIXTURE(Fixture, "checks and the status page setting: admins only, with CSRF") {
  json c = {{"id", "web2"}, {"type", "icmp"}, {"host", "192.0.2.1"}};
  check_error(call("GET", "/api/checks"), 401, "log in");
  check_error(call("POST", "/api/checks", "", "", c.dump()), 401, "log in");
  check_error(call("POST", "/api/checks", viewer, viewer_csrf, c.dump()), 403, "admins");
  check_error(call("POST", "/api/checks", admin, "", c.dump()), 403, "CSRF");
  check_error(call("PUT", "/api/status-page", viewer, viewer_csrf, json{{"enabled", true}}.dump()),
              403, "admins");
  check_error(call("PUT", "/api/status-page", admin, "", json{{"enabled", true}}.dump()), 403,
              "CSRF");
  CHECK(published.empty());
  check_error(call("GET", "/api/alerts"), 401, "log in");
  check_error(call("GET", "/api/agents/fra-1"), 401, "log in");
  check_error(call("POST", "/api/alerts", admin, admin_csrf, "{}"), 405, "method");
}

TEST_CASE_FIXTURE(Fixture, "alerts: the list, counts by state and the open ones") {
  mutuo::Alert a;
  a.subject = "peer/ams-2";
  a.state = mutuo::HealthState::kDown;
  a.cause = "target";
  alerts.set(a.subject, a);
  a.subject = "check/web";
  a.state = mutuo::HealthState::kUp;
  a.cause = "";
  alerts.set(a.subject, a);
  json j = body_of(call("GET", "/api/alerts", viewer));
  CHECK(j["alerts"].size() == 2);
  CHECK(j["counts"]["down"] == 1);
  CHECK(j["counts"]["up"] == 1);
  CHECK(j["open"] == 1);
}

TEST_CASE_FIXTURE(Fixture, "agent page: presence, who observes it, whom it observes, its results") {
  json j = body_of(call("GET", "/api/agents/fra-1", viewer));
  CHECK(j["presence"]["state"] == "online");
  CHECK(j["presence"]["labels"]["site"] == "fra");
  CHECK(j["presence"]["last_seen"] == 9500);
  REQUIRE(j["observes"].size() == 1);
  CHECK(j["observes"][0]["target"] == "ams-2");
  REQUIRE(j["observed_by"].size() == 1);
  CHECK(j["observed_by"][0]["observer"] == "ams-2");
  CHECK(j["observed_by"][0]["loss"] == 1.0);
  CHECK(j["results"].size() == 3);  // its udp and http results, and ams-2's udp towards it
  CHECK(j["results"][0]["ts"] == 9500);
  // ams-2 is known only from results; an id nobody knows is 404.
  CHECK(call("GET", "/api/agents/ams-2", viewer).status == 200);
  check_error(call("GET", "/api/agents/nobody", viewer), 404, "no agent");
}

TEST_CASE_FIXTURE(Fixture, "matrix: compact form, cached answers, bad parameter") {
  auto r = call("GET", "/api/matrix?compact=1", viewer);
  REQUIRE(r.status == 200);
  json j = body_of(r);
  CHECK(j["agents"] == json::array({"ams-2", "fra-1"}));
  REQUIRE(j["cells"].size() == 2);
  // The last field is the minute median (p50): null here, no store behind the router.
  CHECK(j["fields"].back() == "p50");
  CHECK(j["cells"][0] ==
        json::array({1, 0, 9500, 10, 10, 1.0, 2.0, 4.0, nullptr, nullptr, nullptr}));
  CHECK(j["cells"][1] ==
        json::array({0, 1, 9400, 10, 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}));
  // Within a second the same bytes are served; after it, a rebuilt answer.
  latest.push_back(udp("ams-2", "zrh-3", 9990, 10));
  auto again = call("GET", "/api/matrix?compact=1", viewer);
  CHECK(again.body == r.body);
  HttpRequest shared;
  shared.method = "GET";
  shared.path = "/api/matrix";
  shared.query = "compact=1";
  shared.cookie = viewer;
  auto first = router.handle_shared(shared);
  REQUIRE(first.shared_body);
  CHECK(router.handle_shared(shared).shared_body == first.shared_body);  // one copy, shared
  now += 1000;
  auto later = call("GET", "/api/matrix?compact=1", viewer);
  CHECK(body_of(later)["cells"].size() == 3);
  check_error(call("GET", "/api/matrix?compact=yes", viewer), 400, "compact");
}

TEST_CASE_FIXTURE(Fixture, "matrix and series: ETag, 304 only after the auth check, gzip") {
  for (std::string path : {"/api/matrix?compact=1", "/api/matrix",
                           "/api/series?observer=fra-1&target=ams-2&range=30d"}) {
    CAPTURE(path);
    HttpRequest req;
    req.method = "GET";
    req.path = path.substr(0, path.find('?'));
    req.query = path.find('?') == std::string::npos ? "" : path.substr(path.find('?') + 1);
    req.cookie = viewer;
    auto plain = router.handle(req);
    REQUIRE(plain.status == 200);
    const std::string etag = header(plain, "ETag");
    REQUIRE(etag.size() > 2);
    CHECK(header(plain, "Cache-Control") == "private, no-cache");
    CHECK(header(plain, "Vary") == "Accept-Encoding");
    // The same answer again: 304, no body.
    req.if_none_match = "\"other\", " + etag;
    auto not_modified = router.handle(req);
    CHECK(not_modified.status == 304);
    CHECK(not_modified.body.empty());
    // Gzip is another representation, with its own tag; the bytes inflate to the body.
    req.if_none_match.clear();
    req.accept_encoding = "gzip, deflate";
    auto packed = router.handle(req);
    REQUIRE(packed.status == 200);
    if (header(packed, "Content-Encoding") == "gzip") {
      CHECK(header(packed, "ETag") != etag);
      CHECK(packed.body.substr(0, 2) == "\x1f\x8b");
      req.if_none_match = etag;  // the plain tag does not name the gzip bytes
      CHECK(router.handle(req).status == 200);
    }
    // A cached answer never skips the login: no session, no 304 and no data.
    req.cookie.clear();
    req.if_none_match = etag;
    check_error(router.handle(req), 401, "log in");
  }
}

TEST_CASE_FIXTURE(Fixture, "status page: off by default, then public, with ids and no secrets") {
  check_error(call("GET", "/status"), 404, "off");
  check_error(call("GET", "/api/public/status"), 404, "off");
  CHECK(body_of(call("GET", "/api/status-page", viewer))["enabled"] == false);
  json bad = {{"enabled", true}, {"checks", {"Not An Id"}}};
  check_error(as_admin("PUT", "/api/status-page", bad), 400, "valid id");
  check_error(as_admin("PUT", "/api/status-page", {{"enabled", "yes"}}), 400, "enabled");
  check_error(as_admin("PUT", "/api/status-page", json::array()), 400, "JSON object");

  REQUIRE(as_admin("POST", "/api/checks",
                   {{"id", "web"}, {"type", "http"}, {"url", "http://10.1.2.3/secret-path"}})
              .status == 201);
  json config = {{"enabled", true}, {"title", "Acme"}, {"checks", {"web"}}, {"peers", {"fra-1"}}};
  REQUIRE(as_admin("PUT", "/api/status-page", config).status == 200);
  auto page = call("GET", "/status");
  CHECK(page.status == 200);
  CHECK(page.content_type.starts_with("text/html"));
  auto r = call("GET", "/api/public/status");
  REQUIRE(r.status == 200);
  std::string text = r.payload();
  CHECK(text.find("10.1.2.3") == std::string::npos);    // the check's URL stays private
  CHECK(text.find("192.0.2.10") == std::string::npos);  // and the agent's address
  json j = json::parse(text);
  CHECK(j["title"] == "Acme");
  REQUIRE(j["checks"].size() == 1);
  CHECK(j["checks"][0]["id"] == "web");
  CHECK(j["checks"][0]["type"] == "http");
  CHECK(j["checks"][0]["uptime"].size() == 90);
  CHECK(j["checks"][0]["uptime"][89].get<double>() == doctest::Approx(0.9));
  CHECK(j["checks"][0]["uptime"][0].is_null());
  REQUIRE(j["peers"].size() == 1);
  CHECK(j["peers"][0]["state"] == "up");
  check_error(call("POST", "/api/public/status", "", "", "{}"), 405, "method");
}

TEST_CASE("daily uptime weighs results by count and leaves empty days null") {
  mutuo::store::SeriesData a, b;
  constexpr int64_t kDay = 24 * 3600 * 1000LL;
  mutuo::store::SeriesPoint p;
  p.ts_ms = 0;
  p.count = 30;
  p.loss = 0.0;
  a.points.push_back(p);
  p.count = 10;
  p.loss = 1.0;
  b.points.push_back(p);
  p.ts_ms = 2 * kDay + 5;
  p.count = 1;
  p.loss = 0.5;
  b.points.push_back(p);
  auto days = mutuo::dashboard::daily_uptime({a, b}, 0, 3);
  REQUIRE(days.size() == 3);
  CHECK(*days[0] == doctest::Approx(0.75));
  CHECK_FALSE(days[1]);
  CHECK(*days[2] == doctest::Approx(0.5));
}

TEST_CASE_FIXTURE(Fixture, "the live socket needs a live session and our own origin") {
  HttpRequest req;
  req.host = "dash.example";
  CHECK_FALSE(router.live_session(req));
  req.cookie = viewer;
  auto id = router.live_session(req);
  REQUIRE(id);
  CHECK(router.session_alive(*id));
  req.origin = "http://evil.example";
  CHECK_FALSE(router.live_session(req));
  req.origin = "http://dash.example";
  CHECK(router.live_session(req));
  sessions.remove(*id);
  CHECK_FALSE(router.session_alive(*id));
}
