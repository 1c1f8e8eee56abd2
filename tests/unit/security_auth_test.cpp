// Dashboard security from in-memory and on-disk parts (no broker): password
// hashes, tokens, sessions, the login limiter, the router's rules for who may do
// what, the registration rules and the exact rights of an agent's role.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "dashboard/accounts.h"
#include "dashboard/api_router.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/dynsec_admin.h"
#include "dashboard/login_limiter.h"
#include "dashboard/password_hash.h"
#include "dashboard/random_token.h"
#include "dashboard/registrar.h"
#include "dashboard/session_store.h"
#include "tests/unit/dashboard_support.h"
#include "tests/unit/test_support.h"

using namespace mutuo::dashboard;
using nlohmann::json;

using mutuo::test::header;
using mutuo::test::TempDir;

namespace {

// Every byte of every file under `dir`.
std::string all_bytes(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.append(std::istreambuf_iterator<char>(f), {});
  }
  return out;
}

}  // namespace

TEST_CASE("password hashes: salted, verifiable, and never the password") {
  std::string h1 = hash_password("correct horse battery", 1000);
  std::string h2 = hash_password("correct horse battery", 1000);
  CHECK(h1.starts_with("pbkdf2-sha256$1000$"));
  CHECK(h1 != h2);  // a fresh salt each time
  CHECK(h1.find("correct horse") == std::string::npos);
  CHECK(verify_password("correct horse battery", h1));
  CHECK(verify_password("correct horse battery", h2));
  CHECK_FALSE(verify_password("correct horse battery!", h1));
  CHECK_FALSE(verify_password("", h1));
  CHECK_FALSE(verify_password("x", ""));
  CHECK_FALSE(verify_password("x", "pbkdf2-sha256$0$AAAA$AAAA"));
  CHECK_FALSE(verify_password("x", "pbkdf2-sha256$99999999999$AAAA$AAAA"));
  CHECK_FALSE(verify_password("x", "md5$1$x$y"));
  CHECK(hash_password("pw").starts_with("pbkdf2-sha256$600000$"));
}

TEST_CASE("random tokens: 256 bits, base64url, all different") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = random_token();
    CHECK(t.size() == 43);  // 32 bytes
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 200);
  CHECK(base64url("\xff\xfe") == "__4");
  CHECK(secrets_equal("abc", "abc"));
  CHECK_FALSE(secrets_equal("abc", "abd"));
  CHECK_FALSE(secrets_equal("abc", "abcd"));
}

TEST_CASE("sessions expire, and a user's sessions end together") {
  SessionStore sessions(1000);
  auto [id, s] = sessions.create("ann", Role::kAdmin, 5000);
  CHECK(id.size() == 43);
  CHECK(s.csrf.size() == 43);
  CHECK(s.csrf != id);
  CHECK(sessions.find(id, 5999).has_value());
  CHECK_FALSE(sessions.find(id, 6000).has_value());
  CHECK_FALSE(sessions.find("", 5000).has_value());
  auto a = sessions.create("bob", Role::kViewer, 5000).first;
  auto b = sessions.create("bob", Role::kViewer, 5000).first;
  auto c = sessions.create("cat", Role::kViewer, 5000).first;
  sessions.remove_user("bob");
  CHECK_FALSE(sessions.find(a, 5001).has_value());
  CHECK_FALSE(sessions.find(b, 5001).has_value());
  CHECK(sessions.find(c, 5001).has_value());
}

TEST_CASE("login limiter: blocks an address or a user after 5 failures, for the window") {
  LoginLimiter limiter(5, 60000);
  for (int i = 0; i < 5; ++i) {
    CHECK(limiter.retry_after_ms("10.0.0.1", "ann", 1000 + i) == 0);
    limiter.record_failure("10.0.0.1", "ann", 1000 + i);
  }
  CHECK(limiter.retry_after_ms("10.0.0.1", "ann", 2000) == 59000);
  CHECK(limiter.retry_after_ms("10.0.0.1", "bob", 2000) > 0);  // same address
  CHECK(limiter.retry_after_ms("10.0.0.2", "ann", 2000) > 0);  // same user
  CHECK(limiter.retry_after_ms("10.0.0.2", "bob", 2000) == 0);
  CHECK(limiter.retry_after_ms("10.0.0.1", "ann", 61000) == 0);  // window over
  limiter.record_failure("10.0.0.3", "cat", 0);
  limiter.record_success("cat");
  CHECK(limiter.retry_after_ms("10.0.0.4", "cat", 1) == 0);
}

