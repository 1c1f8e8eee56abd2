// The dashboard's silences, notification channels, alert history and agent
// label routes (dashboard/api_admin_routes.h), through ApiRouter as the web
// server calls it: what they publish on the bus, what they answer, who may call
// them, and their JSON errors. Real RocksDB for the alert history; no broker.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/messages/channel.h"
#include "common/messages/silence.h"
#include "dashboard/alert_history_view.h"
#include "dashboard/api_admin_routes.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/dynsec_admin.h"
#include "dashboard/registrar.h"
#include "receiver/health/alert_history.h"
#include "tests/unit/test_support.h"

using mutuo::dashboard::HttpRequest;
using mutuo::dashboard::HttpResponse;
using mutuo::dashboard::Role;
using nlohmann::json;

using mutuo::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<mutuo::dashboard::DashboardStore> data =
      std::move(mutuo::dashboard::DashboardStore::open((dir.path / "data").string())).value();
  mutuo::dashboard::Accounts accounts{data.get(), 1000};
  mutuo::dashboard::SessionStore sessions;
  mutuo::dashboard::LoginLimiter limiter;
  mutuo::dashboard::PresenceTable presence;
  std::vector<mutuo::MqttMessage> published;
  bool broker_up = true;
  int64_t now = 1'733'320'000'000;
  std::function<bool(const mutuo::MqttMessage&)> publish = [this](const mutuo::MqttMessage& m) {
    if (!broker_up) return false;
    published.push_back(m);
    return true;
  };
  mutuo::dashboard::DynsecAdmin dynsec{publish};
  mutuo::dashboard::Registrar registrar{data.get(), &dynsec, publish, [this] { return now; }};
  std::unique_ptr<mutuo::health::AlertHistory> history =
      std::move(mutuo::health::AlertHistory::open((dir.path / "history").string(),
                                                  int64_t{90} * 24 * 3600 * 1000))
          .value();
  mutuo::dashboard::AlertHistoryView history_view{(dir.path / "history").string(),
                                                  (dir.path / "history-secondary").string(),
                                                  nullptr, std::chrono::milliseconds(0),
                                                  std::chrono::milliseconds(0)};
  mutuo::dashboard::AdminRoutes admin_routes{{
      .publish = publish,
      .broker_connected = {},
      .now_ms = [this] { return now; },
      .history = &history_view,
      .registrar = &registrar,
  }};
  mutuo::dashboard::ApiRouter router{{
      .presence = &presence,
      .store = [] { return mutuo::dashboard::StoreView::Snapshot{}; },
      .broker_connected = [] { return true; },
      .now_ms = [this] { return now; },
      .index_html = "<!doctype html><title>mutuo</title>",
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
      .registrar = &registrar,
      .publish = publish,
      .admin = &admin_routes,
  }};
  std::string admin, admin_csrf, viewer, viewer_csrf;

  Fixture() {
    auto [a, as] = sessions.create("root", Role::kAdmin, now);
    admin = "mutuo_session=" + a;
    admin_csrf = as.csrf;
    auto [v, vs] = sessions.create("v", Role::kViewer, now);
    viewer = "mutuo_session=" + v;
    viewer_csrf = vs.csrf;
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& cookie, const std::string& csrf = "",
                    const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.cookie = cookie;
    req.csrf_token = csrf;
    req.body = body;
    if (!body.empty()) req.content_type = "application/json";
    req.host = "dash.example";
    return router.handle(req);
  }
  HttpResponse as_admin(const std::string& method, const std::string& target,
                        const json& body = nullptr) {
    return call(method, target, admin, admin_csrf, body.is_null() ? "" : body.dump());
  }
  HttpResponse as_viewer(const std::string& method, const std::string& target,
                         const json& body = nullptr) {
    return call(method, target, viewer, viewer_csrf, body.is_null() ? "" : body.dump());
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

TEST_CASE_FIXTURE(Fixture, "silences: create per peer, check or label, list, change, end") {
  auto r = as_admin("POST", "/api/silences",
                    {{"id", "fra-1-swap"}, {"peer", "fra-1"}, {"duration_s", 3600},
                     {"comment", "disk swap"}});
  REQUIRE(r.status == 201);
  REQUIRE(published.size() == 1);
  CHECK(published[0].topic == "mutuo/v1/silences/fra-1-swap");
  CHECK(published[0].retained);
  CHECK(published[0].qos == 1);
  auto sent = mutuo::decode_silence(published[0].payload);
  REQUIRE(sent);
  CHECK(sent->subject == "peer/fra-1");
  CHECK(sent->starts_ms == now);
  CHECK(sent->ends_ms == now + 3'600'000);
  CHECK(body_of(r)["silence"]["state"] == "active");

  // By check (id generated) and by label, starting later.
  r = as_admin("POST", "/api/silences", {{"check", "web-home"}, {"ends", now + 60'000}});
  REQUIRE(r.status == 201);
  std::string generated = body_of(r)["silence"]["id"];
  CHECK(mutuo::silence_id_of("mutuo/v1/silences/" + generated));
  r = as_admin("POST", "/api/silences",
               {{"id", "fra-works"},
                {"label", {{"key", "site"}, {"value", "fra"}}},
                {"starts", now + 1000},
                {"ends", now + 2000}});
  REQUIRE(r.status == 201);
  CHECK(body_of(r)["silence"]["state"] == "scheduled");

  // Any user lists them; the list shows what the bus says.
  auto list = body_of(as_viewer("GET", "/api/silences"));
  REQUIRE(list["silences"].size() == 3);
  CHECK(list["silences"][0]["id"] == "fra-1-swap");
  CHECK(list["silences"][0]["subject"] == "peer/fra-1");
  CHECK(list["silences"][0]["comment"] == "disk swap");

  // PUT changes what it names and keeps the rest; the same again changes nothing.
  r = as_admin("PUT", "/api/silences/fra-1-swap", {{"ends", now + 10'000}});
  REQUIRE(r.status == 200);
  CHECK(body_of(r)["silence"]["subject"] == "peer/fra-1");
  CHECK(body_of(r)["silence"]["comment"] == "disk swap");
  std::size_t before = published.size();
  r = as_admin("PUT", "/api/silences/fra-1-swap", {{"ends", now + 10'000}});
  CHECK(r.status == 200);
  CHECK(body_of(r)["changed"] == false);
  CHECK(published.size() == before);

  // Ending it removes the retained message.
  r = as_admin("DELETE", "/api/silences/fra-1-swap");
  REQUIRE(r.status == 200);
  CHECK(published.back().topic == "mutuo/v1/silences/fra-1-swap");
  CHECK(published.back().payload.empty());
  CHECK(published.back().retained);
  check_error(as_viewer("GET", "/api/silences/fra-1-swap"), 404, "no silence");
}

TEST_CASE_FIXTURE(Fixture, "silences: bad input, viewers and a broker that refuses") {
  check_error(as_admin("POST", "/api/silences", {{"peer", "fra-1"}}), 400, "ends");
  check_error(as_admin("POST", "/api/silences", {{"ends", now + 1}}), 400, "say what");
  check_error(as_admin("POST", "/api/silences", {{"peer", "Bad/Id"}, {"ends", now + 1}}), 400,
              "subject");
  check_error(as_admin("POST", "/api/silences",
                       {{"peer", "a"}, {"check", "b"}, {"ends", now + 1}}),
              400, "one of");
  check_error(as_admin("POST", "/api/silences", {{"peer", "a"}, {"starts", now}, {"ends", now}}),
              400, "ends");
  check_error(as_admin("POST", "/api/silences", {{"id", "x/y"}, {"peer", "a"}, {"ends", now + 1}}),
              400, "silence ids");
  check_error(call("POST", "/api/silences", admin, admin_csrf, "not json"), 400, "not a JSON");
  check_error(as_viewer("POST", "/api/silences", {{"peer", "a"}, {"ends", now + 1}}), 403,
              "admins only");
  check_error(call("POST", "/api/silences", admin, "", R"({"peer":"a","ends":1})"), 403, "CSRF");
  check_error(call("GET", "/api/silences", ""), 401, "log in");
  check_error(as_admin("PATCH", "/api/silences"), 405, "method");
  check_error(as_admin("DELETE", "/api/silences/nope"), 404, "no silence");
  broker_up = false;
  check_error(as_admin("POST", "/api/silences", {{"peer", "a"}, {"ends", now + 1}}), 502,
              "broker");
  CHECK(body_of(as_admin("GET", "/api/silences"))["silences"].empty());
  REQUIRE(as_admin("POST", "/api/silences", {{"id", "dup"}, {"peer", "a"}, {"ends", now + 1}})
              .status == 502);
}

TEST_CASE_FIXTURE(Fixture, "silences and channels from the bus are what the API lists") {
  mutuo::Silence s{"bus-1", "check/web", "", "", now - 1000, now - 1, ""};
  CHECK(admin_routes.on_message({"mutuo/v1/silences/bus-1", mutuo::encode(s), 1, true}));
  auto list = body_of(as_viewer("GET", "/api/silences"));
  REQUIRE(list["silences"].size() == 1);
  CHECK(list["silences"][0]["state"] == "ended");
  // Invalid ones are refused and counted; the table stays as it was.
  CHECK(admin_routes.on_message({"mutuo/v1/silences/bus-2", "{\"v\":1}", 1, true}));
  CHECK(admin_routes.on_message({"mutuo/v1/silences/other", mutuo::encode(s), 1, true}));
  CHECK(admin_routes.rejected() == 2);
  CHECK(admin_routes.on_message({"mutuo/v1/silences/bus-1", "", 1, true}));
  CHECK(body_of(as_viewer("GET", "/api/silences"))["silences"].empty());

  mutuo::NotificationChannel c;
  c.id = "ops";
  c.url = "https://hooks.example.org/T0/secret";
  CHECK(admin_routes.on_message({"mutuo/v1/channels/ops", mutuo::encode(c), 1, true}));
  CHECK(body_of(as_admin("GET", "/api/channels/ops"))["channel"]["url"] == c.url);
  CHECK_FALSE(admin_routes.on_message({"mutuo/v1/checks/ops", "", 1, true}));
}

TEST_CASE_FIXTURE(Fixture, "channels: admins manage them, viewers see the URL masked") {
  json hook = {{"id", "ops"},
               {"kind", "webhook"},
               {"url", "https://hooks.example.org/T0123/secret?token=abc"},
               {"rate_per_min", 12},
               {"burst", 3}};
  auto r = as_admin("POST", "/api/channels", hook);
  REQUIRE(r.status == 201);
  REQUIRE(published.size() == 1);
  CHECK(published[0].topic == "mutuo/v1/channels/ops");
  CHECK(published[0].retained);
  auto sent = mutuo::decode_channel(published[0].payload);
  REQUIRE(sent);
  CHECK(sent->url == hook["url"]);
  CHECK(sent->rate_per_min == 12);
  CHECK(sent->enabled);

  auto seen = body_of(as_viewer("GET", "/api/channels"));
  CHECK(seen["masked"] == true);
  REQUIRE(seen["channels"].size() == 1);
  CHECK(seen["channels"][0]["url"] == "https://hooks.example.org/***");
  CHECK(seen["channels"][0]["url_masked"] == true);
  CHECK(seen.dump().find("secret") == std::string::npos);
  CHECK(body_of(as_viewer("GET", "/api/channels/ops")).dump().find("secret") ==
        std::string::npos);
  auto full = body_of(as_admin("GET", "/api/channels"));
  CHECK(full["channels"][0]["url"] == hook["url"]);
  CHECK_FALSE(full["channels"][0].contains("url_masked"));

  // Disable in place; the URL is kept.
  r = as_admin("PUT", "/api/channels/ops", {{"enabled", false}});
  REQUIRE(r.status == 200);
  sent = mutuo::decode_channel(published.back().payload);
  REQUIRE(sent);
  CHECK_FALSE(sent->enabled);
  CHECK(sent->url == hook["url"]);

  check_error(as_admin("POST", "/api/channels", hook), 409, "exists");
  check_error(as_admin("POST", "/api/channels", {{"id", "x"}, {"url", "ftp://h/"}}), 400, "url");
  check_error(as_admin("POST", "/api/channels", {{"id", "x"}, {"url", "http://h/"}, {"kind", "sms"}}),
              400, "kind");
  check_error(as_admin("POST", "/api/channels", {{"url", "http://h/"}}), 400, "id");
  check_error(as_admin("POST", "/api/channels",
                       {{"id", "x"}, {"url", "http://h/"}, {"rate_per_min", 0}}),
              400, "rate_per_min");
  check_error(as_admin("PUT", "/api/channels/ops", {{"url", "https://h/***"}, {"url_masked", true}}),
              400, "masked");
  check_error(as_viewer("PUT", "/api/channels/ops", {{"enabled", true}}), 403, "admins only");
  check_error(as_viewer("DELETE", "/api/channels/ops"), 403, "admins only");

  r = as_admin("DELETE", "/api/channels/ops");
  REQUIRE(r.status == 200);
  CHECK(published.back().topic == "mutuo/v1/channels/ops");
  CHECK(published.back().payload.empty());
  check_error(as_admin("GET", "/api/channels/ops"), 404, "no channel");
}

TEST_CASE("mask_url keeps scheme and host only") {
  CHECK(mutuo::mask_url("https://hooks.example.org/T0/B1/xyz") == "https://hooks.example.org/***");
  CHECK(mutuo::mask_url("http://user:pw@h.example:8080/") == "http://h.example:8080/***");
  CHECK(mutuo::mask_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000");
  CHECK(mutuo::mask_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000");
  CHECK(mutuo::mask_url("http://h?token=x") == "http://h/***");
}

TEST_CASE_FIXTURE(Fixture, "alert history: newest first, by subject and time, bounded") {
  auto entry = [](int64_t ts, const std::string& subject, mutuo::HealthState state,
                  const std::string& kind, const std::string& held_back = "") {
    mutuo::health::HistoryEntry e;
    e.ts_ms = ts;
    e.kind = kind;
    e.held_back = held_back;
    e.alert.subject = subject;
    e.alert.state = state;
    e.alert.since_ms = ts;
    e.alert.ts_ms = ts;
    return e;
  };
  REQUIRE(history
              ->append({entry(now - 3000, "peer/fra-1", mutuo::HealthState::kDown, "alert"),
                        entry(now - 2000, "check/web", mutuo::HealthState::kDown, "alert",
                              "silenced:web-deploy"),
                        entry(now - 1000, "peer/fra-1", mutuo::HealthState::kUp, "recovery")})
              .ok());
  auto r = as_viewer("GET", "/api/alerts/history");
  REQUIRE(r.status == 200);
  json j = body_of(r);
  REQUIRE(j["entries"].size() == 3);
  CHECK(j["entries"][0]["kind"] == "recovery");
  CHECK(j["entries"][0]["alert"]["state"] == "up");
  CHECK(j["entries"][1]["held_back"] == "silenced:web-deploy");
  CHECK_FALSE(j["entries"][0].contains("held_back"));

  j = body_of(as_viewer("GET", "/api/alerts/history?subject=peer%2Ffra-1&limit=1"));
  REQUIRE(j["entries"].size() == 1);
  CHECK(j["entries"][0]["subject"] == "peer/fra-1");
  CHECK(j["entries"][0]["kind"] == "recovery");
  j = body_of(as_viewer("GET", "/api/alerts/history?since=" + std::to_string(now - 1500)));
  CHECK(j["entries"].size() == 1);

  check_error(as_viewer("GET", "/api/alerts/history?subject=nope"), 400, "subject");
  check_error(as_viewer("GET", "/api/alerts/history?limit=0"), 400, "limit");
  check_error(as_viewer("GET", "/api/alerts/history?since=yesterday"), 400, "since");
  check_error(as_admin("POST", "/api/alerts/history", json::object()), 405, "method");
  check_error(call("GET", "/api/alerts/history", ""), 401, "log in");
  // /api/alerts itself is still the router's.
  CHECK(as_viewer("GET", "/api/alerts").status == 200);
}

TEST_CASE_FIXTURE(Fixture, "PATCH /api/registry/{id} changes labels and display name in place") {
  mutuo::dashboard::AgentRecord a;
  a.id = "fra-1";
  a.display_name = "Frankfurt 1";
  a.labels = {{"site", "fra"}};
  a.created_ms = a.token_issued_ms = now - 5000;
  REQUIRE(data->put_agent(a).ok());

  auto r = as_admin("PATCH", "/api/registry/fra-1",
                    {{"labels", {{"site", "fra2"}, {"provider", "acme"}}}});
  REQUIRE(r.status == 200);
  json j = body_of(r);
  CHECK(j["agent"]["labels"] == json{{"site", "fra2"}, {"provider", "acme"}});
  CHECK(j["agent"]["display_name"] == "Frankfurt 1");
  CHECK(j["agent"]["token_issued"] == now - 5000);  // same token
  REQUIRE(!published.empty());
  CHECK(published.back().topic == "mutuo/v1/registry/fra-1");
  CHECK(published.back().retained);
  CHECK(json::parse(published.back().payload)["labels"]["site"] == "fra2");
  CHECK(data->agent("fra-1")->labels.at("provider") == "acme");

  r = as_admin("PATCH", "/api/registry/fra-1", {{"display_name", "Frankfurt One"}});
  REQUIRE(r.status == 200);
  CHECK(body_of(r)["agent"]["display_name"] == "Frankfurt One");
  CHECK(body_of(r)["agent"]["labels"]["site"] == "fra2");

  check_error(as_admin("PATCH", "/api/registry/nope", {{"display_name", "x"}}), 404,
              "not registered");
  check_error(as_admin("PATCH", "/api/registry/fra-1", {{"labels", {{"Bad Key", "x"}}}}), 400,
              "label key");
  check_error(as_admin("PATCH", "/api/registry/fra-1", {{"labels", {{"site", 3}}}}), 400,
              "labels");
  check_error(as_admin("PATCH", "/api/registry/fra-1", json::object()), 400, "display_name");
  check_error(as_viewer("PATCH", "/api/registry/fra-1", {{"display_name", "x"}}), 403,
              "admins only");
}
