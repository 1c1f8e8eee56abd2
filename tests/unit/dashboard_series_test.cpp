// The dashboard's history API: query parsing, the series JSON builder and the
// GET /api/series route (with a fake series source: no store), and the bundled
// uPlot assets.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dashboard/api_json.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/web_assets.h"
#include "tests/unit/test_support.h"

using mutuo::TargetKind;
using mutuo::store::SeriesData;
using mutuo::store::SeriesId;
using mutuo::store::SeriesPoint;
using mutuo::store::Tier;
using nlohmann::json;

TEST_CASE("query_param: finds, decodes and tells absent from empty") {
  using mutuo::dashboard::query_param;
  CHECK(query_param("observer=fra-1&target=ams%2D2", "target") == "ams-2");
  CHECK(query_param("a=1&b=x+y%20z", "b") == "x y z");
  CHECK(query_param("a=1&flag&c=", "flag") == "");
  CHECK(query_param("a=1&c=", "c") == "");
  CHECK_FALSE(query_param("a=1", "b").has_value());
  CHECK_FALSE(query_param("", "a").has_value());
  CHECK(query_param("a=%zz%4", "a") == "%zz%4");  // bad escapes are kept as they are
  CHECK(query_param("ab=1&a=2", "a") == "2");     // whole names only
}

TEST_CASE("series json: columns oldest first, nulls for absent statistics") {
  SeriesData d;
  d.tier = Tier::kMinute;
  d.step_ms = 60000;
  SeriesPoint a;
  a.ts_ms = 60000;
  a.count = 6;
  a.min_ms = 0.1;
  a.p50_ms = 0.2;
  a.p90_ms = 0.3;
  a.max_ms = 0.9;
  a.mean_ms = 0.25;
  a.loss = 0.0;
  SeriesPoint b;  // every packet lost: no RTT statistics
  b.ts_ms = 120000;
  b.count = 6;
  b.loss = 1.0;
  d.points = {a, b};
  json j =
      mutuo::dashboard::series_json({"fra-1", TargetKind::kPeer, "ams-2", "udp"}, 0, 180000, d);
  CHECK(j["observer"] == "fra-1");
  CHECK(j["target"] == "ams-2");
  CHECK(j["kind"] == "peer");
  CHECK(j["probe"] == "udp");
  CHECK(j["tier"] == "minute");
  CHECK(j["step_ms"] == 60000);
  CHECK(j["from"] == 0);
  CHECK(j["to"] == 180000);
  const json& p = j["points"];
  CHECK(p["ts"] == json::array({60000, 120000}));
  CHECK(p["count"] == json::array({6, 6}));
  CHECK(p["p50"][0] == 0.2);
  CHECK(p["min"][0] == 0.1);
  CHECK(p["max"][0] == 0.9);
  CHECK(p["p50"][1].is_null());
  CHECK(p["min"][1].is_null());
  CHECK(p["loss"] == json::array({0.0, 1.0}));
  for (const char* col : {"ts", "count", "min", "p50", "p90", "max", "mean", "loss"}) {
    CHECK(p[col].size() == 2);
  }
  CHECK(mutuo::dashboard::tier_name(Tier::kRaw) == std::string("raw"));
  CHECK(mutuo::dashboard::tier_name(Tier::kHour) == std::string("hour"));
}

using mutuo::test::TempDir;

namespace {

constexpr int64_t kNow = 100LL * 24 * 3600 * 1000;

struct SeriesFixture {
  TempDir dir;
  std::unique_ptr<mutuo::dashboard::DashboardStore> store =
      std::move(mutuo::dashboard::DashboardStore::open((dir.path / "data").string())).value();
  mutuo::dashboard::Accounts accounts{store.get(), 1000};
  mutuo::dashboard::SessionStore sessions;
  mutuo::dashboard::LoginLimiter limiter;
  mutuo::dashboard::PresenceTable table;
  bool store_up = true;
  // What the route asked the store for.
  SeriesId asked;
  int64_t asked_from = 0, asked_to = 0;
  std::size_t asked_points = 0;
  mutuo::dashboard::ApiRouter router{{
      .presence = &table,
      .store = [] { return mutuo::dashboard::StoreView::Snapshot{}; },
      .broker_connected = [] { return true; },
      .now_ms = [] { return kNow; },
      .index_html = "<!doctype html><title>mutuo</title>",
      .uplot_js = "var uPlot=1;",
      .uplot_css = ".uplot{}",
      .series = [this](const SeriesId& id, int64_t from, int64_t to,
                       std::size_t points) -> std::optional<SeriesData> {
        if (!store_up) return std::nullopt;
        asked = id;
        asked_from = from;
        asked_to = to;
        asked_points = points;
        SeriesData d;
        d.tier = Tier::kHour;
        d.step_ms = 3600000;
        SeriesPoint p;
        p.ts_ms = from;
        p.count = 60;
        p.p50_ms = 1.5;
        p.loss = 0.01;
        d.points.push_back(p);
        return d;
      },
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
  }};
  std::string cookie;

