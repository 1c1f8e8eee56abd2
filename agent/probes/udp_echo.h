// The UDP echo probe: one round measures round-trip time, loss and jitter to
// many peers at once. Packets to all peers are interleaved, replies are matched
// by the round's random nonce, the sequence number and the peer's address, so
// stray, late, duplicated or spoofed packets are not counted.
//
// Threading: run_round() is not reentrant; one round at a time per UdpEchoProbe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "common/messages/assign.h"
#include "common/messages/results.h"

namespace mutuo::agent {

struct UdpEchoConfig {
  uint32_t packets = 10;                           // per peer per round
  std::chrono::milliseconds spacing{20};           // between a peer's packets
  std::chrono::milliseconds timeout{1000};         // wait after the last send
};

class UdpEchoProbe {
 public:
  explicit UdpEchoProbe(UdpEchoConfig config);

  // Probes every peer in `peers` once; returns one result per peer, stamped
  // `ts_ms`. Takes about packets * spacing + timeout. Peers whose address
  // cannot be used get a result with error set and no counts.
  std::vector<ProbeResult> run_round(const std::vector<PeerTarget>& peers, int64_t ts_ms);

 private:
  UdpEchoConfig config_;
  std::mt19937_64 rng_;
};

// Jitter of one round: the mean absolute difference between the round-trip times
// of consecutive replies (in sequence order), in ms. 0 with fewer than two.
double mean_rtt_delta(const std::vector<double>& rtts_ms_in_seq_order);

}  // namespace mutuo::agent
