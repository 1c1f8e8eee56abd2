// API tokens for scripts: created once by an admin, kept only as a hash, used as
// "Authorization: Bearer ..." without CSRF, never to manage users or tokens.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "dashboard/api_router.h"
#include "dashboard/api_tokens.h"
#include "dashboard/dashboard_store.h"
#include "tests/unit/test_support.h"

using mutuo::dashboard::HttpRequest;
using mutuo::dashboard::HttpResponse;
using mutuo::dashboard::Role;
using nlohmann::json;

using mutuo::test::TempDir;

namespace {

struct TokenFixture {
  TempDir dir;
  std::unique_ptr<mutuo::dashboard::DashboardStore> store =
      std::move(mutuo::dashboard::DashboardStore::open((dir.path / "data").string())).value();
  mutuo::dashboard::Accounts accounts{store.get(), 1000};
  mutuo::dashboard::SessionStore sessions;
  mutuo::dashboard::LoginLimiter limiter;
  mutuo::dashboard::PresenceTable table;
  mutuo::dashboard::ApiTokens tokens{store.get()};
  mutuo::dashboard::ApiRouter router{{
      .presence = &table,
      .store = [] { return mutuo::dashboard::StoreView::Snapshot{}; },
      .broker_connected = [] { return true; },
      .now_ms = [] { return int64_t{1000}; },
      .index_html = "",
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &limiter,
      .tokens = &tokens,
  }};
  std::string admin_cookie, admin_csrf;

  TokenFixture() {
    auto [id, s] = sessions.create("root", Role::kAdmin, 1000);
    admin_cookie = "mutuo_session=" + id;
    admin_csrf = s.csrf;
  }

  HttpResponse as_admin(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.cookie = admin_cookie;
    r.csrf_token = admin_csrf;
    r.body = body;
    if (!body.empty()) r.content_type = "application/json";
    return router.handle(r);
  }

  HttpResponse with_token(const std::string& token, const std::string& method,
                          const std::string& path, const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.authorization = "Bearer " + token;
    r.body = body;
    if (!body.empty()) r.content_type = "application/json";
    return router.handle(r);
  }
};

}  // namespace

TEST_CASE_FIXTURE(TokenFixture, "the dashboard's store: no LOG file, a few MiB on disk") {
  CHECK(mutuo::test::info_log_files(dir.path / "data").empty());
  uint64_t allocated = 0;  // blocks, as `du` counts them: the preallocated write-ahead log too
  for (const auto& entry : std::filesystem::directory_iterator(dir.path / "data")) {
    struct stat st {};
    if (stat(entry.path().c_str(), &st) == 0)
      allocated += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  CHECK(allocated < (16u << 20));  // RocksDB's default memtable preallocated 70 MiB of log
}

TEST_CASE("sha256_hex matches the known digest of 'abc'") {
  CHECK(mutuo::dashboard::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE_FIXTURE(TokenFixture, "tokens: created once, listed without the secret, stored hashed") {
  auto r = as_admin("POST", "/api/tokens", R"({"name":"grafana","role":"viewer"})");
  REQUIRE(r.status == 201);
  json j = json::parse(r.body);
  std::string token = j["token"];
  CHECK(token.starts_with("mutuo_"));
  CHECK(token.size() > 40);
  CHECK(j["name"] == "grafana");
  CHECK(j["created_by"] == "root");

  json list = json::parse(as_admin("GET", "/api/tokens").body);
  REQUIRE(list["tokens"].size() == 1);
  CHECK_FALSE(list["tokens"][0].contains("token"));
  CHECK(list["tokens"][0]["role"] == "viewer");

  // The token is not in the store's files, only its hash.
  store.reset();
  std::string all;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path / "data")) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(all.find(token.substr(6)) == std::string::npos);
  CHECK(all.find(mutuo::dashboard::sha256_hex(token)) != std::string::npos);
}

TEST_CASE_FIXTURE(TokenFixture, "tokens: a viewer token reads, needs no CSRF, may not change") {
  std::string token =
      json::parse(as_admin("POST", "/api/tokens", R"({"name":"script"})").body)["token"];
  CHECK(with_token(token, "GET", "/api/agents").status == 200);
  CHECK(with_token(token, "GET", "/api/registry").status == 200);
  // Viewer role: an admin route is refused by role, not by CSRF.
  auto r = with_token(token, "POST", "/api/registry", R"({"id":"x-1"})");
  CHECK(r.status == 403);
  CHECK(json::parse(r.body)["error"] == "admins only");
  CHECK(with_token(token, "GET", "/api/tokens").status == 403);
  CHECK(with_token(token, "GET", "/api/users").status == 403);
  CHECK(with_token(token, "POST", "/api/logout").status == 403);
}

TEST_CASE_FIXTURE(TokenFixture, "tokens: wrong, deleted and duplicate tokens") {
  CHECK(with_token("mutuo_nope", "GET", "/api/agents").status == 401);
  CHECK(with_token("", "GET", "/api/agents").status == 401);
  std::string token =
      json::parse(as_admin("POST", "/api/tokens", R"({"name":"ci","role":"admin"})").body)["token"];
  CHECK(with_token(token, "GET", "/api/agents").status == 200);
  CHECK(as_admin("POST", "/api/tokens", R"({"name":"ci"})").status == 400);
  CHECK(as_admin("POST", "/api/tokens", R"({"name":"Bad Name"})").status == 400);
  CHECK(as_admin("POST", "/api/tokens", R"({"name":"x","role":"root"})").status == 400);
  CHECK(as_admin("DELETE", "/api/tokens/ci").status == 200);
  CHECK(as_admin("DELETE", "/api/tokens/ci").status == 404);
  auto r = with_token(token, "GET", "/api/agents");
  CHECK(r.status == 401);
  CHECK(json::parse(r.body)["error"].is_string());
}

TEST_CASE_FIXTURE(TokenFixture, "tokens: managing them needs an admin session with CSRF") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/api/tokens";
  r.cookie = admin_cookie;
  r.content_type = "application/json";
  r.body = R"({"name":"x"})";
  CHECK(router.handle(r).status == 403);  // no CSRF token
  auto [id, s] = sessions.create("viewer", Role::kViewer, 1000);
  r.cookie = "mutuo_session=" + id;
  r.csrf_token = s.csrf;
  CHECK(router.handle(r).status == 403);  // not an admin
}
