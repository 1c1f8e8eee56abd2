// mutuo/v1/channels/{channel} (retained, QoS 1, by the dashboard): one
// notification channel the receiver sends alert notices to, besides the ones on
// its command line (--webhook-url). Kinds: "webhook" (POST JSON to `url`); email
// and chat kinds can follow with their own fields. A zero-length retained payload
// removes the channel. The URL may carry a secret (a token in its path or query),
// so only the dashboard and receiver roles may read these topics (the reader role
// is denied them) and the dashboard shows it masked to non-admins.
// Schema: schemas/channel.schema.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct NotificationChannel {
  std::string id;                // equals the topic's {channel}; a valid id
  std::string kind = "webhook";  // only "webhook" so far
  std::string url;               // webhook: http:// or https://, at most 2048 bytes
  double rate_per_min = 30;      // notices a minute at most (0.1 .. 100000) ...
  double burst = 10;             // ... after a burst of this many (1 .. 100000)
  bool enabled = true;           // false: kept, but sent nothing
  std::string comment;           // for people; may be empty

  bool operator==(const NotificationChannel&) const = default;
};

inline constexpr std::size_t kMaxChannelPayload = 16 * 1024;
inline constexpr const char* kAllChannels = "mutuo/v1/channels/+";

std::string channel_topic(std::string_view id);  // mutuo/v1/channels/{id}
// The {channel} of a mutuo/v1/channels/{channel} topic with a valid id, else nullopt.
std::optional<std::string> channel_id_of(std::string_view topic);

// The URL with everything that may be a secret replaced: scheme and host are
// kept, the rest (user info, path, query) becomes "/***" when non-empty.
// "https://hooks.example.org/T0/B1/xyz" -> "https://hooks.example.org/***".
std::string mask_url(std::string_view url);

void to_json(nlohmann::json& j, const NotificationChannel& c);
std::string encode(const NotificationChannel& c);
Result<NotificationChannel> decode_channel(std::string_view payload);

}  // namespace mutuo
