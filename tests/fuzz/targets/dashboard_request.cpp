// Fuzz target for the dashboard's request handling (fuzz_targets.h): a real
// ApiRouter over a real dashboard store in a temporary directory, the way
// dashboard/main.cpp wires it, minus CivetWeb and the broker.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/status.h"
#include "common/topics.h"
#include "dashboard/accounts.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/login_limiter.h"
#include "dashboard/presence_table.h"
#include "dashboard/session_store.h"
#include "tests/fuzz/fuzz_targets.h"

namespace mutuo::fuzz {

namespace {

using dashboard::HttpRequest;
using dashboard::HttpResponse;
using dashboard::Role;

constexpr const char* kAdminPassword = "fuzz-admin-password";
constexpr const char* kViewerPassword = "fuzz-viewer-password";
constexpr int64_t kNow = 1733320100000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string online_status(const std::string& agent, const std::string& site) {
  Status s;
  s.agent = agent;
  s.online = true;
  s.ts_ms = kNow - 5000;
  s.version = "0.1.0";
  s.addrs = {"192.0.2.10"};
  s.echo_port = 7777;
  s.labels = {{"site", site}};
  s.probes = {"udp"};
  return encode(s);
}

// The router and everything it reads, created on first use and kept for the
// whole run (the store directory is removed at exit).
struct Dashboard {
  std::filesystem::path dir;
  std::unique_ptr<dashboard::DashboardStore> store;
  std::unique_ptr<dashboard::Accounts> accounts;
  dashboard::SessionStore sessions;
  dashboard::LoginLimiter limiter;
  dashboard::PresenceTable presence;
  dashboard::SetupToken setup{"fuzz-setup-token"};
  std::vector<store::StoredResult> latest;
  std::unique_ptr<dashboard::ApiRouter> router;

  Dashboard() {
    char tmpl[] = "/tmp/mutuo-fuzz-dashboard-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) abort();
    dir = tmpl;
    auto opened = dashboard::DashboardStore::open((dir / "data").string());
    if (!opened) abort();
    store = std::move(opened).value();
    accounts = std::make_unique<dashboard::Accounts>(store.get(), 1000);
    restore_users();
    presence.apply(topics::status("fra-1"), online_status("fra-1", "fra"), true, kNow - 4000);
    presence.apply(topics::status("ams-2"), online_status("ams-2", "\xc3\xa9t\xc3\xa9"), true,
                   kNow - 4000);
    store::StoredResult r;
    r.series = {"fra-1", TargetKind::kPeer, "ams-2", "udp"};
    r.result.target = "ams-2";
    r.result.probe = "udp";
    r.result.ts_ms = kNow - 1000;
    r.result.sent = 10;
    r.result.recv = 9;
    r.result.rtt_ms = Rtt{1.0, 2.0, 3.0};
    latest.push_back(r);
    router = std::make_unique<dashboard::ApiRouter>(dashboard::ApiSources{
        .presence = &presence,
        .store =
            [this] {
              return dashboard::StoreView::Snapshot{true, latest};
            },
        .broker_connected = [] { return true; },
        .now_ms = [] { return kNow; },
        .index_html = "<!doctype html><title>mutuo</title>",
        .accounts = accounts.get(),
        .sessions = &sessions,
        .login_limiter = &limiter,
        .registrar = nullptr,
        .setup = &setup,
    });
  }

