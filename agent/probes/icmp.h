// The icmp probe: ICMP echo ("ping") to each target's host, IPv4 or IPv6, all
// targets of a call interleaved as in the udp probe, replies matched by the
// source address, sequence number and a per-round random payload, so stray or
// spoofed replies are not counted.
//
// Sockets, in order of preference:
//   datagram ICMP   needs no privilege when the agent's group is inside
//                   net.ipv4.ping_group_range (sysctl; Debian 12 ships "1 0", off)
//   raw ICMP        needs CAP_NET_RAW: root, or `setcap cap_net_raw+ep mutuo-agent`
//                   as fping and ping are installed
// With neither, the agent logs one line at start and every icmp result carries
// error "unsupported" and no figures.
//
// Result: sent, recv, rtt_ms {min, avg, max}, jitter_ms (as udp); error when the
// host cannot be resolved or the probe is unsupported.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "agent/probes/probe.h"

namespace mutuo::agent {

struct IcmpConfig {
  uint32_t packets = 5;                     // per target per round
  std::chrono::milliseconds spacing{20};    // between a target's packets
  std::chrono::milliseconds timeout{1000};  // wait after the last send (capped by the target's)
};

enum class IcmpSocketKind { kNone, kDatagram, kRaw };

class IcmpProbe : public Probe {
 public:
  // Finds out which kind of socket this process may open, per address family,
  // and logs once when there is none.
  explicit IcmpProbe(IcmpConfig config);
  std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) override;
  bool supported() const override { return v4_ != IcmpSocketKind::kNone; }

  IcmpSocketKind kind_v4() const { return v4_; }

 private:
  uint64_t new_nonce();

  IcmpConfig config_;
  IcmpSocketKind v4_ = IcmpSocketKind::kNone;
  IcmpSocketKind v6_ = IcmpSocketKind::kNone;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

std::unique_ptr<Probe> make_icmp_probe(const IcmpConfig& config);

// The Internet checksum (RFC 1071) of `len` bytes.
uint16_t internet_checksum(const uint8_t* data, std::size_t len);

}  // namespace mutuo::agent