TEST_CASE("accounts: first admin only once; rules for names and passwords; timing-safe login") {
  TempDir dir;
  auto store = std::move(DashboardStore::open((dir.path / "d").string())).value();
  Accounts accounts(store.get(), 1000);
  CHECK(accounts.empty());
  CHECK_FALSE(accounts.create_first_admin("admin", "short", 1).ok());
  CHECK_FALSE(accounts.create_first_admin("Admin!", "long enough password", 1).ok());
  REQUIRE(accounts.create_first_admin("admin", "long enough password", 1).ok());
  CHECK_FALSE(accounts.create_first_admin("admin2", "long enough password", 1).ok());
  CHECK(accounts.authenticate("admin", "long enough password").has_value());
  CHECK_FALSE(accounts.authenticate("admin", "long enough passwort").has_value());
  CHECK_FALSE(accounts.authenticate("nobody", "long enough password").has_value());
  CHECK_FALSE(accounts.remove("admin").ok());  // the last admin stays
  CHECK(accounts.create("view", "another long one", Role::kViewer, 2).ok());
  CHECK_FALSE(accounts.create("view", "another long one", Role::kViewer, 2).ok());
  // On disk: the hash, never the password.
  store.reset();
  std::string bytes = all_bytes(dir.path);
  CHECK(bytes.find("pbkdf2-sha256$1000$") != std::string::npos);
  CHECK(bytes.find("long enough password") == std::string::npos);
}

TEST_CASE("the dashboard store keeps registrations across a reopen") {
  TempDir dir;
  std::string path = (dir.path / "d").string();
  {
    auto store = std::move(DashboardStore::open(path)).value();
    AgentRecord a{"fra-1", "Frankfurt <1>", {{"site", "fra"}}, true, 10, 20};
    REQUIRE(store->put_agent(a).ok());
    REQUIRE(store->put_agent({"ams-2", "", {}, false, 11, 21}).ok());
  }
  auto store = std::move(DashboardStore::open(path)).value();
  auto agents = store->agents();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0].id == "ams-2");
  CHECK_FALSE(agents[0].enabled);
  CHECK(agents[1].display_name == "Frankfurt <1>");
  CHECK(agents[1].labels.at("site") == "fra");
  CHECK(store->delete_agent("ams-2").ok());
  CHECK_FALSE(store->agent("ams-2").has_value());
}

TEST_CASE("registration rules: ids as DESIGN.md says, clear messages, safe labels") {
  auto why = [](std::string id, std::string name = "",
                std::map<std::string, std::string> labels = {}) {
    return invalid_registration({std::move(id), std::move(name), std::move(labels)});
  };
  CHECK_FALSE(why("fra-1").has_value());
  CHECK_FALSE(why(std::string(63, 'a')).has_value());
  for (const std::string& bad :
       std::vector<std::string>{"", "-a", "A", "a+b", "a#", "a/b", "a b", "a.b", "é",
                                std::string(64, 'a'), std::string("a\0b", 3)}) {
    auto m = why(bad);
    REQUIRE(m.has_value());
    CHECK(m->find("invalid agent id") != std::string::npos);
  }
  CHECK_FALSE(why("a", "<img src=x onerror=alert(1)>").has_value());  // text, escaped by the UI
  CHECK(why("a", "line\nbreak").has_value());
  CHECK(why("a", std::string(101, 'x')).has_value());
  CHECK_FALSE(why("a", "", {{"site", "fra"}, {"provider", "acme-2.b:c_d"}}).has_value());
  CHECK(why("a", "", {{"Site", "fra"}}).has_value());
  CHECK(why("a", "", {{"site", "fra; rm -rf /"}}).has_value());
  CHECK(why("a", "", {{"site", "'"}}).has_value());
  CHECK(why("a", "", {{"site", ""}}).has_value());
}

