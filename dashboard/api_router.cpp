#include "dashboard/api_router.h"

#include "dashboard/api_json.h"

namespace mutuo::dashboard {

namespace {

constexpr const char* kJson = "application/json";

// The page is inline-only: no script, style or request may come from elsewhere.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

HttpResponse json_response(int status, const nlohmann::json& body) {
  return {status,
          kJson,
          body.dump(),
          {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}}};
}

}  // namespace

ApiRouter::ApiRouter(ApiSources sources) : sources_(std::move(sources)) {}

HttpResponse ApiRouter::handle(std::string_view method, std::string_view path) const {
  enum class Route { kPage, kAgents, kMatrix, kHealth };
  Route route;
  if (path == "/") {
    route = Route::kPage;
  } else if (path == "/api/agents") {
    route = Route::kAgents;
  } else if (path == "/api/matrix") {
    route = Route::kMatrix;
  } else if (path == "/healthz") {
    route = Route::kHealth;
  } else {
    return json_response(404, error_json("not found"));
  }
  if (method != "GET" && method != "HEAD") {
    HttpResponse r = json_response(405, error_json("method not allowed"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }

  switch (route) {
    case Route::kPage:
      return {200,
              "text/html; charset=utf-8",
              std::string(sources_.index_html),
              {{"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Security-Policy", kPagePolicy},
               {"Referrer-Policy", "no-referrer"}}};
    case Route::kAgents: {
      auto agents = sources_.presence->snapshot();
      auto store = sources_.store();
      return json_response(
          200, agents_json(agents, store.latest, sources_.now_ms(), sources_.broker_connected()));
    }
    case Route::kMatrix: {
      auto agents = sources_.presence->snapshot();
      auto store = sources_.store();
      return json_response(200,
                           matrix_json(agents, store.latest, sources_.now_ms(), store.available));
    }
    case Route::kHealth:
      return json_response(200, {{"ok", true}});
  }
  return json_response(500, error_json("internal error"));
}

}  // namespace mutuo::dashboard
