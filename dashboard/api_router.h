// ApiRouter: maps an HTTP request to the dashboard's answer. It knows the routes,
// who may call them and their JSON, not the web server, so tests call handle()
// directly and http_server.cpp only copies requests and answers to and from the
// wire.
//
// Routes (JSON in and out; docs/security.md has the details):
//   public:   GET / (the page), GET /healthz, GET /api/session, POST /api/login,
//             GET /api/setup, POST /api/setup (first admin, with the one-time token)
//   public:   GET /assets/uplot.js, GET /assets/uplot.css (the bundled chart library)
//   public:   GET /status, GET /api/public/status (the status page, when an admin
//             turned it on; 404 otherwise)
//   any user: GET /api/status-page; admin: PUT /api/status-page
//   any user: GET /api/agents, GET /api/agents/{id}, GET /api/matrix[?compact=1],
//             GET /api/series, GET /api/registry, GET /api/checks,
//             GET /api/checks/{id}, GET /api/alerts, POST /api/logout,
//             GET /api/live (WebSocket, handled by HttpServer)
//   admin:    GET/POST /api/tokens, DELETE /api/tokens/{name} (API tokens for
//             scripts, sent as "Authorization: Bearer mutuo_..."; a token call
//             needs no CSRF token and may not manage users or tokens),
//             POST /api/registry, POST /api/registry/{id}/rotate|disable|enable,
//             DELETE /api/registry/{id}, GET /api/users, POST /api/users,
//             DELETE /api/users/{name}, POST /api/checks, PUT /api/checks/{id},
//             DELETE /api/checks/{id} (published retained to checks/{id})
// Every state-changing request (any method but GET and HEAD) other than login
// and setup needs a live session cookie AND that session's CSRF token in the
// X-CSRF-Token header; one with a foreign Origin is refused; a body must be
// application/json. Login and setup are rate-limited (LoginLimiter).
// HEAD is answered like GET (the server drops the body). Wrong method: 405;
// unknown path: 404; not logged in: 401; no or wrong CSRF token, or a viewer
// asking for an admin route: 403. Errors are {"error": message}.
//
// Threading: handle() may be called from many threads at once, provided the
// sources it was given may be.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/messages/alert.h"
#include "common/messages/check.h"
#include "common/mqtt_session.h"
#include "dashboard/accounts.h"
#include "dashboard/api_tokens.h"
#include "dashboard/login_limiter.h"
#include "dashboard/presence_table.h"
#include "dashboard/registrar.h"
#include "dashboard/retained_table.h"
#include "dashboard/session_store.h"
#include "dashboard/status_page.h"
#include "dashboard/store_view.h"

namespace mutuo::dashboard {

class AdminRoutes;

class MatrixCache;
struct CachedAnswer;

inline constexpr const char* kSessionCookie = "mutuo_session";

struct HttpRequest {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // the raw query string (after '?'), percent-encoded
  std::string body;
  std::string remote_addr;
  std::string cookie;           // the Cookie header
  std::string csrf_token;       // the X-CSRF-Token header
  std::string content_type;     // the Content-Type header
  std::string origin;           // the Origin header, empty when absent
  std::string host;             // the Host header
  std::string authorization;    // the Authorization header ("Bearer <API token>")
  std::string accept_encoding;  // the Accept-Encoding header
  std::string if_none_match{};  // the If-None-Match header (ETags of cached answers)
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  // When set, sent instead of `body` (a cached answer shared by many requests).
  std::shared_ptr<const std::string> shared_body{};

  const std::string& payload() const { return shared_body ? *shared_body : body; }
};

// The one-time token that lets the first admin be created from the page when no
// user exists and none was given on the command line. Threading: any thread.
class SetupToken {
 public:
  explicit SetupToken(std::string token = "") : token_(std::move(token)) {}
  bool active() const;
  // True (and the token used up) when `candidate` is the token.
  bool consume(const std::string& candidate);

 private:
  mutable std::mutex mu_;
  std::string token_;  // guarded by mu_; empty once used
};

struct ApiSources {
  const PresenceTable* presence = nullptr;     // REQUIRES: non-null, outlives the router
  std::function<StoreView::Snapshot()> store;  // the store's latest results
  std::function<bool()> broker_connected;
  // Bumped whenever results or presence change (BusListener::version); null:
  // the matrix is rebuilt every second it is asked for.
  std::function<uint64_t()> data_version{};
  std::function<int64_t()> now_ms;  // wall clock, ms since the Unix epoch
  std::string_view index_html;      // REQUIRES: outlives the router
  std::string_view uplot_js{};      // the bundled uPlot library; REQUIRES: outlives the router
  std::string_view uplot_css{};
  // One chart of one series (StoreView::series); null or nullopt: store unavailable.
  std::function<std::optional<store::SeriesData>(const store::SeriesId&, int64_t, int64_t,
                                                 std::size_t)>
      series{};
  // The matrix's minute medians (StoreView::minute_medians); null: p50 is null.
  std::function<std::vector<std::optional<double>>(const std::vector<store::StoredResult>&)>
      minute_medians{};
  // Rebuild the matrix in a background thread (MatrixCache::start_refresher), not
  // on requests; false (tests): a request finding it stale rebuilds it.
  bool matrix_in_background = false;