TEST_CASE("an agent's role holds exactly the topics of DESIGN.md's security model") {
  std::set<std::pair<std::string, std::string>> acls;
  for (const auto& a : agent_role_acls("fra-1")) {
    CHECK(a["allow"] == true);
    acls.emplace(a["acltype"], a["topic"]);
  }
  CHECK(acls == std::set<std::pair<std::string, std::string>>{
                    {"publishClientSend", "mutuo/v1/agents/fra-1/status"},
                    {"publishClientSend", "mutuo/v1/results/fra-1"},
                    {"subscribeLiteral", "mutuo/v1/peers/+"},
                    {"subscribeLiteral", "mutuo/v1/checks/+"},
                    {"subscribeLiteral", "mutuo/v1/assign/fra-1"},
                    {"subscribeLiteral", "mutuo/v1/acks/fra-1"},
                    {"subscribeLiteral", "mutuo/v1/probe-now/fra-1"},
                });
  CHECK(agent_role_name("fra-1") == "agent-fra-1");
}

TEST_CASE("the agent command line writes a private token file and passes no secret in argv") {
  AgentRecord a{"fra-1", "F", {{"site", "fra"}}, true, 0, 0};
  std::string cmd = agent_command(a, "TOKEN-x_y", "ssl://broker.example:8883", "/etc/mutuo/ca.crt");
  CHECK(cmd.find("umask 077") != std::string::npos);
  CHECK(cmd.find("'TOKEN-x_y' > /etc/mutuo/fra-1.token") != std::string::npos);
  auto run_line = cmd.substr(cmd.find("mutuo-agent"));
  CHECK(run_line.find("TOKEN") == std::string::npos);
  CHECK(run_line.find("--token-file /etc/mutuo/fra-1.token") != std::string::npos);
  CHECK(run_line.find("--broker 'ssl://broker.example:8883'") != std::string::npos);
  CHECK(run_line.find("--ca-file '/etc/mutuo/ca.crt'") != std::string::npos);
  CHECK(run_line.find("--label site=fra") != std::string::npos);
}

TEST_CASE("the agent config file names the token file and holds no token") {
  AgentRecord a{"fra-1", "F", {{"provider", "acme"}, {"site", "fra"}}, true, 0, 0};
  std::string cfg = agent_config(a, "ssl://b:8883", "/etc/mutuo/ca \"x\".crt");
  CHECK(cfg.find("id = \"fra-1\"\n") != std::string::npos);
  CHECK(cfg.find("broker = \"ssl://b:8883\"\n") != std::string::npos);
  CHECK(cfg.find("ca-file = \"/etc/mutuo/ca \\\"x\\\".crt\"\n") != std::string::npos);
  CHECK(cfg.find("token-file = \"/etc/mutuo/fra-1.token\"\n") != std::string::npos);
  CHECK(cfg.find("label = [\"provider=acme\", \"site=fra\"]\n") != std::string::npos);
  CHECK(agent_config({"x", "", {}, true, 0, 0}, "tcp://h:1", "").find("label") ==
        std::string::npos);
}

TEST_CASE("registry entry document") {
  json j = registry_entry_json({"fra-1", "Frankfurt", {{"site", "fra"}}, false, 1, 2}, 99);
  CHECK(j == json{{"v", 1},
                  {"agent", "fra-1"},
                  {"display_name", "Frankfurt"},
                  {"labels", {{"site", "fra"}}},
                  {"enabled", false},
                  {"ts", 99}});
}

namespace {

struct AuthFixture {
  TempDir dir;
  std::unique_ptr<DashboardStore> store =
      std::move(DashboardStore::open((dir.path / "data").string())).value();
  Accounts accounts{store.get(), 1000};
  SessionStore sessions;
  LoginLimiter limiter;
  SetupToken setup{""};
  PresenceTable table;
  int64_t now = 10000;
  ApiRouter router{{
      .presence = &table,
      .store = [] { return StoreView::Snapshot{}; },
      .broker_connected = [] { return true; },
      .now_ms = [this] { return now; },
      .index_html = "<!doctype html>",
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
      .registrar = nullptr,
      .setup = &setup,
  }};

  AuthFixture() {
    REQUIRE(accounts.create_first_admin("root", "admin password 1", 1).ok());
    REQUIRE(accounts.create("viewer", "viewer password 1", Role::kViewer, 1).ok());
  }

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& cookie = "", const std::string& csrf = "",
                    const std::string& body = "", const std::string& origin = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.cookie = cookie;
    req.csrf_token = csrf;
    req.body = body;
    req.content_type = body.empty() ? "" : "application/json";
    req.remote_addr = "127.0.0.1";
    req.host = "127.0.0.1:8470";
    req.origin = origin;
    return router.handle(req);
  }

