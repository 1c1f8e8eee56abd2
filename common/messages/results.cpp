#include "common/messages/results.h"

#include "common/ids.h"

namespace mutuo {

using codec::json;

namespace {

constexpr double kMaxMs = 3'600'000.0;  // an hour: anything longer is not a probe time

bool known_probe(const std::string& p) {
  return p == "udp" || p == "icmp" || p == "tcp" || p == "http" || p == "dns";
}

ProbeResult read_result(const json& j) {
  if (!j.is_object()) throw codec::DecodeError("expected objects in 'results'");
  ProbeResult r;
  const json* peer = codec::optional(j, "peer");
  const json* check = codec::optional(j, "check");
  if ((peer == nullptr) == (check == nullptr)) {
    throw codec::DecodeError("need exactly one of 'peer' and 'check'");
  }
  r.kind = peer ? TargetKind::kPeer : TargetKind::kCheck;
  r.target = codec::get_id(j, peer ? "peer" : "check");
  r.probe = codec::get_string(j, "probe", 16);
  if (!known_probe(r.probe)) throw codec::DecodeError("invalid value for 'probe'");
  r.ts_ms = codec::get_timestamp(j, "ts");
  if (codec::optional(j, "sent")) r.sent = static_cast<uint32_t>(codec::get_uint(j, "sent", 100000));
  if (codec::optional(j, "recv")) r.recv = static_cast<uint32_t>(codec::get_uint(j, "recv", 100000));
  if (r.sent.has_value() != r.recv.has_value()) {
    throw codec::DecodeError("'sent' and 'recv' go together");
  }
  if (r.sent && *r.recv > *r.sent) throw codec::DecodeError("'recv' exceeds 'sent'");
  if (const json* rtt = codec::optional(j, "rtt_ms")) {
    if (!rtt->is_object()) throw codec::DecodeError("expected an object for 'rtt_ms'");
    Rtt t{codec::get_number(*rtt, "min", 0, kMaxMs), codec::get_number(*rtt, "avg", 0, kMaxMs),
          codec::get_number(*rtt, "max", 0, kMaxMs)};
    if (!(t.min <= t.avg && t.avg <= t.max)) throw codec::DecodeError("'rtt_ms' not min<=avg<=max");
    r.rtt_ms = t;
  }
  if (codec::optional(j, "jitter_ms")) r.jitter_ms = codec::get_number(j, "jitter_ms", 0, kMaxMs);
  if (codec::optional(j, "ok")) r.ok = codec::get_bool(j, "ok");
  if (codec::optional(j, "status")) r.status = static_cast<int>(codec::get_uint(j, "status", 999));
  if (const json* ms = codec::optional(j, "ms")) {
    if (!ms->is_object()) throw codec::DecodeError("expected an object for 'ms'");
    if (ms->size() > 8) throw codec::DecodeError("too many items in 'ms'");
    for (const auto& [k, v] : ms->items()) {
      if (k.empty() || k.size() > 16 || !valid_id(k)) throw codec::DecodeError("invalid key in 'ms'");
      r.phase_ms[k] = codec::get_number(*ms, k.c_str(), 0, kMaxMs);
    }
  }
  if (codec::optional(j, "bytes")) r.bytes = codec::get_uint(j, "bytes", uint64_t{1} << 40);
  if (codec::optional(j, "answers")) {
    r.answers = static_cast<uint32_t>(codec::get_uint(j, "answers", kMaxDnsAnswers));
  }
  if (codec::optional(j, "cert_days_left")) {
    r.cert_days_left = codec::get_number(j, "cert_days_left", -kMaxCertDays, kMaxCertDays);
  }
  if (codec::optional(j, "error")) r.error = codec::get_string(j, "error", 256);
  return r;
}

}  // namespace

std::optional<double> ProbeResult::loss() const {
  if (!sent || !recv || *sent == 0) return std::nullopt;
  return 1.0 - static_cast<double>(*recv) / static_cast<double>(*sent);
}

void to_json(json& j, const ProbeResult& r) {
  j = json::object();
  j[r.kind == TargetKind::kPeer ? "peer" : "check"] = r.target;
  j["probe"] = r.probe;
  j["ts"] = r.ts_ms;
  if (r.sent) j["sent"] = *r.sent;
  if (r.recv) j["recv"] = *r.recv;
  if (r.rtt_ms) j["rtt_ms"] = json{{"min", r.rtt_ms->min}, {"avg", r.rtt_ms->avg}, {"max", r.rtt_ms->max}};
  if (r.jitter_ms) j["jitter_ms"] = *r.jitter_ms;
  if (r.ok) j["ok"] = *r.ok;
  if (r.status) j["status"] = *r.status;
  if (!r.phase_ms.empty()) j["ms"] = r.phase_ms;
  if (r.bytes) j["bytes"] = *r.bytes;
  if (r.answers) j["answers"] = *r.answers;
  if (r.cert_days_left) j["cert_days_left"] = *r.cert_days_left;
  if (!r.error.empty()) j["error"] = r.error;
}

void to_json(json& j, const ResultBatch& b) {
  j = json{{"v", codec::kVersion}, {"agent", b.agent}, {"batch", b.batch}, {"results", b.results}};
}

std::string encode(const ResultBatch& b) { return json(b).dump(); }

Result<ResultBatch> decode_results(std::string_view payload) {
  return codec::decode_payload<ResultBatch>(
      payload, kMaxResultsPayload, [](const json& j) -> Result<ResultBatch> {
        ResultBatch b;
        b.agent = codec::get_id(j, "agent");
        b.batch = codec::get_uint(j, "batch", uint64_t{1} << 53);
        const json& results = codec::required(j, "results");
        if (!results.is_array()) return Error{"expected an array for 'results'"};
        if (results.size() > kMaxResultsPerBatch) return Error{"too many items in 'results'"};
        b.results.reserve(results.size());
        for (const json& r : results) b.results.push_back(read_result(r));
        return b;
      });
}

Result<ProbeResult> decode_probe_result(const json& j) {
  try {
    return read_result(j);
  } catch (const std::exception& e) {
    return Error{e.what()};
  }
}

}  // namespace mutuo
