// Registrar: registers agents and manages their tokens (DESIGN.md, "Security
// model"). The broker is the enforcer: each agent gets a dynamic-security client
// (username = client id = agent id, password = a fresh 256-bit token) and its
// own role agent-{id}; the dashboard keeps the registration in its own store and
// publishes it, retained, on mutuo/v1/registry/{id}.
//
// Rotating, disabling and deleting kick the agent at once (the broker ends its
// session); as the broker sends no last will then, the registrar publishes the
// agent's offline status itself (cleared, for a deleted agent).
//
// The token exists only in the answer to register() and rotate(): it is never
// logged and never stored (the broker keeps its own salted hash).
//
// Threading: every method may be called from any thread; changes are serialised.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/mqtt_session.h"
#include "common/result.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/dynsec_admin.h"

namespace mutuo::dashboard {

struct RegistrationRequest {
  std::string id;
  std::string display_name;  // empty: the id
  std::map<std::string, std::string> labels;
};

// What to tell the person who registered (or rotated) the agent, once.
struct IssuedToken {
  AgentRecord agent;
  std::string token;
};

// How an error maps to HTTP: kInvalid 400, kNotFound 404, kConflict 409,
// kBroker 502 (the broker refused or did not answer), kStore 500.
enum class RegistrarError { kInvalid, kNotFound, kConflict, kBroker, kStore };

template <class T>
struct RegistrarResult {
  std::optional<T> value;
  RegistrarError error = RegistrarError::kInvalid;
  std::string message;  // when !value: what went wrong, for the user
  explicit operator bool() const { return value.has_value(); }
};

// Field rules, also used by the API to answer with a clear message.
// Display names: 1-100 characters, no control characters (any other text,
// including markup, is allowed and is escaped by the UI). Labels: at most 16;
// keys [a-z][a-z0-9_-]{0,31}; values 1-64 of [A-Za-z0-9._:-], so they are safe
// as shell words in the agent command line.
std::optional<std::string> invalid_registration(const RegistrationRequest& r);

// The retained registry/{id} document:
// {"v":1,"agent","display_name","labels","enabled","ts"}.
nlohmann::json registry_entry_json(const AgentRecord& a, int64_t now_ms);

// An agent as the API shows it: {"id","display_name","labels","enabled",
// "created","token_issued"}.
nlohmann::json agent_record_json(const AgentRecord& a);

class Registrar {
 public:
  using Publish = std::function<bool(const MqttMessage&)>;
  using Clock = std::function<int64_t()>;
  // REQUIRES: store and admin outlive the registrar.
  Registrar(DashboardStore* store, DynsecAdmin* admin, Publish publish, Clock now_ms);

  RegistrarResult<IssuedToken> register_agent(RegistrationRequest request);
  RegistrarResult<IssuedToken> rotate(const std::string& id);
  RegistrarResult<AgentRecord> set_enabled(const std::string& id, bool enabled);
  RegistrarResult<AgentRecord> remove(const std::string& id);
  // Changes an agent's display name and/or labels in place (nullopt: kept),
  // with the rules of invalid_registration; its token and broker client stay.
  // Republishes its retained registry/{id}. The agent's own presence keeps the
  // labels it was started with (--label) until it is restarted with the new
  // ones (agent_command() / agent_config() show them).
  RegistrarResult<AgentRecord> update(const std::string& id,
                                      std::optional<std::string> display_name,
                                      std::optional<std::map<std::string, std::string>> labels);

  std::vector<AgentRecord> agents() const { return store_->agents(); }

  // Publishes every registration again (retained), e.g. after each connect, so
  // the broker's retained registry matches the store even after it lost state.
  void republish_all();

  // Gives every registered agent's role the ACLs agent_role_acls() lists today,
  // so agents registered by an older version gain rights added since (e.g.
  // probe-now for second opinions) without registering again. ACLs a role
  // already has are left as they are. Blocks on the broker: call it from a
  // thread of its own, never from the MQTT callback. Returns how many roles
  // were brought up to date, or why it failed.
  Result<std::size_t> upgrade_agent_roles();

 private:
  // Runs the commands; the error message of the first failed one not listed in
  // `tolerated` (matched as a substring), or nullopt when all went through.
  std::optional<std::string> dynsec(const std::vector<nlohmann::json>& commands,
                                    const std::vector<std::string>& tolerated = {});
  void publish_entry(const AgentRecord& a);
  // After a kick: the agent's retained status becomes offline ("lost"), or is
  // cleared when `forget` (a deleted agent).
  void mark_offline(const std::string& id, bool forget);

  DashboardStore* store_;
  DynsecAdmin* admin_;
  Publish publish_;
  Clock now_ms_;
  std::mutex mu_;  // serialises changes
};

// The shell lines that set an agent up with its token: write the token file
// (mode 600) and start the agent. `broker_uri` and `ca_file` are what agents
// should use (ca_file may be empty).
std::string agent_command(const AgentRecord& a, const std::string& token,
                          const std::string& broker_uri, const std::string& ca_file);

// The same as an agent config file (TOML, for mutuo-agent --config), which names
// the token file and never holds the token.
std::string agent_config(const AgentRecord& a, const std::string& broker_uri,
                         const std::string& ca_file);

}  // namespace mutuo::dashboard
