// The UDP echo probe: one round measures round-trip time, loss and jitter to
// many peers at once. Packets to all peers are interleaved, replies are matched
// by the round's random nonce, the sequence number and the peer's address, so
// stray, late, duplicated or spoofed packets are not counted.
//
// Threading: run() may be called from several threads at once; each call is
// one round with its own sockets and nonce.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "agent/probes/probe.h"

namespace mutuo::agent {

struct UdpEchoConfig {
  uint32_t packets = 10;                    // per peer per round
  std::chrono::milliseconds spacing{20};    // between a peer's packets
  std::chrono::milliseconds timeout{1000};  // wait after the last send (capped by the
                                            // shortest target timeout of the round)
};

class UdpEchoProbe : public Probe {
 public:
  explicit UdpEchoProbe(UdpEchoConfig config);

  // Probes every target (host = IP literal, port = its echo port) once; takes
  // about packets * spacing + timeout. Targets whose address cannot be used get
  // a result with error set and no counts.
  std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) override;

 private:
  uint64_t new_nonce();

  UdpEchoConfig config_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

std::unique_ptr<Probe> make_udp_echo_probe(const UdpEchoConfig& config);

// Jitter of one round: the mean absolute difference between the round-trip times
// of consecutive replies (in sequence order), in ms. 0 with fewer than two.
double mean_rtt_delta(const std::vector<double>& rtts_ms_in_seq_order);

// Fills r.sent, r.recv and, when any reply came, r.rtt_ms and r.jitter_ms from
// one round's per-packet round trips in sequence order (NaN: no reply).
// Shared by the packet probes (udp, icmp).
void summarize_round_trips(const std::vector<double>& rtt_ms_by_packet, ProbeResult& r);

}  // namespace mutuo::agent
