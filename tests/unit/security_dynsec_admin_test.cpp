// DynsecAdmin's request/response matching, with the plugin played by a thread
// that answers what was published (no broker: the broker itself is exercised by
// tests/integration/test_security_registration.py).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "dashboard/dynsec_admin.h"

using mutuo::MqttMessage;
using mutuo::dashboard::DynsecAdmin;
using nlohmann::json;

namespace {

// The plugin's answer to a request: one response per command, same
// correlationData, an error for commands named "fail".
std::string answer(const std::string& request) {
  json responses = json::array();
  json parsed = json::parse(request);
  for (const auto& c : parsed["commands"]) {
    json r = {{"command", c["command"]}, {"correlationData", c["correlationData"]}};
    if (c["command"] == "fail") r["error"] = "Client not found";
    responses.push_back(r);
  }
  return json{{"responses", responses}}.dump();
}

}  // namespace

TEST_CASE("dynsec admin: answers are matched to their request, errors reported per command") {
  DynsecAdmin* admin_ptr = nullptr;
  std::vector<std::thread> plugin;
  std::vector<MqttMessage> sent;
  DynsecAdmin admin([&](const MqttMessage& m) {
    sent.push_back(m);
    // A stray answer to someone else's request first, then ours, from another thread.
    plugin.emplace_back([&admin_ptr, payload = m.payload] {
      admin_ptr->on_response(
          R"({"responses":[{"command":"getClient","correlationData":"other-1/0"}]})");
      admin_ptr->on_response("not json");
      admin_ptr->on_response(answer(payload));
    });
    return true;
  });
  admin_ptr = &admin;
  auto replies = admin.run({{{"command", "getClient"}, {"username", "a"}},
                            {{"command", "fail"}, {"username", "b"}}});
  for (auto& t : plugin) t.join();
  INFO((replies.ok() ? std::string() : replies.error()));
  REQUIRE(replies.ok());
  REQUIRE(replies->size() == 2);
  CHECK((*replies)[0].command == "getClient");
  CHECK((*replies)[0].error.empty());
  CHECK((*replies)[1].error == "Client not found");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].topic == "$CONTROL/dynamic-security/v1");
  CHECK_FALSE(sent[0].retained);
}

TEST_CASE("dynsec admin: no answer in time, or not connected, is an error") {
  DynsecAdmin silent([](const MqttMessage&) { return true; }, std::chrono::milliseconds(50));
  auto r = silent.run({{{"command", "getClient"}, {"username", "a"}}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("did not answer") != std::string::npos);

  DynsecAdmin offline([](const MqttMessage&) { return false; });
  auto o = offline.run({{{"command", "getClient"}, {"username", "a"}}});
  REQUIRE_FALSE(o.ok());
  CHECK(o.error() == "not connected to the broker");
}