  SeriesFixture() {
    cookie = std::string("mutuo_session=") +
             sessions.create("v", mutuo::dashboard::Role::kViewer, kNow).first;
  }

  mutuo::dashboard::HttpResponse get(const std::string& query, const std::string& method = "GET",
                                     bool logged_in = true) {
    mutuo::dashboard::HttpRequest req;
    req.method = method;
    req.path = "/api/series";
    req.query = query;
    if (logged_in) req.cookie = cookie;
    return router.handle(req);
  }
};

json body(const mutuo::dashboard::HttpResponse& r) { return json::parse(r.payload()); }

}  // namespace

TEST_CASE_FIXTURE(SeriesFixture, "series route: a named range asks the store for that span") {
  auto r = get("observer=fra-1&target=ams-2&range=30d");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(asked.observer == "fra-1");
  CHECK(asked.target == "ams-2");
  CHECK(asked.probe == "udp");
  CHECK(asked.kind == TargetKind::kPeer);
  CHECK(asked_to == kNow);
  CHECK(asked_from == kNow - 30LL * 24 * 3600 * 1000);
  CHECK(asked_points == 720);
  json j = body(r);
  CHECK(j["tier"] == "hour");
  CHECK(j["points"]["p50"][0] == 1.5);
}

TEST_CASE_FIXTURE(SeriesFixture, "series route: default range is 24 h; custom from/to; checks") {
  REQUIRE(get("observer=a&target=b").status == 200);
  CHECK(asked_from == kNow - 24LL * 3600 * 1000);
  REQUIRE(get("observer=a&target=web&kind=check&probe=http&from=1000&to=5000&points=50").status ==
          200);
  CHECK(asked.kind == TargetKind::kCheck);
  CHECK(asked.probe == "http");
  CHECK(asked_from == 1000);
  CHECK(asked_to == 5000);
  CHECK(asked_points == 50);
}

TEST_CASE_FIXTURE(SeriesFixture, "series route: bad parameters are 400 with a JSON reason") {
  for (const char* q : {"target=b", "observer=a", "observer=a&target=b&range=2w",
                        "observer=a&target=b&kind=x", "observer=a&target=b&from=9&to=3",
                        "observer=a&target=b&from=-1", "observer=a&target=b&points=0",
                        "observer=a&target=b&points=99999", "observer=a&target=b&probe="}) {
    CAPTURE(q);
    auto r = get(q);
    CHECK(r.status == 400);
    CHECK(body(r)["error"].is_string());
  }
}

TEST_CASE_FIXTURE(SeriesFixture, "series route: auth, method and an unavailable store") {
  CHECK(get("observer=a&target=b", "GET", false).status == 401);
  CHECK(get("observer=a&target=b", "POST").status == 405);
  store_up = false;
  auto r = get("observer=a&target=b");
  CHECK(r.status == 503);
  CHECK(body(r)["error"] == "the results store is not available yet");
}

TEST_CASE_FIXTURE(SeriesFixture, "assets: uPlot is served without login, cacheable") {
  mutuo::dashboard::HttpRequest req;
  req.method = "GET";
  req.path = "/assets/uplot.js";
  auto r = router.handle(req);
  CHECK(r.status == 200);
  CHECK(r.content_type.starts_with("text/javascript"));
  CHECK(r.body == "var uPlot=1;");
  req.path = "/assets/uplot.css";
  r = router.handle(req);
  CHECK(r.status == 200);
  CHECK(r.content_type.starts_with("text/css"));
  req.method = "POST";
  CHECK(router.handle(req).status == 405);
}

TEST_CASE("the build bundles uPlot and the page loads it from the dashboard") {
  // Built with npm available (scripts/test.sh, CI): the real library is embedded.
  CHECK(mutuo::dashboard::uplot_js().find("uPlot") != std::string_view::npos);
  CHECK(mutuo::dashboard::uplot_css().find(".uplot") != std::string_view::npos);
  auto page = mutuo::dashboard::index_html();
  CHECK(page.find("src=\"assets/uplot.js\"") != std::string_view::npos);
  CHECK(page.find("id=\"pair-chart\"") != std::string_view::npos);
  // Nothing loaded from elsewhere (a form's placeholder may show a URL).
  for (const char* from : {"src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(http",
                           "import(\"http", "fetch('http", "fetch(\"http"}) {
    CHECK_MESSAGE(page.find(from) == std::string_view::npos, from);
  }
}