  // Logs in; returns {cookie header value, csrf token}.
  std::pair<std::string, std::string> login(const std::string& user, const std::string& pw) {
    auto r = call("POST", "/api/login", "", "", json{{"username", user}, {"password", pw}}.dump());
    REQUIRE(r.status == 200);
    std::string set_cookie = header(r, "Set-Cookie");
    std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    return {cookie, json::parse(r.body)["csrf"].get<std::string>()};
  }
};

}  // namespace

TEST_CASE_FIXTURE(AuthFixture, "login sets an HttpOnly SameSite cookie with an expiry") {
  auto r = call("POST", "/api/login", "", "",
                json{{"username", "root"}, {"password", "admin password 1"}}.dump());
  CHECK(r.status == 200);
  std::string c = header(r, "Set-Cookie");
  CHECK(c.starts_with("mutuo_session="));
  CHECK(c.find("; HttpOnly") != std::string::npos);
  CHECK(c.find("; SameSite=Strict") != std::string::npos);
  CHECK(c.find("; Max-Age=43200") != std::string::npos);
  CHECK(c.find("; Path=/") != std::string::npos);
  json j = json::parse(r.body);
  CHECK(j["role"] == "admin");
  CHECK(j["csrf"].get<std::string>().size() == 43);
  CHECK(r.body.find("password") == std::string::npos);
}

TEST_CASE_FIXTURE(AuthFixture, "reads need a session; the page and health do not") {
  CHECK(call("GET", "/").status == 200);
  CHECK(call("GET", "/healthz").status == 200);
  CHECK(call("GET", "/api/agents").status == 401);
  CHECK(call("GET", "/api/matrix").status == 401);
  CHECK(call("GET", "/api/registry").status == 401);
  CHECK(call("GET", "/api/session").status == 401);
  CHECK(call("GET", "/api/agents", "mutuo_session=forged").status == 401);
  auto [cookie, csrf] = login("viewer", "viewer password 1");
  CHECK(call("GET", "/api/agents", cookie).status == 200);
  CHECK(call("GET", "/api/matrix", cookie).status == 200);
  CHECK(call("GET", "/api/registry", cookie).status == 200);
  auto s = call("GET", "/api/session", cookie);
  CHECK(s.status == 200);
  CHECK(json::parse(s.body)["csrf"] == csrf);
  now += 13LL * 3600 * 1000;  // past the 12 h session
  CHECK(call("GET", "/api/agents", cookie).status == 401);
}

TEST_CASE_FIXTURE(AuthFixture, "every change needs a session and its CSRF token") {
  auto [cookie, csrf] = login("root", "admin password 1");
  auto [other_cookie, other_csrf] = login("root", "admin password 1");
  std::string reg = json{{"id", "fra-1"}}.dump();
  std::string user =
      json{{"username", "x1"}, {"password", "0123456789ab"}, {"role", "viewer"}}.dump();
  struct Change {
    const char* method;
    const char* path;
    std::string body;
  };
  for (const Change& c :
       {Change{"POST", "/api/registry", reg}, Change{"POST", "/api/registry/fra-1/rotate", ""},
        Change{"POST", "/api/registry/fra-1/disable", ""},
        Change{"POST", "/api/registry/fra-1/enable", ""},
        Change{"DELETE", "/api/registry/fra-1", ""}, Change{"POST", "/api/users", user},
        Change{"DELETE", "/api/users/viewer", ""}, Change{"POST", "/api/logout", ""}}) {
    CAPTURE(c.path);
    CHECK(call(c.method, c.path, "", "", c.body).status == 401);
    CHECK(call(c.method, c.path, "", csrf, c.body).status == 401);
    CHECK(call(c.method, c.path, cookie, "", c.body).status == 403);
    CHECK(call(c.method, c.path, cookie, other_csrf, c.body).status == 403);
    CHECK(call(c.method, c.path, cookie, csrf, c.body, "http://evil.example").status == 403);
  }
  // With both, the request goes through (no registrar here: 503 for registry).
  auto refused = router.counters();
  CHECK(refused.unauthenticated == 16);
  CHECK(refused.csrf_refused == 24);
  CHECK(call("POST", "/api/registry", cookie, csrf, reg).status == 503);
  CHECK(call("POST", "/api/users", cookie, csrf, user).status == 201);
  CHECK(call("POST", "/api/users", cookie, csrf, user, "http://127.0.0.1:8470").status ==
        400);  // exists
  CHECK(call("POST", "/api/logout", cookie, csrf).status == 200);
  CHECK(call("GET", "/api/agents", cookie).status == 401);
  CHECK(call("GET", "/api/agents", other_cookie).status == 200);
}

