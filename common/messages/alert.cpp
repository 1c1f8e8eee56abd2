#include "common/messages/alert.h"

#include "common/ids.h"

namespace mutuo {

using codec::json;

namespace {

constexpr const char* kStates[] = {"up", "degraded", "down", "unknown", "offline"};
constexpr const char* kCauses[] = {"target", "observer-isolated", "partition", "offline"};
constexpr const char* kVerdicts[] = {"ok",        "degraded", "fail", "isolated",
                                     "partition", "offline",  "stale"};

template <std::size_t N>
bool one_of(std::string_view s, const char* const (&set)[N]) {
  for (const char* v : set) {
    if (s == v) return true;
  }
  return false;
}

bool safe_chars(std::string_view s, std::size_t max, bool underscore) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (underscore && c == '_');
    if (!ok) return false;
  }
  return true;
}

std::string topic_safe(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 64)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    out += ok ? c : '-';
  }
  return out;
}

}  // namespace

std::string_view to_string(HealthState s) { return kStates[static_cast<int>(s)]; }

std::optional<HealthState> parse_health_state(std::string_view s) {
  for (int i = 0; i < 5; ++i) {
    if (s == kStates[i]) return static_cast<HealthState>(i);
  }
  return std::nullopt;
}

bool valid_alert_subject(std::string_view subject) {
  auto slash = subject.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view kind = subject.substr(0, slash), rest = subject.substr(slash + 1);
  if (kind == "peer" || kind == "check") return valid_id(rest);
  if (kind != "partition") return false;
  auto s1 = rest.find('/');
  if (s1 == std::string_view::npos) return false;
  auto s2 = rest.find('/', s1 + 1);
  if (s2 == std::string_view::npos) return false;
  return safe_chars(rest.substr(0, s1), 32, true) &&
         safe_chars(rest.substr(s1 + 1, s2 - s1 - 1), 64, false) &&
         safe_chars(rest.substr(s2 + 1), 64, false);
}

std::string alert_subject_peer(std::string_view agent) { return "peer/" + std::string(agent); }
std::string alert_subject_check(std::string_view check) { return "check/" + std::string(check); }
std::string alert_subject_partition(const PartitionSides& p) {
  return "partition/" + p.label + "/" + topic_safe(p.a) + "/" + topic_safe(p.b);
}
std::string alert_topic(std::string_view subject) {
  return "mutuo/v1/alerts/" + std::string(subject);
}

void to_json(json& j, const Alert& a) {
  j = json{
      {"v", codec::kVersion}, {"subject", a.subject}, {"state", std::string(to_string(a.state))},
      {"since", a.since_ms},  {"ts", a.ts_ms},        {"observers", a.observers}};
  if (!a.cause.empty()) j["cause"] = a.cause;
  if (!a.evidence.empty()) {
    json ev = json::object();
    for (const auto& [observer, e] : a.evidence) {
      json o = {{"samples", e.samples}, {"failures", e.failures}};
      if (e.loss) o["loss"] = *e.loss;
      if (e.rtt_ms) o["rtt_ms"] = *e.rtt_ms;
      if (e.last_ts_ms > 0) o["last_ts"] = e.last_ts_ms;
      ev[observer] = o;
    }
    j["evidence"] = ev;
  }
  if (!a.one_way.empty()) j["one_way"] = a.one_way;
  if (a.partition) {
    j["partition"] = {{"label", a.partition->label},
                      {"sides", json::array({a.partition->a, a.partition->b})}};
  }
}

std::string encode(const Alert& a) { return json(a).dump(); }

Result<Alert> decode_alert(std::string_view payload) {
  return codec::decode_payload<Alert>(
      payload, kMaxAlertPayload, [](const json& j) -> Result<Alert> {
        Alert a;
        a.subject = codec::get_string(j, "subject", 200);
        if (!valid_alert_subject(a.subject)) return Error{"invalid value for 'subject'"};
        auto state = parse_health_state(codec::get_string(j, "state", 16));
        if (!state) return Error{"invalid value for 'state'"};
        a.state = *state;
        a.since_ms = codec::get_timestamp(j, "since");
        a.ts_ms = codec::get_timestamp(j, "ts");
        if (codec::optional(j, "cause")) {
          a.cause = codec::get_string(j, "cause", 32);
          if (!one_of(a.cause, kCauses)) return Error{"invalid value for 'cause'"};
        }
        const json& obs = codec::required(j, "observers");
        if (!obs.is_object()) return Error{"expected an object for 'observers'"};
        if (obs.size() > kMaxAlertObservers) return Error{"too many items in 'observers'"};
        for (const auto& [id, verdict] : obs.items()) {
          if (!valid_id(id)) return Error{"invalid id in 'observers'"};
          if (!verdict.is_string() || !one_of(verdict.get<std::string>(), kVerdicts)) {
            return Error{"invalid verdict in 'observers'"};
          }
          a.observers.emplace(id, verdict.get<std::string>());
        }
        if (const json* ev = codec::optional(j, "evidence")) {
          if (!ev->is_object()) return Error{"expected an object for 'evidence'"};
          if (ev->size() > kMaxAlertObservers) return Error{"too many items in 'evidence'"};
          for (const auto& [id, o] : ev->items()) {
            if (!valid_id(id)) return Error{"invalid id in 'evidence'"};
            if (!o.is_object()) return Error{"expected objects in 'evidence'"};
            ObserverEvidence e;
            e.samples = static_cast<uint32_t>(codec::get_uint(o, "samples", 1'000'000));
            e.failures = static_cast<uint32_t>(codec::get_uint(o, "failures", 1'000'000));
            if (e.failures > e.samples) return Error{"failures exceed samples in 'evidence'"};
            if (codec::optional(o, "loss")) e.loss = codec::get_number(o, "loss", 0, 1);
            if (codec::optional(o, "rtt_ms")) e.rtt_ms = codec::get_number(o, "rtt_ms", 0, 1e7);
            if (codec::optional(o, "last_ts")) e.last_ts_ms = codec::get_timestamp(o, "last_ts");
            a.evidence.emplace(id, e);
          }
        }
        if (codec::optional(j, "one_way")) {
          a.one_way = codec::get_strings(j, "one_way", kMaxAlertObservers, kMaxIdLength);
          for (const auto& id : a.one_way) {
            if (!valid_id(id)) return Error{"invalid id in 'one_way'"};
          }
        }
        if (const json* p = codec::optional(j, "partition")) {
          if (!p->is_object()) return Error{"expected an object for 'partition'"};
          PartitionSides sides;
          sides.label = codec::get_string(*p, "label", 32);
          if (!safe_chars(sides.label, 32, true)) return Error{"invalid 'label' in 'partition'"};
          auto values = codec::get_strings(*p, "sides", 2, 64);
          if (values.size() != 2 || values[0].empty() || values[1].empty()) {
            return Error{"invalid 'sides' in 'partition'"};
          }
          sides.a = values[0];
          sides.b = values[1];
          a.partition = sides;
        }
        bool is_partition = a.subject.rfind("partition/", 0) == 0;
        if (is_partition != a.partition.has_value()) {
          return Error{"'partition' must be given exactly for partition subjects"};
        }
        return a;
      });
}

}  // namespace mutuo
