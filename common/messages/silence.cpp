#include "common/messages/silence.h"

#include "common/ids.h"
#include "common/messages/alert.h"

namespace mutuo {

using codec::json;

namespace {

constexpr std::string_view kSilencePrefix = "mutuo/v1/silences/";

}  // namespace

std::string silence_topic(std::string_view id) {
  return std::string(kSilencePrefix) + std::string(id);
}

std::optional<std::string> silence_id_of(std::string_view topic) {
  if (!topic.starts_with(kSilencePrefix)) return std::nullopt;
  std::string_view id = topic.substr(kSilencePrefix.size());
  if (!valid_id(id)) return std::nullopt;
  return std::string(id);
}

void to_json(json& j, const Silence& s) {
  j = json{{"v", codec::kVersion}, {"silence", s.id}, {"starts", s.starts_ms}, {"ends", s.ends_ms}};
  if (!s.subject.empty()) j["subject"] = s.subject;
  if (!s.label_key.empty()) j["label"] = {{"key", s.label_key}, {"value", s.label_value}};
  if (!s.comment.empty()) j["comment"] = s.comment;
}

std::string encode(const Silence& s) { return json(s).dump(); }

Result<Silence> decode_silence(std::string_view payload) {
  return codec::decode_payload<Silence>(
      payload, kMaxSilencePayload, [](const json& j) -> Result<Silence> {
        Silence s;
        s.id = codec::get_id(j, "silence");
        s.starts_ms = codec::get_timestamp(j, "starts");
        s.ends_ms = codec::get_timestamp(j, "ends");
        if (s.ends_ms <= s.starts_ms) return Error{"out of range: 'ends' must follow 'starts'"};
        bool by_subject = codec::optional(j, "subject") != nullptr;
        bool by_label = codec::optional(j, "label") != nullptr;
        if (by_subject == by_label) return Error{"expected exactly one of 'subject' and 'label'"};
        if (by_subject) {
          s.subject = codec::get_string(j, "subject", 200);
          if (!valid_alert_subject(s.subject)) return Error{"invalid value for 'subject'"};
        } else {
          const json& label = codec::required(j, "label");
          if (!label.is_object()) return Error{"expected an object for 'label'"};
          // {"key": k, "value": v} is checked as the label {k: v} of an agent is.
          json as_labels = json::object();
          as_labels[codec::get_string(label, "key", 32)] = codec::required(label, "value");
          codec::Labels one = codec::get_labels(json{{"label", as_labels}}, "label");
          s.label_key = one.begin()->first;
          s.label_value = one.begin()->second;
        }
        if (codec::optional(j, "comment")) s.comment = codec::get_string(j, "comment", 1024);
        return s;
      });
}

}  // namespace mutuo
