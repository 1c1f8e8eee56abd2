// mutuo/v1/results/{agent} (not retained, QoS 1): one numbered batch of probe
// results from one agent. (observer, target, probe, ts) identifies a result, so a
// resent batch writes the same keys. Schema: schemas/results.schema.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

enum class TargetKind { kPeer, kCheck };

struct Rtt {
  double min = 0, avg = 0, max = 0;  // milliseconds
  bool operator==(const Rtt&) const = default;
};

struct ProbeResult {
  TargetKind kind = TargetKind::kPeer;
  std::string target;  // peer agent id or check id
  std::string probe;   // "udp", "icmp", "tcp", "http", "dns"
  int64_t ts_ms = 0;   // when the round started
  // Packet probes (udp, icmp): counts, round-trip times when any reply came.
  std::optional<uint32_t> sent, recv;
  std::optional<Rtt> rtt_ms;
  std::optional<double> jitter_ms;
  // Service checks (tcp, http, dns): verdict and timings by phase.
  std::optional<bool> ok;
  std::optional<int> status;                // HTTP status or DNS rcode
  std::map<std::string, double> phase_ms;   // e.g. dns, connect, tls, ttfb, total
  std::optional<uint64_t> bytes;
  std::optional<uint32_t> answers;          // dns: answer records in the response
  std::optional<double> cert_days_left;     // https: days the certificate has left (< 0: expired)
  std::string error;  // why the probe failed or could not run ("unsupported", "timeout")

  // Fraction of packets lost, when counts are present and sent > 0.
  std::optional<double> loss() const;
  bool operator==(const ProbeResult&) const = default;
};

struct ResultBatch {
  std::string agent;
  uint64_t batch = 0;  // per-agent sequence number, confirmed on acks/{agent}
  std::vector<ProbeResult> results;
};

inline constexpr std::size_t kMaxResultsPerBatch = 4096;
inline constexpr std::size_t kMaxResultsPayload = 1024 * 1024;
inline constexpr uint32_t kMaxDnsAnswers = 65535;
inline constexpr double kMaxCertDays = 3'000'000.0;  // beyond year 9999 either way

void to_json(nlohmann::json& j, const ProbeResult& r);
void to_json(nlohmann::json& j, const ResultBatch& b);
std::string encode(const ResultBatch& b);
Result<ResultBatch> decode_results(std::string_view payload);
// Decodes one result object (as stored by the receiver).
Result<ProbeResult> decode_probe_result(const nlohmann::json& j);

}  // namespace mutuo
