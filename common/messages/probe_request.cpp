#include "common/messages/probe_request.h"

#include "common/ids.h"

namespace mutuo {

using codec::json;

namespace {

constexpr std::string_view kRequestPrefix = "mutuo/v1/probe-requests/";

bool valid_reason(std::string_view r) {
  if (r.empty() || r.size() > 32) return false;
  for (char c : r) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::vector<std::string> get_ids(const json& j, const char* name) {
  auto ids = codec::get_strings(j, name, kMaxProbeRequestObservers, kMaxIdLength);
  for (const auto& id : ids) {
    if (!valid_id(id)) throw codec::DecodeError(std::string("invalid id in '") + name + "'");
  }
  return ids;
}

}  // namespace

bool valid_probe_request_subject(std::string_view subject) {
  for (std::string_view kind : {"peer/", "check/"}) {
    if (subject.starts_with(kind)) return valid_id(subject.substr(kind.size()));
  }
  return false;
}

std::string probe_request_topic(std::string_view subject) {
  return std::string(kRequestPrefix) + std::string(subject);
}

std::optional<std::string> probe_request_subject_of(std::string_view topic) {
  if (!topic.starts_with(kRequestPrefix)) return std::nullopt;
  std::string_view subject = topic.substr(kRequestPrefix.size());
  if (!valid_probe_request_subject(subject)) return std::nullopt;
  return std::string(subject);
}

void to_json(json& j, const ProbeRequest& r) {
  j = json{{"v", codec::kVersion},    {"subject", r.subject}, {"ts", r.ts_ms},
           {"reason", r.reason},      {"want", r.want},       {"failing", r.failing},
           {"observers", r.observers}};
  if (!r.avoid.empty()) j["avoid"] = r.avoid;
}

std::string encode(const ProbeRequest& r) { return json(r).dump(); }

Result<ProbeRequest> decode_probe_request(std::string_view payload) {
  return codec::decode_payload<ProbeRequest>(
      payload, kMaxProbeRequestPayload, [](const json& j) -> Result<ProbeRequest> {
        ProbeRequest r;
        r.subject = codec::get_string(j, "subject", 200);
        if (!valid_probe_request_subject(r.subject)) return Error{"invalid value for 'subject'"};
        r.ts_ms = codec::get_timestamp(j, "ts");
        r.reason = codec::get_string(j, "reason", 32);
        if (!valid_reason(r.reason)) return Error{"invalid value for 'reason'"};
        r.want = static_cast<uint32_t>(codec::get_uint(j, "want", kMaxProbeRequestWant));
        if (r.want == 0) return Error{"out of range: 'want'"};
        r.failing = get_ids(j, "failing");
        if (codec::optional(j, "observers")) r.observers = get_ids(j, "observers");
        if (const json* avoid = codec::optional(j, "avoid")) {
          if (!avoid->is_object()) return Error{"expected an object for 'avoid'"};
          if (avoid->size() > 16) return Error{"too many items in 'avoid'"};
          for (const auto& [key, values] : avoid->items()) {
            if (!values.is_array()) return Error{"expected arrays in 'avoid'"};
            if (values.size() > 64) return Error{"too many items in 'avoid'"};
            auto& out = r.avoid[key];
            for (const json& v : values) {
              // Each key and value is checked as an agent's label {key: value} is.
              codec::Labels one = codec::get_labels(json{{"avoid", {{key, v}}}}, "avoid");
              out.push_back(one.begin()->second);
            }
          }
        }
        return r;
      });
}

}  // namespace mutuo