  // Security. REQUIRES: non-null and outliving the router, except registrar
  // (null: registration answers 503) and setup (null: no setup page).
  Accounts* accounts = nullptr;
  SessionStore* sessions = nullptr;
  LoginLimiter* login_limiter = nullptr;
  Registrar* registrar = nullptr;
  ApiTokens* tokens = nullptr;  // null: API tokens are refused
  SetupToken* setup = nullptr;
  // The bus: retained alerts and checks as last received (null: empty lists and,
  // for checks, 503 on changes) and how to publish a check (retained, QoS 1).
  DashboardStore* data = nullptr;  // settings (the status page); null: status page off
  std::string_view status_html{};  // the public status page; REQUIRES: outlives the router
  const RetainedTable<Alert>* alerts = nullptr;
  RetainedTable<Check>* checks = nullptr;
  std::function<bool(const MqttMessage&)> publish{};
  bool secure_cookies = false;     // add Secure to the cookie (behind a TLS proxy)
  std::string agent_broker_uri{};  // what the agent command line tells agents to use
  std::string agent_ca_file{};     // CA file path for that command line (may be empty)
  // Silences, notification channels, the alert history and PATCH
  // /api/registry/{id} (api_admin_routes.h); null: those paths answer 404.
  AdminRoutes* admin = nullptr;
};

class ApiRouter {
 public:
  // Refused requests, by reason (the log shows only a bounded sample of them).
  struct Counters {
    uint64_t failed_logins = 0;    // wrong user name or password, wrong setup token
    uint64_t rate_limited = 0;     // login or setup refused by the LoginLimiter
    uint64_t unauthenticated = 0;  // no live session
    uint64_t csrf_refused = 0;     // missing or wrong CSRF token, foreign Origin
    uint64_t role_refused = 0;     // a viewer asking for an admin route
  };

  explicit ApiRouter(ApiSources sources);
  ~ApiRouter();  // stops the matrix refresher

  // The answer, its body always in `body` (a cached answer is copied there).
  HttpResponse handle(const HttpRequest& request) const;
  // The same, but a cached answer may come as `shared_body` instead (no copy of
  // a multi-megabyte matrix per request); HttpServer sends payload().
  HttpResponse handle_shared(const HttpRequest& request) const;
  Counters counters() const;

  // GET /api/live (the WebSocket upgrade, handled by HttpServer): the session id
  // when the request has a live session cookie and no foreign Origin; nullopt
  // (counted as refused) otherwise.
  std::optional<std::string> live_session(const HttpRequest& request) const;
  // Whether a session id is still logged in (the live feed asks before sending).
  bool session_alive(const std::string& session_id) const;

 private:
  struct Caller;
  HttpResponse login(const HttpRequest& req) const;
  HttpResponse setup(const HttpRequest& req) const;
  HttpResponse session_info(const HttpRequest& req) const;
  HttpResponse registry(const HttpRequest& req, const std::vector<std::string_view>& parts) const;
  HttpResponse series(const HttpRequest& req) const;
  HttpResponse tokens(const HttpRequest& req, const std::vector<std::string_view>& parts,
                      const std::string& caller) const;
  HttpResponse users(const HttpRequest& req, const std::vector<std::string_view>& parts) const;
  HttpResponse start_session(const UserRecord& user) const;
  HttpResponse checks(const HttpRequest& req, const std::vector<std::string_view>& parts) const;
  HttpResponse check_answer(const std::string& id, int status) const;
  HttpResponse agent_detail(const std::string& id) const;
  HttpResponse matrix(const HttpRequest& req) const;
  HttpResponse status_page_setting(const HttpRequest& req) const;
  HttpResponse public_status() const;
  StatusPageConfig status_config() const;

  ApiSources sources_;
  // GET /api/matrix answers (matrix_cache.h): a 200-agent matrix is 40,000 cells.
  std::unique_ptr<MatrixCache> matrix_cache_;
  // GET /api/series answers for named ranges, by series and span.
  mutable std::mutex series_mu_;
  mutable std::map<std::string, std::shared_ptr<const CachedAnswer>>
      series_cache_;  // guarded by series_mu_
  // GET /api/public/status, rebuilt at most every kPublicStatusCacheMs (anyone
  // may ask, as often as they like) and at once after the setting changes.
  mutable std::mutex public_mu_;
  mutable std::shared_ptr<const std::string> public_body_;  // guarded by public_mu_
  mutable int64_t public_built_ms_ = 0;                     // guarded by public_mu_
  mutable std::atomic<uint64_t> failed_logins_{0}, rate_limited_{0}, unauthenticated_{0},
      csrf_refused_{0}, role_refused_{0};
  mutable LogLimiter refusal_log_{5, std::chrono::seconds(10)};
};

// The percent-decoded value of parameter `name` in a query string ('+' is a
// space), or nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// The value of cookie `name` in a Cookie header, or "".
std::string cookie_value(std::string_view header, std::string_view name);

}  // namespace mutuo::dashboard
