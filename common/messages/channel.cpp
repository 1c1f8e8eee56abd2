#include "common/messages/channel.h"

#include "common/ids.h"

namespace mutuo {

using codec::json;

namespace {

constexpr std::string_view kChannelPrefix = "mutuo/v1/channels/";

bool valid_url(std::string_view url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) return false;
  std::string_view rest = url.substr(url.find("://") + 3);
  if (rest.empty() || rest.front() == '/') return false;  // a host is needed
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) return false;  // no spaces or control characters
  }
  return true;
}

}  // namespace

std::string channel_topic(std::string_view id) {
  return std::string(kChannelPrefix) + std::string(id);
}

std::optional<std::string> channel_id_of(std::string_view topic) {
  if (!topic.starts_with(kChannelPrefix)) return std::nullopt;
  std::string_view id = topic.substr(kChannelPrefix.size());
  if (!valid_id(id)) return std::nullopt;
  return std::string(id);
}

std::string mask_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return url.empty() ? "" : "***";
  std::string_view rest = url.substr(scheme + 3);
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  auto at = authority.rfind('@');  // user:password@host
  bool hidden = at != std::string_view::npos || (!tail.empty() && tail != "/");
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  return std::string(url.substr(0, scheme + 3)) + std::string(authority) + (hidden ? "/***" : "");
}

void to_json(json& j, const NotificationChannel& c) {
  j = json{{"v", codec::kVersion}, {"channel", c.id},
           {"kind", c.kind},       {"url", c.url},
           {"rate_per_min", c.rate_per_min}, {"burst", c.burst},
           {"enabled", c.enabled}};
  if (!c.comment.empty()) j["comment"] = c.comment;
}

std::string encode(const NotificationChannel& c) { return json(c).dump(); }

Result<NotificationChannel> decode_channel(std::string_view payload) {
  return codec::decode_payload<NotificationChannel>(
      payload, kMaxChannelPayload, [](const json& j) -> Result<NotificationChannel> {
        NotificationChannel c;
        c.id = codec::get_id(j, "channel");
        c.kind = codec::get_string(j, "kind", 32);
        if (c.kind != "webhook") return Error{"invalid value for 'kind'"};
        c.url = codec::get_string(j, "url", 2048);
        if (!valid_url(c.url)) return Error{"invalid value for 'url'"};
        if (codec::optional(j, "rate_per_min")) {
          c.rate_per_min = codec::get_number(j, "rate_per_min", 0.1, 100'000);
        }
        if (codec::optional(j, "burst")) c.burst = codec::get_number(j, "burst", 1, 100'000);
        if (codec::optional(j, "enabled")) c.enabled = codec::get_bool(j, "enabled");
        if (codec::optional(j, "comment")) c.comment = codec::get_string(j, "comment", 1024);
        return c;
      });
}

}  // namespace mutuo
