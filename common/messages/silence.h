// mutuo/v1/silences/{silence} (retained, QoS 1, by the dashboard or an operator's
// admin tool): a maintenance window. While it lasts, alerts about the subjects it
// covers are still published and recorded in the alert history, but no notice is
// sent to the notification channels. It covers either one subject exactly
// (peer/{agent}, check/{check}, partition/...) or every agent carrying one label
// (and every partition with that label value on one side). A zero-length retained
// payload removes the silence. Only the dashboard's broker role may publish here.
// Schema: schemas/silence.schema.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct Silence {
  std::string id;                      // equals the topic's {silence}; a valid id
  std::string subject;                 // an alert subject, or empty when by label
  std::string label_key, label_value;  // both set when by label, else empty
  int64_t starts_ms = 0, ends_ms = 0;  // [starts, ends), ends > starts
  std::string comment;                 // why, for people; may be empty

  bool operator==(const Silence&) const = default;
};

inline constexpr std::size_t kMaxSilencePayload = 16 * 1024;
inline constexpr const char* kAllSilences = "mutuo/v1/silences/+";

std::string silence_topic(std::string_view id);  // mutuo/v1/silences/{id}
// The {silence} of a mutuo/v1/silences/{silence} topic with a valid id, else nullopt.
std::optional<std::string> silence_id_of(std::string_view topic);

void to_json(nlohmann::json& j, const Silence& s);
std::string encode(const Silence& s);
Result<Silence> decode_silence(std::string_view payload);

}  // namespace mutuo