  ~Dashboard() {
    router.reset();
    accounts.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // Back to exactly the users "admin" and "viewer", whatever a request changed.
  void restore_users() {
    std::set<std::string> seen;
    for (const auto& u : accounts->list()) {
      if (u.name == "admin" || u.name == "viewer") {
        seen.insert(u.name);
      } else {
        (void)accounts->remove(u.name);
      }
    }
    if (!seen.count("admin")) (void)accounts->create("admin", kAdminPassword, Role::kAdmin, kNow);
    if (!seen.count("viewer")) {
      (void)accounts->create("viewer", kViewerPassword, Role::kViewer, kNow);
    }
  }
};

Dashboard& the_dashboard() {
  static Dashboard d;
  return d;
}

bool is_public(std::string_view path) {
  return path == "/" || path == "/healthz" || path == "/api/session" || path == "/api/login" ||
         path == "/api/setup" || !path.starts_with("/api/");
}

bool known_status(int s) {
  switch (s) {
    case 200:
    case 201:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:  // clang-format off
    case 409: case 413: case 415: case 429: case 503:
      return true;  // clang-format on
    default:
      return false;
  }
}

// Fields HttpRequest may not have yet (the query string, the Authorization
// header): set when it has them, dropped otherwise, as http_server.cpp would.
template <class R>
void set_query(R& req, const std::string& query) {
  if constexpr (requires { req.query = query; }) req.query = query;
}
template <class R>
void set_authorization(R& req, const std::string& value) {
  if constexpr (requires { req.authorization = value; }) req.authorization = value;
}

}  // namespace

std::string dashboard_request(const uint8_t* data, std::size_t size) {
  Dashboard& d = the_dashboard();
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Request line, headers, blank line, body.
  auto next_line = [&in]() {
    auto end = in.find('\n');
    std::string_view line = in.substr(0, end);
    in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  std::string_view request_line = next_line();
  auto space = request_line.find(' ');
  if (space == std::string_view::npos) return "";
  HttpRequest req;
  req.method = std::string(request_line.substr(0, space));
  std::string_view target = request_line.substr(space + 1);
  auto qmark = target.find('?');
  req.path = std::string(target.substr(0, qmark));
  if (qmark != std::string_view::npos) set_query(req, std::string(target.substr(qmark + 1)));
  req.remote_addr = "192.0.2.1";

  auto admin = d.sessions.create("admin", Role::kAdmin, kNow);
  auto viewer = d.sessions.create("viewer", Role::kViewer, kNow);
  auto substitute = [&](std::string value, bool csrf) {
    for (auto [tag, s] : {std::pair{"@admin", &admin}, std::pair{"@viewer", &viewer}}) {
      auto at = value.find(tag);
      if (at != std::string::npos) {
        value.replace(at, std::string_view(tag).size(), csrf ? s->second.csrf : s->first);
      }
    }
    return value;
  };
  std::string caller;  // whose live session the cookie carries, if any
  while (!in.empty()) {
    std::string_view line = next_line();
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "cookie") {
      req.cookie = substitute(std::string(value), false);
    } else if (name == "x-csrf-token") {
      req.csrf_token = substitute(std::string(value), true);
    } else if (name == "content-type") {
      req.content_type = std::string(value);
    } else if (name == "origin") {
      req.origin = std::string(value);
    } else if (name == "host") {
      req.host = std::string(value);
    } else if (name == "authorization") {
      set_authorization(req, std::string(value));
    }
  }
  req.body = std::string(in);
  std::string cookie_session = dashboard::cookie_value(req.cookie, dashboard::kSessionCookie);
  if (cookie_session == admin.first) caller = "admin";
  if (cookie_session == viewer.first) caller = "viewer";
  std::string csrf_of_caller = caller == "admin"    ? admin.second.csrf
                               : caller == "viewer" ? viewer.second.csrf
                                                    : "";

  HttpResponse r = d.router->handle(req);

  std::string broken;
  auto fail = [&](const std::string& what) {
    broken = "dashboard: " + what + " (" + req.method + " " + req.path + " -> " +
             std::to_string(r.status) + ")";
  };
  bool ok = r.status >= 200 && r.status < 300;
  bool read = req.method == "GET" || req.method == "HEAD";
  std::vector<std::string_view> parts;  // path segments, empty ones skipped as the router does
  for (std::string_view rest = req.path; !rest.empty();) {
    auto slash = rest.find('/');
    if (slash != 0) parts.push_back(rest.substr(0, slash));
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
  }
  bool admin_route = parts.size() >= 2 && parts[0] == "api" &&
                     (parts[1] == "users" || (parts[1] == "registry" && !read));
  if (!known_status(r.status)) {
    fail("unexpected status");
  } else if (r.content_type == "application/json" && !nlohmann::json::accept(r.body)) {
    fail("an answer that is not JSON: " + r.body.substr(0, 200));
  } else if (ok && !is_public(req.path) && caller.empty()) {
    fail("a protected route answered without a live session");
  } else if (ok && admin_route && caller != "admin") {
    fail("an admin route answered a " + (caller.empty() ? std::string("stranger") : caller));
  } else if (ok && !read && !is_public(req.path) &&
             (req.csrf_token.empty() || req.csrf_token != csrf_of_caller)) {
    fail("a change went through without its CSRF token");
  }
  for (const auto& [name, value] : r.headers) {
    if (value.find_first_of("\r\n") != std::string::npos) fail("a header value with CR/LF");
  }

  d.sessions.remove(admin.first);
  d.sessions.remove(viewer.first);
  if (!read) d.restore_users();
  return broken;
}

}  // namespace mutuo::fuzz
