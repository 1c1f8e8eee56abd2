#include "dashboard/api_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "common/ids.h"
#include "common/topics.h"
#include "dashboard/api_admin_routes.h"
#include "dashboard/api_json.h"
#include "dashboard/api_responses.h"
#include "dashboard/cached_answer.h"
#include "dashboard/gzip.h"
#include "dashboard/matrix_cache.h"
#include "dashboard/random_token.h"

namespace mutuo::dashboard {

using api::error;
using api::is_read;
using api::json_body;
using api::json_response;
using api::method_not_allowed;
using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

// The page is inline-only: no script, style or request may come from elsewhere.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto end = path.find('/');
    parts.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return parts;
}

std::string string_field(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A browser sends Origin on cross-site requests; when it does, it must be us.
bool same_origin(const HttpRequest& req) {
  if (req.origin.empty()) return true;
  return req.origin == "http://" + req.host || req.origin == "https://" + req.host;
}

json agent_json(const AgentRecord& a) {
  return {{"id", a.id},
          {"display_name", a.display_name},
          {"labels", a.labels},
          {"enabled", a.enabled},
          {"created", a.created_ms},
          {"token_issued", a.token_issued_ms}};
}

int registrar_status(RegistrarError e) {
  switch (e) {
    case RegistrarError::kInvalid:
      return 400;
    case RegistrarError::kNotFound:
      return 404;
    case RegistrarError::kConflict:
      return 409;
    case RegistrarError::kBroker:
      return 502;
    case RegistrarError::kStore:
      return 500;
  }
  return 500;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A whole non-negative decimal number, or nullopt.
std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The span of a named chart range, or 0 when the name is unknown.
int64_t range_ms(std::string_view name) {
  constexpr int64_t kHour = 3'600'000;
  if (name == "1h") return kHour;
  if (name == "6h") return 6 * kHour;
  if (name == "24h") return 24 * kHour;
  if (name == "7d") return 7 * 24 * kHour;
  if (name == "30d") return 30 * 24 * kHour;
  if (name == "90d") return 90 * 24 * kHour;
  return 0;
}

constexpr std::size_t kDefaultPoints = 720;
constexpr int64_t kPublicStatusCacheMs = 30000;
constexpr std::size_t kSeriesCacheEntries = 512;
constexpr std::size_t kMaxPoints = 5000;

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto end = query.find('&');
    std::string_view pair = query.substr(0, end);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (percent_decode(key) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return "";
}

bool SetupToken::active() const {
  std::lock_guard lock(mu_);
  return !token_.empty();
}

bool SetupToken::consume(const std::string& candidate) {
  std::lock_guard lock(mu_);
  if (token_.empty() || !secrets_equal(candidate, token_)) return false;
  token_.clear();
  return true;
}

struct ApiRouter::Caller {
  std::string session_id;
  Session session;
};

ApiRouter::ApiRouter(ApiSources sources)
    : sources_(std::move(sources)),
      matrix_cache_(std::make_unique<MatrixCache>(MatrixCache::Sources{
          .presence = sources_.presence,
          .store = sources_.store,
          .data_version = sources_.data_version,
          .now_ms = sources_.now_ms,
          .medians = sources_.minute_medians,
      })) {
  if (sources_.matrix_in_background) matrix_cache_->start_refresher();
}

ApiRouter::~ApiRouter() = default;

HttpResponse ApiRouter::start_session(const UserRecord& user) const {
  auto [id, session] = sources_.sessions->create(user.name, user.role, sources_.now_ms());
  HttpResponse r = json_response(200, {{"user", user.name},
                                       {"role", role_name(user.role)},
                                       {"csrf", session.csrf},
                                       {"expires", session.expires_ms}});
  std::string cookie = std::string(kSessionCookie) + "=" + id +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(sources_.sessions->ttl_ms() / 1000);
  if (sources_.secure_cookies) cookie += "; Secure";
  r.headers.emplace_back("Set-Cookie", cookie);
  return r;
}

HttpResponse ApiRouter::login(const HttpRequest& req) const {
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  std::string name = string_field(*body, "username");
  std::string password = string_field(*body, "password");
  int64_t now = sources_.now_ms();
  if (int64_t wait = sources_.login_limiter->retry_after_ms(req.remote_addr, name, now); wait > 0) {
    ++rate_limited_;
    HttpResponse r = error(429, "too many failed logins; try again later");
    r.headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
    return r;
  }
  auto user = sources_.accounts->authenticate(name, password);
  if (!user) {
    sources_.login_limiter->record_failure(req.remote_addr, name, now);
    ++failed_logins_;
    uint64_t suppressed = 0;
    if (refusal_log_.allow(&suppressed)) {
      spdlog::warn("failed login from {} ({} similar lines suppressed)", req.remote_addr,
                   suppressed);
    }
    return error(401, "wrong user name or password");
  }
  sources_.login_limiter->record_success(name);
  spdlog::info("user {} logged in from {}", user->name, req.remote_addr);
  return start_session(*user);
}

HttpResponse ApiRouter::setup(const HttpRequest& req) const {
  bool active = sources_.setup != nullptr && sources_.setup->active() && sources_.accounts->empty();
  if (is_read(req.method)) return json_response(200, {{"needed", active}});
  if (req.method != "POST") return method_not_allowed("GET, HEAD, POST");
  if (!active) return error(409, "setup is done: log in instead");
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  int64_t now = sources_.now_ms();
  if (sources_.login_limiter->retry_after_ms(req.remote_addr, "(setup)", now) > 0) {
    ++rate_limited_;
    return error(429, "too many failed attempts; try again later");
  }
  std::string name = string_field(*body, "username");
  std::string password = string_field(*body, "password");
  if (auto why = invalid_user_name(name)) return error(400, *why);
  if (auto why = invalid_password(password)) return error(400, *why);
  if (!sources_.setup->consume(string_field(*body, "token"))) {
    sources_.login_limiter->record_failure(req.remote_addr, "(setup)", now);
    ++failed_logins_;
    return error(403, "wrong or used setup token");
  }
  auto user = sources_.accounts->create_first_admin(name, password, now);
  if (!user) return error(409, user.error());
  spdlog::info("first admin {} created through the setup page", user->name);
  return start_session(*user);
}

HttpResponse ApiRouter::session_info(const HttpRequest& req) const {
  auto s = sources_.sessions->find(cookie_value(req.cookie, kSessionCookie), sources_.now_ms());
  if (!s) {
    bool setup =
        sources_.setup != nullptr && sources_.setup->active() && sources_.accounts->empty();
    HttpResponse r = error(401, "not logged in");
    r.body = json{{"error", "not logged in"}, {"setup_needed", setup}}.dump();
    return r;
  }
  return json_response(200, {{"user", s->user},
                             {"role", role_name(s->role)},
                             {"csrf", s->csrf},
                             {"expires", s->expires_ms}});
}

HttpResponse ApiRouter::registry(const HttpRequest& req,
                                 const std::vector<std::string_view>& parts) const {
  // parts: ["api", "registry", id?, action?]
  if (parts.size() == 2 && is_read(req.method)) {
    json list = json::array();
    if (sources_.registrar != nullptr) {
      for (const auto& a : sources_.registrar->agents()) list.push_back(agent_json(a));
    }
    return json_response(200, {{"agents", std::move(list)}});
  }
  if (sources_.registrar == nullptr) return error(503, "agent registration is not configured");
  auto issued = [this](const IssuedToken& t, int status) {
    return json_response(
        status,
        {{"agent", agent_json(t.agent)},
         {"token", t.token},
         {"command",
          agent_command(t.agent, t.token, sources_.agent_broker_uri, sources_.agent_ca_file)},
         {"config", agent_config(t.agent, sources_.agent_broker_uri, sources_.agent_ca_file)}});
  };
  if (parts.size() == 2) {
    if (req.method != "POST") return method_not_allowed("GET, HEAD, POST");
    HttpResponse refusal;
    auto body = json_body(req, &refusal);
    if (!body) return refusal;
    RegistrationRequest r;
    r.id = string_field(*body, "id");
    r.display_name = string_field(*body, "display_name");
    if (auto labels = body->find("labels"); labels != body->end() && !labels->is_null()) {
      if (!labels->is_object()) return error(400, "labels must be an object of strings");
      for (const auto& [k, v] : labels->items()) {
        if (!v.is_string()) return error(400, "label '" + k + "' is not a string");
        r.labels[k] = v.get<std::string>();
      }
    }
    auto result = sources_.registrar->register_agent(std::move(r));
    if (!result) return error(registrar_status(result.error), result.message);
    return issued(*result.value, 201);
  }
  std::string id(parts[2]);
  if (parts.size() == 3) {
    if (req.method != "DELETE") return method_not_allowed("DELETE");
    auto result = sources_.registrar->remove(id);
    if (!result) return error(registrar_status(result.error), result.message);
    return json_response(200, {{"deleted", id}});
  }
  if (parts.size() == 4) {
    if (req.method != "POST") return method_not_allowed("POST");
    if (parts[3] == "rotate") {
      auto result = sources_.registrar->rotate(id);
      if (!result) return error(registrar_status(result.error), result.message);
      return issued(*result.value, 200);
    }
    if (parts[3] == "disable" || parts[3] == "enable") {
      auto result = sources_.registrar->set_enabled(id, parts[3] == "enable");
      if (!result) return error(registrar_status(result.error), result.message);
      return json_response(200, {{"agent", agent_json(*result.value)}});
    }
  }
  return error(404, "not found");
}

HttpResponse ApiRouter::users(const HttpRequest& req,
                              const std::vector<std::string_view>& parts) const {
  if (parts.size() == 2 && is_read(req.method)) {
    json list = json::array();
    for (const auto& u : sources_.accounts->list()) {
      list.push_back({{"name", u.name}, {"role", role_name(u.role)}, {"created", u.created_ms}});
    }
    return json_response(200, {{"users", std::move(list)}});
  }
  if (parts.size() == 2) {
    if (req.method != "POST") return method_not_allowed("GET, HEAD, POST");
    HttpResponse refusal;
    auto body = json_body(req, &refusal);
    if (!body) return refusal;
    auto role = parse_role(string_field(*body, "role"));
    if (!role) return error(400, "role must be 'admin' or 'viewer'");
    auto user = sources_.accounts->create(
        string_field(*body, "username"), string_field(*body, "password"), *role, sources_.now_ms());
    if (!user) return error(400, user.error());
    spdlog::info("user {} ({}) created", user->name, role_name(user->role));
    return json_response(201, {{"name", user->name}, {"role", role_name(user->role)}});
  }
  if (parts.size() == 3) {
    if (req.method != "DELETE") return method_not_allowed("DELETE");
    std::string name(parts[2]);
    auto removed = sources_.accounts->remove(name);
    if (!removed) return error(400, removed.error());
    sources_.sessions->remove_user(name);
    spdlog::info("user {} deleted", name);
    return json_response(200, {{"deleted", name}});
  }
  return error(404, "not found");
}

HttpResponse ApiRouter::series(const HttpRequest& req) const {
  store::SeriesId id;
  id.observer = query_param(req.query, "observer").value_or("");
  id.target = query_param(req.query, "target").value_or("");
  id.probe = query_param(req.query, "probe").value_or(kMatrixProbe);
  std::string kind = query_param(req.query, "kind").value_or("peer");
  if (id.observer.empty() || id.target.empty()) {
    return error(400, "give observer and target (and probe, default udp)");
  }
  if (id.probe.empty()) return error(400, "probe must not be empty");
  if (kind == "peer") {
    id.kind = TargetKind::kPeer;
  } else if (kind == "check") {
    id.kind = TargetKind::kCheck;
  } else {
    return error(400, "kind must be 'peer' or 'check'");
  }
  int64_t now = sources_.now_ms();
  int64_t from = 0, to = now;
  auto from_text = query_param(req.query, "from");
  auto to_text = query_param(req.query, "to");
  if (from_text || to_text) {
    auto f = from_text ? parse_int(*from_text) : std::nullopt;
    auto t = to_text ? parse_int(*to_text) : std::optional<int64_t>(now);
    if (!f || !t) return error(400, "from and to are milliseconds since the Unix epoch");
    from = f.value();
    to = t.value();
    if (from >= to) return error(400, "from must be before to");
  } else {
    std::string range = query_param(req.query, "range").value_or("24h");
    int64_t span = range_ms(range);
    if (span == 0) return error(400, "range must be one of 1h, 6h, 24h, 7d, 30d, 90d");
    from = now - span;
  }
  std::size_t points = kDefaultPoints;
  if (auto p = query_param(req.query, "points")) {
    auto n = parse_int(*p);
    if (!n || *n < 1 || static_cast<std::size_t>(*n) > kMaxPoints) {
      return error(400, "points must be between 1 and " + std::to_string(kMaxPoints));
    }
    points = static_cast<std::size_t>(*n);
  }
  // Named ranges are cached for the width of one point (1 s to 60 s): a chart
  // asked again within it would look the same.
  const bool named = !from_text && !to_text;
  const int64_t ttl = std::clamp<int64_t>((to - from) / static_cast<int64_t>(points), 1000, 60000);
  const std::string key = id.observer + '\n' + id.target + '\n' + id.probe + '\n' + kind + '\n' +
                          std::to_string(to - from) + '\n' + std::to_string(points);
  if (named) {
    std::lock_guard lock(series_mu_);
    auto it = series_cache_.find(key);
    if (it != series_cache_.end() && now - it->second->built_ms < ttl) {
      return cached_response(req, it->second);
    }
  }
  std::optional<store::SeriesData> data;
  if (sources_.series) data = sources_.series(id, from, to, points);
  if (!data) return error(503, "the results store is not available yet");
  // Gzip level 6: a chart is small (a few ms) and built at most once per TTL.
  auto answer = make_cached_answer(
      series_json(id, from, to, *data).dump(-1, ' ', false, json::error_handler_t::replace), 6,
      now);
  if (named) {
    std::lock_guard lock(series_mu_);
    // No entry outlives the longest TTL (60 s): a user paging through charts
    // leaves nothing behind, and a burst is bounded by the entry count.
    std::erase_if(series_cache_,
                  [now](const auto& e) { return now - e.second->built_ms >= 60000; });
    if (series_cache_.size() >= kSeriesCacheEntries) series_cache_.clear();
    series_cache_[key] = answer;
  }
  return cached_response(req, answer);
}

HttpResponse ApiRouter::tokens(const HttpRequest& req, const std::vector<std::string_view>& parts,
                               const std::string& caller) const {
  if (sources_.tokens == nullptr) return error(503, "API tokens are not configured");
  auto record_json = [](const ApiTokenRecord& t) {
    return json{{"name", t.name},
                {"role", role_name(t.role)},
                {"created", t.created_ms},
                {"created_by", t.created_by}};
  };
  if (parts.size() == 2 && is_read(req.method)) {
    json list = json::array();
    for (const auto& t : sources_.tokens->list()) list.push_back(record_json(t));
    return json_response(200, {{"tokens", std::move(list)}});
  }
  if (parts.size() == 2) {
    if (req.method != "POST") return method_not_allowed("GET, HEAD, POST");
    HttpResponse refusal;
    auto body = json_body(req, &refusal);
    if (!body) return refusal;
    std::string role_text = string_field(*body, "role");
    auto role = parse_role(role_text.empty() ? "viewer" : role_text);
    if (!role) return error(400, "role must be 'admin' or 'viewer'");
    auto made =
        sources_.tokens->create(string_field(*body, "name"), *role, caller, sources_.now_ms());
    if (!made) return error(400, made.error());
    spdlog::info("API token {} ({}) created by {}", made->first.name, role_name(made->first.role),
                 caller);
    json answer = record_json(made->first);
    answer["token"] = made->second;
    return json_response(201, answer);
  }
  if (req.method != "DELETE") return method_not_allowed("DELETE");
  std::string name(parts[2]);
  auto removed = sources_.tokens->remove(name);
  if (!removed) return error(404, removed.error());
  spdlog::info("API token {} deleted by {}", name, caller);
  return json_response(200, {{"deleted", name}});
}

std::optional<std::string> ApiRouter::live_session(const HttpRequest& req) const {
  if (!same_origin(req)) {
    ++csrf_refused_;
    return std::nullopt;
  }
  std::string id = cookie_value(req.cookie, kSessionCookie);
  if (id.empty() || !sources_.sessions->find(id, sources_.now_ms())) {
    ++unauthenticated_;
    return std::nullopt;
  }
  return id;
}

bool ApiRouter::session_alive(const std::string& session_id) const {
  return sources_.sessions->find(session_id, sources_.now_ms()).has_value();
}

HttpResponse ApiRouter::matrix(const HttpRequest& req) const {
  std::string compact_text = query_param(req.query, "compact").value_or("0");
  if (compact_text != "0" && compact_text != "1") return error(400, "compact must be 0 or 1");
  return cached_response(req, matrix_cache_->get(compact_text == "1"));
}

StatusPageConfig ApiRouter::status_config() const {
  if (sources_.data == nullptr) return {};
  auto text = sources_.data->setting(kStatusPageSetting);
  if (!text) return {};
  auto parsed = parse_status_page_config(json::parse(*text, nullptr, false));
  return parsed ? parsed.value() : StatusPageConfig{};
}

HttpResponse ApiRouter::status_page_setting(const HttpRequest& req) const {
  if (is_read(req.method)) return json_response(200, to_json(status_config()));
  if (req.method != "PUT") return method_not_allowed("GET, HEAD, PUT");
  if (sources_.data == nullptr) return error(503, "settings are not available");
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  auto config = parse_status_page_config(*body);
  if (!config) return error(400, config.error());
  auto stored = sources_.data->put_setting(kStatusPageSetting, to_json(*config).dump());
  if (!stored) return error(500, "cannot store the setting: " + stored.error());
  {
    std::lock_guard lock(public_mu_);
    public_body_.reset();
  }
  spdlog::info("public status page {} ({} checks, {} peers)", config->enabled ? "on" : "off",
               config->checks.size(), config->peers.size());
  return json_response(200, to_json(*config));
}

HttpResponse ApiRouter::public_status() const {
  int64_t now = sources_.now_ms();
  auto answer = [](std::shared_ptr<const std::string> body) {
    HttpResponse r{
        200,
        kJson,
        "",
        {{"Cache-Control", "public, max-age=30"}, {"X-Content-Type-Options", "nosniff"}}};
    r.shared_body = std::move(body);
    return r;
  };
  std::lock_guard lock(public_mu_);  // one build at a time; the page is small
  if (public_body_ && now - public_built_ms_ < kPublicStatusCacheMs) return answer(public_body_);

  StatusPageConfig config = status_config();
  constexpr int64_t kDay = 24 * 3600 * 1000LL;
  // Days end at the next UTC midnight, so today is the last bar.
  int64_t from = (now / kDay + 1) * kDay - kUptimeDays * kDay;
  auto store = sources_.store();
  auto uptime_of = [&](TargetKind kind, const std::string& target, const std::string& probe) {
    std::vector<store::SeriesData> data;
    for (const auto& r : store.latest) {
      if (r.series.kind != kind || r.series.target != target) continue;
      if (!probe.empty() && r.series.probe != probe) continue;
      if (!sources_.series) break;
      if (auto d = sources_.series(r.series, from, now + 1, kUptimeDays * 24 + 48)) {
        data.push_back(std::move(*d));
      }
    }
    auto days = daily_uptime(data, from, kUptimeDays);
    json bars = json::array();
    double weight = 0, up = 0;
    for (const auto& d : days) {
      bars.push_back(d ? json(std::round(*d * 100000) / 100000) : json(nullptr));
      if (d) {
        weight += 1;
        up += *d;
      }
    }
    return std::make_pair(std::move(bars), weight > 0 ? json(up / weight) : json(nullptr));
  };
  json checks = json::array();
  for (const auto& id : config.checks) {
    std::optional<Check> def;
    if (sources_.checks != nullptr) def = sources_.checks->get(id);
    std::optional<Alert> alert;
    if (sources_.alerts != nullptr) alert = sources_.alerts->get(alert_subject_check(id));
    std::vector<const store::StoredResult*> results;
    for (const auto& r : store.latest) {
      if (r.series.kind == TargetKind::kCheck && r.series.target == id) results.push_back(&r);
    }
    json c = check_json(id, def ? &*def : nullptr, alert ? &*alert : nullptr, results, now);
    auto [bars, overall] = uptime_of(TargetKind::kCheck, id, "");
    // Only what the admin chose to show: the id, type and state; no URL or host.
    checks.push_back({{"id", id},
                      {"type", def ? json(def->type) : json(nullptr)},
                      {"state", c["state"]},
                      {"since", alert ? json(alert->since_ms) : json(nullptr)},
                      {"uptime", std::move(bars)},
                      {"uptime_90d", std::move(overall)}});
  }
  json peers = json::array();
  for (const auto& id : config.peers) {
    auto presence = sources_.presence->get(id);
    std::optional<Alert> alert;
    if (sources_.alerts != nullptr) alert = sources_.alerts->get(alert_subject_peer(id));
    std::string state = presence ? (presence->online ? "up" : "offline") : "unknown";
    if (presence && presence->online && alert &&
        (alert->state == HealthState::kDown || alert->state == HealthState::kDegraded)) {
      state = std::string(to_string(alert->state));
    }
    auto [bars, overall] = uptime_of(TargetKind::kPeer, id, kMatrixProbe);
    peers.push_back({{"id", id},
                     {"state", state},
                     {"since", presence ? json(presence->since_ms) : json(nullptr)},
                     {"uptime", std::move(bars)},
                     {"uptime_90d", std::move(overall)}});
  }
  json body = {{"title", config.title},       {"generated", now},
               {"days", kUptimeDays},         {"from", from},
               {"checks", std::move(checks)}, {"peers", std::move(peers)}};
  public_body_ = std::make_shared<const std::string>(
      body.dump(-1, ' ', false, json::error_handler_t::replace));
  public_built_ms_ = now;
  return answer(public_body_);
}

HttpResponse ApiRouter::check_answer(const std::string& id, int status) const {
  std::optional<Check> def;
  if (sources_.checks != nullptr) def = sources_.checks->get(id);
  std::optional<Alert> alert;
  if (sources_.alerts != nullptr) alert = sources_.alerts->get(alert_subject_check(id));
  auto store = sources_.store();
  std::vector<const store::StoredResult*> results;
  for (const auto& r : store.latest) {
    if (r.series.kind == TargetKind::kCheck && r.series.target == id) results.push_back(&r);
  }
  if (!def && results.empty() && !alert) return error(404, "no check '" + id + "'");
  return json_response(status, check_json(id, def ? &*def : nullptr, alert ? &*alert : nullptr,
                                          results, sources_.now_ms()));
}

HttpResponse ApiRouter::checks(const HttpRequest& req,
                               const std::vector<std::string_view>& parts) const {
  // parts: ["api", "checks", id?]
  if (parts.size() == 2 && is_read(req.method)) {
    std::map<std::string, std::vector<const store::StoredResult*>> results;
    auto store = sources_.store();
    for (const auto& r : store.latest) {
      if (r.series.kind == TargetKind::kCheck) results[r.series.target].push_back(&r);
    }
    std::map<std::string, Check> defs;
    if (sources_.checks != nullptr) {
      for (auto& [id, c] : sources_.checks->snapshot()) defs.emplace(id, std::move(c));
    }
    std::set<std::string> ids;
    for (const auto& [id, c] : defs) ids.insert(id);
    for (const auto& [id, r] : results) ids.insert(id);
    json list = json::array();
    std::map<std::string, int> counts;
    int64_t now = sources_.now_ms();
    for (const auto& id : ids) {
      auto def = defs.find(id);
      std::optional<Alert> alert;
      if (sources_.alerts != nullptr) alert = sources_.alerts->get(alert_subject_check(id));
      json c = check_json(id, def == defs.end() ? nullptr : &def->second, alert ? &*alert : nullptr,
                          results[id], now);
      ++counts[c["state"].get<std::string>()];
      list.push_back(std::move(c));
    }
    return json_response(200, {{"checks", std::move(list)}, {"counts", counts}, {"now", now}});
  }
  if (parts.size() == 3 && is_read(req.method)) return check_answer(std::string(parts[2]), 200);
  if (sources_.checks == nullptr || !sources_.publish) {
    return error(503, "checks cannot be changed: not connected to the bus");
  }
  std::string id;
  if (parts.size() == 2) {
    if (req.method != "POST") return method_not_allowed("GET, HEAD, POST");
  } else {
    id = std::string(parts[2]);
    if (req.method == "DELETE") {
      if (!sources_.checks->get(id)) return error(404, "no check '" + id + "'");
      if (!sources_.publish({topics::check(id), "", 1, true})) {
        return error(502, "the broker did not take the deletion; try again");
      }
      sources_.checks->erase(id);
      spdlog::info("check {} deleted", id);
      return json_response(200, {{"deleted", id}});
    }
    if (req.method != "PUT") return method_not_allowed("GET, HEAD, PUT, DELETE");
  }
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  if (parts.size() == 2) {
    id = string_field(*body, "id");
    if (id.empty()) id = string_field(*body, "check");
    if (id.empty()) return error(400, "give the check an id");
    if (sources_.checks->get(id)) return error(409, "check '" + id + "' exists; PUT to change it");
  } else if (auto given = string_field(*body, "id"); !given.empty() && given != id) {
    return error(400, "the id in the body differs from the path");
  }
  if (!valid_id(id))
    return error(400, "check ids are 1-63 of a-z, 0-9 and '-', starting with a letter or digit");
  json message = *body;
  message.erase("id");
  message["v"] = 1;
  message["check"] = id;
  if (!message.contains("interval_s")) message["interval_s"] = Check{}.interval_s;
  auto check = decode_check(message.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!check) return error(400, "invalid check: " + check.error());
  bool existed = sources_.checks->get(id).has_value();
  if (!sources_.publish({topics::check(id), encode(*check), 1, true})) {
    return error(502, "the broker did not take the check; try again");
  }
  sources_.checks->set(id, *check);
  spdlog::info("check {} ({}) {}", id, check->type, existed ? "changed" : "created");
  return check_answer(id, parts.size() == 2 ? 201 : 200);
}

HttpResponse ApiRouter::agent_detail(const std::string& id) const {
  auto presence = sources_.presence->get(id);
  std::optional<AgentRecord> registered;
  if (sources_.registrar != nullptr) {
    for (auto& a : sources_.registrar->agents()) {
      if (a.id == id) registered = std::move(a);
    }
  }
  auto store = sources_.store();
  int64_t now = sources_.now_ms();
  json observed_by = json::array(), observes = json::array(), results = json::array();
  int64_t newest = 0;
  for (const auto& r : store.latest) {
    const auto& sid = r.series;
    if (sid.observer == id) newest = std::max(newest, r.result.ts_ms);
    if (sid.kind == TargetKind::kPeer && sid.probe == kMatrixProbe) {
      if (sid.target == id) observed_by.push_back(cell_json(sid.observer, id, r.result, now));
      if (sid.observer == id) observes.push_back(cell_json(id, sid.target, r.result, now));
    }
    if (sid.observer == id || (sid.kind == TargetKind::kPeer && sid.target == id)) {
      json j = sid.kind == TargetKind::kCheck
                   ? check_result_json(sid.target, sid.observer, r.result, now)
                   : cell_json(sid.observer, sid.target, r.result, now);
      j["kind"] = sid.kind == TargetKind::kCheck ? "check" : "peer";
      j["ok"] = result_ok(r.result);
      results.push_back(std::move(j));
    }
  }
  if (!presence && !registered && results.empty()) return error(404, "no agent '" + id + "'");
  std::sort(results.begin(), results.end(),
            [](const json& a, const json& b) { return a["ts"] > b["ts"]; });
  std::optional<Alert> alert;
  if (sources_.alerts != nullptr) alert = sources_.alerts->get(alert_subject_peer(id));
  return json_response(
      200,
      {{"id", id},
       {"presence", presence ? agent_presence_json(*presence, std::max(presence->seen_ms, newest))
                             : json(nullptr)},
       {"registered", registered ? agent_json(*registered) : json(nullptr)},
       {"alert", alert ? json(*alert) : json(nullptr)},
       {"observed_by", std::move(observed_by)},
       {"observes", std::move(observes)},
       {"results", std::move(results)},
       {"now", now}});
}

ApiRouter::Counters ApiRouter::counters() const {
  return {failed_logins_.load(), rate_limited_.load(), unauthenticated_.load(),
          csrf_refused_.load(), role_refused_.load()};
}

HttpResponse ApiRouter::handle(const HttpRequest& req) const {
  HttpResponse r = handle_shared(req);
  if (r.shared_body) {
    r.body = *r.shared_body;
    r.shared_body.reset();
  }
  return r;
}

HttpResponse ApiRouter::handle_shared(const HttpRequest& req) const {
  const std::string_view method = req.method;
  const std::string_view path = req.path;

  // Public routes.
  if (path == "/" || path == "/healthz") {
    if (!is_read(method)) return method_not_allowed("GET, HEAD");
    if (path == "/healthz") return json_response(200, {{"ok", true}});
    return {200,
            "text/html; charset=utf-8",
            std::string(sources_.index_html),
            {{"Cache-Control", "no-cache"},
             {"X-Content-Type-Options", "nosniff"},
             {"Content-Security-Policy", kPagePolicy},
             {"Referrer-Policy", "no-referrer"}}};
  }
  if (path == "/assets/uplot.js" || path == "/assets/uplot.css") {
    if (!is_read(method)) return method_not_allowed("GET, HEAD");
    bool js = path.ends_with(".js");
    std::string_view body = js ? sources_.uplot_js : sources_.uplot_css;
    if (body.empty()) return error(404, "not bundled in this build");
    return {200,
            js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
            std::string(body),
            {{"Cache-Control", "public, max-age=86400"}, {"X-Content-Type-Options", "nosniff"}}};
  }
  if (path == "/status" || path == "/api/public/status") {
    if (!is_read(method)) return method_not_allowed("GET, HEAD");
    if (!status_config().enabled) return error(404, "the public status page is off");
    if (path == "/api/public/status") return public_status();
    return {200,
            "text/html; charset=utf-8",
            std::string(sources_.status_html),
            {{"Cache-Control", "no-cache"},
             {"X-Content-Type-Options", "nosniff"},
             {"Content-Security-Policy", kPagePolicy},
             {"Referrer-Policy", "no-referrer"}}};
  }
  if (!path.starts_with("/api/")) return error(404, "not found");
  if (!is_read(method) && !same_origin(req)) {
    ++csrf_refused_;
    return error(403, "cross-origin request refused");
  }
  if (path == "/api/login") {
    if (method != "POST") return method_not_allowed("POST");
    return login(req);
  }
  if (path == "/api/setup") return setup(req);
  if (path == "/api/session") {
    if (!is_read(method)) return method_not_allowed("GET, HEAD");
    return session_info(req);
  }

  enum class Route {
    kAgents,
    kAgent,
    kMatrix,
    kSeries,
    kLogout,
    kRegistry,
    kUsers,
    kTokens,
    kChecks,
    kAlerts,
    kStatusPage,
    kAdmin  // AdminRoutes: silences, channels, alert history, PATCH registry
  };
  auto parts = split_path(path);
  Route route;
  bool admin_only = false;
  if (sources_.admin != nullptr && AdminRoutes::owns(method, path)) {
    route = Route::kAdmin;
    admin_only = AdminRoutes::needs_admin(method);
  } else if (path == "/api/agents") {
    route = Route::kAgents;
  } else if (parts.size() == 3 && parts[1] == "agents") {
    route = Route::kAgent;
  } else if (path == "/api/alerts") {
    route = Route::kAlerts;
  } else if (path == "/api/status-page") {
    route = Route::kStatusPage;
    admin_only = !is_read(method);
  } else if (parts.size() >= 2 && parts.size() <= 3 && parts[1] == "checks") {
    route = Route::kChecks;
    admin_only = !is_read(method);
  } else if (path == "/api/matrix") {
    route = Route::kMatrix;
  } else if (path == "/api/series") {
    route = Route::kSeries;
  } else if (path == "/api/logout") {
    route = Route::kLogout;
  } else if (parts.size() >= 2 && parts.size() <= 4 && parts[1] == "registry") {
    route = Route::kRegistry;
    admin_only = !is_read(method);
  } else if (parts.size() >= 2 && parts.size() <= 3 && parts[1] == "users") {
    route = Route::kUsers;
    admin_only = true;
  } else if (parts.size() >= 2 && parts.size() <= 3 && parts[1] == "tokens") {
    route = Route::kTokens;
    admin_only = true;
  } else {
    return error(404, "not found");
  }
  if ((route == Route::kAgents || route == Route::kAgent || route == Route::kMatrix ||
       route == Route::kSeries || route == Route::kAlerts) &&
      !is_read(method)) {
    return method_not_allowed("GET, HEAD");
  }
  if (route == Route::kLogout && method != "POST") return method_not_allowed("POST");

  // Everything below needs a session (or an API token); changes made with a
  // session cookie also need its CSRF token.
  std::string session_id;
  std::optional<Session> session;
  bool by_token = false;
  if (req.authorization.starts_with("Bearer ")) {
    std::optional<ApiTokenRecord> token;
    if (sources_.tokens != nullptr) token = sources_.tokens->find(req.authorization.substr(7));
    if (!token) {
      ++unauthenticated_;
      return error(401, "unknown or deleted API token");
    }
    if (route == Route::kUsers || route == Route::kTokens || route == Route::kLogout) {
      ++role_refused_;
      return error(403, "API tokens cannot manage users, tokens or sessions: log in");
    }
    session = Session{"token:" + token->name, token->role, "", 0};
    by_token = true;
  } else {
    session_id = cookie_value(req.cookie, kSessionCookie);
    session = sources_.sessions->find(session_id, sources_.now_ms());
  }
  if (!session) {
    ++unauthenticated_;
    return error(401, "log in first");
  }
  if (!by_token && !is_read(method) &&
      (req.csrf_token.empty() || !secrets_equal(req.csrf_token, session->csrf))) {
    ++csrf_refused_;
    return error(403, "missing or wrong CSRF token (send X-CSRF-Token from GET /api/session)");
  }
  if (admin_only && session->role != Role::kAdmin) {
    ++role_refused_;
    return error(403, "admins only");
  }

  switch (route) {
    case Route::kAgents: {
      auto agents = sources_.presence->snapshot();
      auto store = sources_.store();
      return json_response(
          200, agents_json(agents, store.latest, sources_.now_ms(), sources_.broker_connected()));
    }
    case Route::kAgent:
      return agent_detail(std::string(parts[2]));
    case Route::kMatrix:
      return matrix(req);
    case Route::kChecks:
      return checks(req, parts);
    case Route::kStatusPage:
      return status_page_setting(req);
    case Route::kAlerts: {
      std::vector<std::pair<std::string, Alert>> list;
      if (sources_.alerts != nullptr) list = sources_.alerts->snapshot();
      json answer = alerts_json(list);
      answer["now"] = sources_.now_ms();
      return json_response(200, answer);
    }
    case Route::kSeries:
      return series(req);
    case Route::kLogout: {
      sources_.sessions->remove(session_id);
      HttpResponse r = json_response(200, {{"logged_out", true}});
      r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                               "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      return r;
    }
    case Route::kRegistry:
      return registry(req, parts);
    case Route::kUsers:
      return users(req, parts);
    case Route::kTokens:
      return tokens(req, parts, session->user);
    case Route::kAdmin:
      return sources_.admin->handle(req, session->role == Role::kAdmin);
  }
  return error(500, "internal error");
}

}  // namespace mutuo::dashboard
