#include "tracker/leader.h"

#include "common/messages/codec.h"

namespace mutuo::tracker {

void Leadership::observe(std::string_view payload) {
  claimed_ = false;
  if (payload.empty()) {
    holder_.reset();
    return;
  }
  auto decoded = codec::decode_payload<std::string>(
      payload, 4096,
      [](const codec::json& j) -> Result<std::string> { return codec::get_id(j, "tracker"); });
  holder_ = decoded ? decoded.value() : std::string("?");
}

std::optional<MqttMessage> Leadership::claim(int64_t now_ms) {
  if (holder_ || claimed_) return std::nullopt;
  claimed_ = true;
  codec::json j{{"v", codec::kVersion}, {"tracker", self_}, {"ts", now_ms}};
  return MqttMessage{kLeaderTopic, j.dump(), 1, true};
}

void Leadership::reconnected() {
  if (leader()) holder_.reset();
  claimed_ = false;
}

MqttMessage Leadership::vacate() { return MqttMessage{kLeaderTopic, "", 1, true}; }

}  // namespace mutuo::tracker
