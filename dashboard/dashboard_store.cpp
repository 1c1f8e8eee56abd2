#include "dashboard/dashboard_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/store_disk.h"

namespace mutuo::dashboard {

using nlohmann::json;

namespace {

constexpr const char* kUserPrefix = "user/";
constexpr const char* kAgentPrefix = "agent/";

json to_json(const UserRecord& u) {
  return {{"name", u.name},
          {"role", role_name(u.role)},
          {"password_hash", u.password_hash},
          {"created_ms", u.created_ms}};
}

std::optional<UserRecord> user_from(const std::string& value) {
  try {
    json j = json::parse(value);
    UserRecord u;
    u.name = j.at("name").get<std::string>();
    auto role = parse_role(j.at("role").get<std::string>());
    if (!role) return std::nullopt;
    u.role = *role;
    u.password_hash = j.at("password_hash").get<std::string>();
    u.created_ms = j.value("created_ms", int64_t{0});
    return u;
  } catch (const json::exception& e) {
    spdlog::error("dashboard store: unreadable user record: {}", e.what());
    return std::nullopt;
  }
}

json to_json(const AgentRecord& a) {
  return {{"id", a.id},
          {"display_name", a.display_name},
          {"labels", a.labels},
          {"enabled", a.enabled},
          {"created_ms", a.created_ms},
          {"token_issued_ms", a.token_issued_ms}};
}

std::optional<AgentRecord> agent_from(const std::string& value) {
  try {
    json j = json::parse(value);
    AgentRecord a;
    a.id = j.at("id").get<std::string>();
    a.display_name = j.value("display_name", a.id);
    a.labels = j.value("labels", std::map<std::string, std::string>{});
    a.enabled = j.value("enabled", true);
    a.created_ms = j.value("created_ms", int64_t{0});
    a.token_issued_ms = j.value("token_issued_ms", int64_t{0});
    return a;
  } catch (const json::exception& e) {
    spdlog::error("dashboard store: unreadable agent record: {}", e.what());
    return std::nullopt;
  }
}

}  // namespace

namespace {

constexpr const char* kTokenPrefix = "apitoken/";

std::optional<ApiTokenRecord> token_from(const std::string& value) {
  try {
    json j = json::parse(value);
    ApiTokenRecord t;
    t.name = j.at("name").get<std::string>();
    t.role = parse_role(j.at("role").get<std::string>()).value_or(Role::kViewer);
    t.sha256 = j.at("sha256").get<std::string>();
    t.created_ms = j.value("created_ms", int64_t{0});
    t.created_by = j.value("created_by", std::string());
    return t;
  } catch (const json::exception& e) {
    spdlog::error("dashboard store: unreadable API token record: {}", e.what());
    return std::nullopt;
  }
}

}  // namespace

const char* role_name(Role role) { return role == Role::kAdmin ? "admin" : "viewer"; }

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

Result<std::unique_ptr<DashboardStore>> DashboardStore::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;
  options.max_open_files = 64;
  // Users, agents, checks and tokens: kilobytes. A 4 MiB memtable (RocksDB's
  // default is 64) also makes the write-ahead log it preallocates on disk
  // 4.4 MiB instead of 70, which counts on a Raspberry Pi's SD card.
  options.write_buffer_size = 4 << 20;
  // Warnings and errors into the dashboard's own log; no LOG file, whose
  // stats dumps grew without bound and which aborts the process on a full disk.
  store::log_to_program(options, "dashboard store: rocksdb", store::Instance::kPrimary);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // else RocksDB logs an error before creating it
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return Error{"cannot open dashboard store " + dir + ": " + s.ToString()};
  return std::unique_ptr<DashboardStore>(new DashboardStore(db));
}

DashboardStore::~DashboardStore() {
  db_->Close();
  delete db_;
}

Result<bool> DashboardStore::put(const std::string& key, const std::string& value) {
  rocksdb::WriteOptions w;
  w.sync = true;
  rocksdb::Status s = db_->Put(w, key, value);
  if (!s.ok()) return Error{"dashboard store write failed: " + s.ToString()};
  return true;
}

Result<bool> DashboardStore::remove(const std::string& key) {
  rocksdb::WriteOptions w;
  w.sync = true;
  rocksdb::Status s = db_->Delete(w, key);
  if (!s.ok()) return Error{"dashboard store delete failed: " + s.ToString()};
  return true;
}

std::optional<std::string> DashboardStore::get(const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (!s.ok()) {
    if (!s.IsNotFound()) spdlog::error("dashboard store read failed: {}", s.ToString());
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> DashboardStore::scan(const std::string& prefix) const {
  std::vector<std::string> values;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    values.push_back(it->value().ToString());
  }
  if (!it->status().ok()) spdlog::error("dashboard store scan failed: {}", it->status().ToString());
  return values;
}

Result<bool> DashboardStore::put_user(const UserRecord& user) {
  return put(kUserPrefix + user.name, to_json(user).dump());
}

std::optional<UserRecord> DashboardStore::user(const std::string& name) const {
  auto v = get(kUserPrefix + name);
  return v ? user_from(*v) : std::nullopt;
}

std::vector<UserRecord> DashboardStore::users() const {
  std::vector<UserRecord> out;
  for (const auto& v : scan(kUserPrefix)) {
    if (auto u = user_from(v)) out.push_back(std::move(*u));
  }
  return out;
}

Result<bool> DashboardStore::delete_user(const std::string& name) {
  return remove(kUserPrefix + name);
}

Result<bool> DashboardStore::put_agent(const AgentRecord& agent) {
  return put(kAgentPrefix + agent.id, to_json(agent).dump());
}

std::optional<AgentRecord> DashboardStore::agent(const std::string& id) const {
  auto v = get(kAgentPrefix + id);
  return v ? agent_from(*v) : std::nullopt;
}

std::vector<AgentRecord> DashboardStore::agents() const {
  std::vector<AgentRecord> out;
  for (const auto& v : scan(kAgentPrefix)) {
    if (auto a = agent_from(v)) out.push_back(std::move(*a));
  }
  return out;
}

Result<bool> DashboardStore::delete_agent(const std::string& id) {
  return remove(kAgentPrefix + id);
}

Result<bool> DashboardStore::put_setting(const std::string& name, const std::string& json) {
  return put("setting/" + name, json);
}

std::optional<std::string> DashboardStore::setting(const std::string& name) const {
  return get("setting/" + name);
}

Result<bool> DashboardStore::put_token(const ApiTokenRecord& t) {
  json j = {{"name", t.name},
            {"role", role_name(t.role)},
            {"sha256", t.sha256},
            {"created_ms", t.created_ms},
            {"created_by", t.created_by}};
  return put(kTokenPrefix + t.name, j.dump());
}

std::vector<ApiTokenRecord> DashboardStore::tokens() const {
  std::vector<ApiTokenRecord> out;
  for (const auto& v : scan(kTokenPrefix)) {
    if (auto t = token_from(v)) out.push_back(std::move(*t));
  }
  return out;
}

Result<bool> DashboardStore::delete_token(const std::string& name) {
  return remove(kTokenPrefix + name);
}

}  // namespace mutuo::dashboard
