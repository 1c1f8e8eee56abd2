#include "dashboard/dynsec_admin.h"

#include <spdlog/spdlog.h>

#include "common/messages/probe_now.h"
#include "common/topics.h"

namespace mutuo::dashboard {

using nlohmann::json;

DynsecAdmin::DynsecAdmin(Publish publish, std::chrono::milliseconds timeout)
    : publish_(std::move(publish)), timeout_(timeout) {}

Result<std::vector<DynsecReply>> DynsecAdmin::run(const std::vector<json>& commands) {
  std::string request_id;
  {
    std::lock_guard lock(mu_);
    request_id = "mutuo-dashboard-" + std::to_string(next_request_++);
    pending_[request_id] = std::nullopt;
  }
  json body = {{"commands", json::array()}};
  for (std::size_t i = 0; i < commands.size(); ++i) {
    json c = commands[i];
    c["correlationData"] = request_id + "/" + std::to_string(i);
    body["commands"].push_back(std::move(c));
  }
  if (!publish_(MqttMessage{kDynsecTopic, body.dump(), 1, false})) {
    std::lock_guard lock(mu_);
    pending_.erase(request_id);
    return Error{"not connected to the broker"};
  }
  std::unique_lock lock(mu_);
  bool answered = cv_.wait_for(lock, timeout_, [&] { return pending_[request_id].has_value(); });
  auto replies = std::move(pending_[request_id]);
  pending_.erase(request_id);
  if (!answered || !replies) {
    return Error{
        "the broker's dynamic-security plugin did not answer (is the dashboard's "
        "role allowed to administer it?)"};
  }
  if (replies->size() != commands.size()) {
    return Error{"the dynamic-security plugin answered " + std::to_string(replies->size()) +
                 " of " + std::to_string(commands.size()) + " commands"};
  }
  return std::move(*replies);
}

void DynsecAdmin::on_response(std::string_view payload) {
  std::vector<DynsecReply> replies;
  std::string request_id;
  try {
    json j = json::parse(payload);
    for (const auto& r : j.at("responses")) {
      DynsecReply reply;
      reply.command = r.value("command", "");
      reply.error = r.value("error", "");
      if (r.contains("data")) reply.data = r["data"];
      std::string corr = r.value("correlationData", "");
      std::string id = corr.substr(0, corr.rfind('/'));
      if (request_id.empty()) request_id = id;
      replies.push_back(std::move(reply));
    }
  } catch (const json::exception& e) {
    spdlog::warn("unreadable dynamic-security response: {}", e.what());
    return;
  }
  std::lock_guard lock(mu_);
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;  // timed out already, or another admin's request
  it->second = std::move(replies);
  cv_.notify_all();
}

std::string agent_role_name(const std::string& id) { return "agent-" + id; }

std::vector<json> agent_role_acls(const std::string& id) {
  auto acl = [](const char* type, const std::string& topic) {
    return json{{"acltype", type}, {"topic", topic}, {"priority", 0}, {"allow", true}};
  };
  return {
      acl("publishClientSend", topics::status(id)), acl("publishClientSend", topics::results(id)),
      acl("subscribeLiteral", topics::kAllPeers),   acl("subscribeLiteral", topics::kAllChecks),
      acl("subscribeLiteral", topics::assign(id)),  acl("subscribeLiteral", topics::acks(id)),
      acl("subscribeLiteral", probe_now_topic(id)),  // second opinions (docs/agent.md)
  };
}

}  // namespace mutuo::dashboard
