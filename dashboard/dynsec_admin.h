// DynsecAdmin: administers Mosquitto's dynamic-security plugin over MQTT, as
// mosquitto_ctrl does: a request {"commands":[...]} published to
// $CONTROL/dynamic-security/v1, answered by the plugin on
// $CONTROL/dynamic-security/v1/response (sent to the requesting client only).
// Changes take effect at once; nothing needs a broker restart. The plugin kicks
// the sessions of a client whose password is changed, or that is disabled or
// deleted.
//
// Commands carry secrets (agent tokens): nothing here logs a command's content.
//
// Threading: run() may be called from many threads (requests are told apart by
// correlation data); on_response() is called from the MQTT callback thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mqtt_session.h"
#include "common/result.h"

namespace mutuo::dashboard {

inline constexpr const char* kDynsecTopic = "$CONTROL/dynamic-security/v1";
inline constexpr const char* kDynsecResponseTopic = "$CONTROL/dynamic-security/v1/response";

// One command's answer: empty `error` means it succeeded.
struct DynsecReply {
  std::string command;
  std::string error;
  nlohmann::json data;
};

class DynsecAdmin {
 public:
  // `publish` sends one MQTT message (MqttSession::publish); false when it could not.
  using Publish = std::function<bool(const MqttMessage&)>;
  explicit DynsecAdmin(Publish publish,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Sends `commands` (each an object with "command" and its arguments) as one
  // request and waits for the plugin's answers, one per command, in order. An
  // error when the request could not be sent or was not answered in time.
  Result<std::vector<DynsecReply>> run(const std::vector<nlohmann::json>& commands);

  // Hands over a message received on kDynsecResponseTopic.
  void on_response(std::string_view payload);

 private:
  Publish publish_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_request_ = 1;                                               // guarded by mu_
  std::map<std::string, std::optional<std::vector<DynsecReply>>> pending_;  // guarded by mu_
};

// The ACL list of agent `id`'s own role, agent-{id} (DESIGN.md, "Security model"):
// publish only its status and results; read the peer list, the checks, its own
// assignment and its own acks. Each entry: {"acltype", "topic", "allow": true}.
std::vector<nlohmann::json> agent_role_acls(const std::string& id);

// "agent-{id}".
std::string agent_role_name(const std::string& id);

}  // namespace mutuo::dashboard