TEST_CASE_FIXTURE(AuthFixture, "invalid UTF-8 in a path is answered, not thrown") {
  auto [cookie, csrf] = login("root", "admin password 1");
  auto r = call("DELETE", "/api/users/\xff\xfe", cookie, csrf);
  CHECK(r.status == 400);
  CHECK(json::parse(r.body)["error"].get<std::string>().find("no user") != std::string::npos);
}

TEST_CASE_FIXTURE(AuthFixture, "a viewer cannot register agents or manage users") {
  auto [cookie, csrf] = login("viewer", "viewer password 1");
  auto r = call("POST", "/api/registry", cookie, csrf, json{{"id", "fra-1"}}.dump());
  CHECK(r.status == 403);
  CHECK(json::parse(r.body)["error"] == "admins only");
  CHECK(call("POST", "/api/registry/fra-1/rotate", cookie, csrf).status == 403);
  CHECK(call("DELETE", "/api/registry/fra-1", cookie, csrf).status == 403);
  CHECK(call("GET", "/api/users", cookie).status == 403);
  CHECK(call("POST", "/api/logout", cookie, csrf).status == 200);
}

TEST_CASE_FIXTURE(AuthFixture, "logins are rate-limited; bodies must be JSON") {
  for (int i = 0; i < 5; ++i) {
    CHECK(
        call("POST", "/api/login", "", "", json{{"username", "root"}, {"password", "nope"}}.dump())
            .status == 401);
  }
  auto r = call("POST", "/api/login", "", "",
                json{{"username", "root"}, {"password", "admin password 1"}}.dump());
  CHECK(r.status == 429);
  CHECK_FALSE(header(r, "Retry-After").empty());
  now += 5 * 60 * 1000;
  CHECK(call("POST", "/api/login", "", "",
             json{{"username", "root"}, {"password", "admin password 1"}}.dump())
            .status == 200);
  HttpRequest form;
  form.method = "POST";
  form.path = "/api/login";
  form.content_type = "application/x-www-form-urlencoded";
  form.body = "username=root&password=admin+password+1";
  CHECK(router.handle(form).status == 415);
}

TEST_CASE("setup: the one-time token creates the first admin once") {
  TempDir dir;
  auto store = std::move(DashboardStore::open((dir.path / "data").string())).value();
  Accounts accounts(store.get(), 1000);
  SessionStore sessions;
  LoginLimiter limiter;
  SetupToken setup("the-setup-token");
  PresenceTable table;
  ApiRouter router({.presence = &table,
                    .store = [] { return StoreView::Snapshot{}; },
                    .broker_connected = [] { return true; },
                    .now_ms = [] { return int64_t{1}; },
                    .index_html = "",
                    .accounts = &accounts,
                    .sessions = &sessions,
                    .login_limiter = &limiter,
                    .setup = &setup});
  auto post = [&](const json& body) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/api/setup";
    req.body = body.dump();
    req.content_type = "application/json";
    return router.handle(req);
  };
  HttpRequest get;
  get.method = "GET";
  get.path = "/api/setup";
  CHECK(json::parse(router.handle(get).body)["needed"] == true);
  CHECK(post({{"token", "wrong"}, {"username", "ann"}, {"password", "0123456789ab"}}).status ==
        403);
  CHECK(accounts.empty());
  auto r = post({{"token", "the-setup-token"}, {"username", "ann"}, {"password", "0123456789ab"}});
  CHECK(r.status == 200);
  CHECK(header(r, "Set-Cookie").starts_with("mutuo_session="));
  CHECK(post({{"token", "the-setup-token"}, {"username", "eve"}, {"password", "0123456789ab"}})
            .status == 409);
  CHECK(json::parse(router.handle(get).body)["needed"] == false);
  CHECK(accounts.list().size() == 1);
}
