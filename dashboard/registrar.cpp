#include "dashboard/registrar.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "common/ids.h"
#include "common/messages/status.h"
#include "common/topics.h"
#include "dashboard/random_token.h"

namespace mutuo::dashboard {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxDisplayName = 100;
constexpr std::size_t kMaxLabels = 16;

std::string registry_topic(const std::string& id) {
  return std::string(topics::kRoot) + "registry/" + id;
}

bool has_control_chars(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

template <class T>
RegistrarResult<T> fail(RegistrarError e, std::string message) {
  RegistrarResult<T> r;
  r.error = e;
  r.message = std::move(message);
  return r;
}

template <class T>
RegistrarResult<T> ok(T value) {
  RegistrarResult<T> r;
  r.value = std::move(value);
  return r;
}

}  // namespace

std::optional<std::string> invalid_registration(const RegistrationRequest& r) {
  if (!valid_id(r.id)) {
    return "invalid agent id '" + r.id +
           "': use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit";
  }
  if (r.display_name.size() > kMaxDisplayName) return "display name longer than 100 bytes";
  if (has_control_chars(r.display_name)) return "display name contains control characters";
  if (r.labels.size() > kMaxLabels) return "more than 16 labels";
  static const std::regex key_re("[a-z][a-z0-9_-]{0,31}");
  static const std::regex value_re("[A-Za-z0-9._:-]{1,64}");
  for (const auto& [k, v] : r.labels) {
    if (!std::regex_match(k, key_re)) {
      return "invalid label key '" + k + "': use [a-z][a-z0-9_-]{0,31}";
    }
    if (!std::regex_match(v, value_re)) {
      return "invalid value for label '" + k + "': use 1-64 of A-Z a-z 0-9 . _ : -";
    }
  }
  return std::nullopt;
}

json registry_entry_json(const AgentRecord& a, int64_t now_ms) {
  return {{"v", 1},
          {"agent", a.id},
          {"display_name", a.display_name},
          {"labels", a.labels},
          {"enabled", a.enabled},
          {"ts", now_ms}};
}

json agent_record_json(const AgentRecord& a) {
  return {{"id", a.id},
          {"display_name", a.display_name},
          {"labels", a.labels},
          {"enabled", a.enabled},
          {"created", a.created_ms},
          {"token_issued", a.token_issued_ms}};
}

std::string agent_command(const AgentRecord& a, const std::string& token,
                          const std::string& broker_uri, const std::string& ca_file) {
  std::string token_file = "/etc/mutuo/" + a.id + ".token";
  std::string out = "install -d -m 700 /etc/mutuo && (umask 077; printf '%s\\n' " +
                    shell_quote(token) + " > " + token_file + ")\n";
  out += "mutuo-agent --id " + a.id + " --broker " + shell_quote(broker_uri);
  if (!ca_file.empty()) out += " --ca-file " + shell_quote(ca_file);
  out += " --token-file " + token_file;
  for (const auto& [k, v] : a.labels) out += " --label " + k + "=" + v;
  return out + "\n";
}

std::string agent_config(const AgentRecord& a, const std::string& broker_uri,
                         const std::string& ca_file) {
  auto quoted = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  std::string out =
      "# /etc/mutuo/" + a.id + ".toml; run: mutuo-agent --config /etc/mutuo/" + a.id + ".toml\n";
  out += "id = " + quoted(a.id) + "\n";
  out += "broker = " + quoted(broker_uri) + "\n";
  if (!ca_file.empty()) out += "ca-file = " + quoted(ca_file) + "\n";
  out += "token-file = " + quoted("/etc/mutuo/" + a.id + ".token") + "\n";
  if (!a.labels.empty()) {
    out += "label = [";
    bool first = true;
    for (const auto& [k, v] : a.labels) {
      out += (first ? "" : ", ") + quoted(k + "=" + v);
      first = false;
    }
    out += "]\n";
  }
  return out;
}

Registrar::Registrar(DashboardStore* store, DynsecAdmin* admin, Publish publish, Clock now_ms)
    : store_(store), admin_(admin), publish_(std::move(publish)), now_ms_(std::move(now_ms)) {}

std::optional<std::string> Registrar::dynsec(const std::vector<json>& commands,
                                             const std::vector<std::string>& tolerated) {
  auto replies = admin_->run(commands);
  if (!replies) return replies.error();
  for (const auto& r : *replies) {
    if (r.error.empty()) continue;
    bool ok = false;
    for (const auto& t : tolerated) ok = ok || r.error.find(t) != std::string::npos;
    if (!ok) return "broker refused " + r.command + ": " + r.error;
  }
  return std::nullopt;
}

void Registrar::publish_entry(const AgentRecord& a) {
  if (!publish_(
          MqttMessage{registry_topic(a.id), registry_entry_json(a, now_ms_()).dump(), 1, true})) {
    spdlog::warn(
        "registry entry of {} not published now (broker not connected); it will be on "
        "the next connect",
        a.id);
  }
}

void Registrar::mark_offline(const std::string& id, bool forget) {
  // The plugin kicks without the last will, so the agent's retained status would
  // say "online" for ever: say what happened in its place.
  std::string payload;
  if (!forget) {
    Status s;
    s.agent = id;
    s.online = false;
    s.ts_ms = now_ms_();
    s.reason = "lost";
    payload = encode(s);
  }
  if (!publish_(MqttMessage{topics::status(id), payload, 1, true})) {
    spdlog::warn("could not update the status of {} (broker not connected)", id);
  }
}

void Registrar::republish_all() {
  for (const auto& a : store_->agents()) publish_entry(a);
}

Result<std::size_t> Registrar::upgrade_agent_roles() {
  std::lock_guard lock(mu_);
  std::size_t upgraded = 0;
  for (const auto& a : store_->agents()) {
    std::vector<json> commands;
    for (auto acl : agent_role_acls(a.id)) {
      acl["command"] = "addRoleACL";
      acl["rolename"] = agent_role_name(a.id);
      commands.push_back(std::move(acl));
    }
    auto replies = admin_->run(commands);
    if (!replies) return Error{replies.error()};
    std::size_t added = 0;
    for (const auto& r : *replies) {
      if (r.error.empty()) {
        ++added;
      } else if (r.error.find("already exists") == std::string::npos) {
        // A role removed at the broker by hand is the operator's choice: say so, go on.
        spdlog::warn("agent {}: could not update its role's rights: {}", a.id, r.error);
      }
    }
    if (added > 0) {
      spdlog::info("agent {}: its role gained {} right(s) added by this version", a.id, added);
      ++upgraded;
    }
  }
  return upgraded;
}

RegistrarResult<IssuedToken> Registrar::register_agent(RegistrationRequest request) {
  if (request.display_name.empty()) request.display_name = request.id;
  if (auto why = invalid_registration(request))
    return fail<IssuedToken>(RegistrarError::kInvalid, *why);
  std::lock_guard lock(mu_);
  if (store_->agent(request.id)) {
    return fail<IssuedToken>(RegistrarError::kConflict,
                             "agent '" + request.id + "' is already registered");
  }
  // A client of that name provisioned outside the dashboard (broker-config's
  // add-agent) is left alone: the operator deletes it first.
  auto existing = admin_->run({{{"command", "getClient"}, {"username", request.id}}});
  if (!existing) return fail<IssuedToken>(RegistrarError::kBroker, existing.error());
  if (existing->front().error.empty()) {
    return fail<IssuedToken>(RegistrarError::kConflict,
                             "the broker already has a client '" + request.id +
                                 "' (provisioned outside the dashboard); delete it there first");
  }
  std::string role = agent_role_name(request.id);
  std::string token = random_token();
  std::vector<json> commands;
  // A role left over from an earlier registration or from broker-config's
  // add-agent is replaced, so the role holds exactly the ACLs below.
  commands.push_back({{"command", "deleteRole"}, {"rolename", role}});
  commands.push_back({{"command", "createRole"}, {"rolename", role}});
  for (auto acl : agent_role_acls(request.id)) {
    acl["command"] = "addRoleACL";
    acl["rolename"] = role;
    commands.push_back(std::move(acl));
  }
  commands.push_back({{"command", "createClient"},
                      {"username", request.id},
                      {"clientid", request.id},
                      {"password", token},
                      {"roles", json::array({{{"rolename", role}}})}});
  if (auto err = dynsec(commands, {"not found"})) {
    spdlog::warn("registering agent {} failed: {}", request.id, *err);
    auto code = err->find("already exists") != std::string::npos ? RegistrarError::kConflict
                                                                 : RegistrarError::kBroker;
    return fail<IssuedToken>(code, *err);
  }
  AgentRecord a;
  a.id = request.id;
  a.display_name = request.display_name;
  a.labels = request.labels;
  a.enabled = true;
  a.created_ms = a.token_issued_ms = now_ms_();
  if (auto put = store_->put_agent(a); !put) {
    // The broker knows the agent but the store does not: undo at the broker.
    dynsec({{{"command", "deleteClient"}, {"username", a.id}},
            {{"command", "deleteRole"}, {"rolename", role}}},
           {"not found"});
    return fail<IssuedToken>(RegistrarError::kStore, put.error());
  }
  publish_entry(a);
  spdlog::info("registered agent {} (labels: {})", a.id, a.labels.size());
  return ok(IssuedToken{a, std::move(token)});
}

RegistrarResult<IssuedToken> Registrar::rotate(const std::string& id) {
  std::lock_guard lock(mu_);
  auto a = store_->agent(id);
  if (!a)
    return fail<IssuedToken>(RegistrarError::kNotFound, "agent '" + id + "' is not registered");
  std::string token = random_token();
  // Setting the password also ends the agent's current sessions.
  if (auto err =
          dynsec({{{"command", "setClientPassword"}, {"username", id}, {"password", token}}})) {
    spdlog::warn("rotating the token of {} failed: {}", id, *err);
    return fail<IssuedToken>(RegistrarError::kBroker, *err);
  }
  mark_offline(id, false);
  a->token_issued_ms = now_ms_();
  if (auto put = store_->put_agent(*a); !put)
    return fail<IssuedToken>(RegistrarError::kStore, put.error());
  spdlog::info("rotated the token of agent {}; its old token no longer works", id);
  return ok(IssuedToken{*a, std::move(token)});
}

RegistrarResult<AgentRecord> Registrar::set_enabled(const std::string& id, bool enabled) {
  std::lock_guard lock(mu_);
  auto a = store_->agent(id);
  if (!a)
    return fail<AgentRecord>(RegistrarError::kNotFound, "agent '" + id + "' is not registered");
  // Disabling also ends the agent's current sessions.
  if (auto err =
          dynsec({{{"command", enabled ? "enableClient" : "disableClient"}, {"username", id}}})) {
    return fail<AgentRecord>(RegistrarError::kBroker, *err);
  }
  if (!enabled) mark_offline(id, false);
  a->enabled = enabled;
  if (auto put = store_->put_agent(*a); !put)
    return fail<AgentRecord>(RegistrarError::kStore, put.error());
  publish_entry(*a);
  spdlog::info("agent {} {}", id, enabled ? "enabled" : "disabled");
  return ok(std::move(*a));
}

RegistrarResult<AgentRecord> Registrar::update(
    const std::string& id, std::optional<std::string> display_name,
    std::optional<std::map<std::string, std::string>> labels) {
  std::lock_guard lock(mu_);
  auto a = store_->agent(id);
  if (!a)
    return fail<AgentRecord>(RegistrarError::kNotFound, "agent '" + id + "' is not registered");
  RegistrationRequest changed{id, display_name.value_or(a->display_name),
                              labels.value_or(a->labels)};
  if (changed.display_name.empty()) changed.display_name = id;
  if (auto why = invalid_registration(changed))
    return fail<AgentRecord>(RegistrarError::kInvalid, *why);
  bool same = changed.display_name == a->display_name && changed.labels == a->labels;
  a->display_name = std::move(changed.display_name);
  a->labels = std::move(changed.labels);
  if (same) return ok(std::move(*a));
  if (auto put = store_->put_agent(*a); !put)
    return fail<AgentRecord>(RegistrarError::kStore, put.error());
  publish_entry(*a);
  spdlog::info("agent {} updated (display name, {} labels)", id, a->labels.size());
  return ok(std::move(*a));
}

RegistrarResult<AgentRecord> Registrar::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto a = store_->agent(id);
  if (!a)
    return fail<AgentRecord>(RegistrarError::kNotFound, "agent '" + id + "' is not registered");
  // Deleting the client also ends its current sessions.
  if (auto err = dynsec({{{"command", "deleteClient"}, {"username", id}},
                         {{"command", "deleteRole"}, {"rolename", agent_role_name(id)}}},
                        {"not found"})) {
    return fail<AgentRecord>(RegistrarError::kBroker, *err);
  }
  if (auto del = store_->delete_agent(id); !del)
    return fail<AgentRecord>(RegistrarError::kStore, del.error());
  mark_offline(id, true);
  if (!publish_(MqttMessage{registry_topic(id), "", 1, true})) {
    spdlog::warn("could not clear the retained registry entry of {} (broker not connected)", id);
  }
  spdlog::info("deleted agent {}", id);
  return ok(std::move(*a));
}

}  // namespace mutuo::dashboard
