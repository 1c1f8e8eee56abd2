#include "agent/probes/udp_echo.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "agent/net_addr.h"
#include "agent/probes/echo_packet.h"

namespace mutuo::agent {

namespace {

using Clock = std::chrono::steady_clock;

struct EchoSlot {  // one peer of the round
  std::optional<SocketAddr> addr;
  std::vector<std::optional<Clock::time_point>> sent_at;  // by packet index
  std::vector<double> rtt_ms;                             // by packet index, NaN if none
};

// One socket per address family, opened on first use in a round.
class Sockets {
 public:
  ~Sockets() {
    for (auto& [family, fd] : fds_) close(fd);
  }
  int get(int family) {
    auto it = fds_.find(family);
    if (it != fds_.end()) return it->second;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) fds_[family] = fd;
    return fd;
  }
  std::vector<pollfd> pollfds() const {
    std::vector<pollfd> out;
    for (const auto& [family, fd] : fds_) out.push_back({fd, POLLIN, 0});
    return out;
  }

 private:
  std::map<int, int> fds_;
};

}  // namespace

double mean_rtt_delta(const std::vector<double>& rtts) {
  if (rtts.size() < 2) return 0;
  double sum = 0;
  for (std::size_t i = 1; i < rtts.size(); ++i) sum += std::fabs(rtts[i] - rtts[i - 1]);
  return sum / static_cast<double>(rtts.size() - 1);
}

void summarize_round_trips(const std::vector<double>& rtt_ms_by_packet, ProbeResult& r) {
  std::vector<double> got;
  for (double v : rtt_ms_by_packet) {
    if (!std::isnan(v)) got.push_back(v);
  }
  r.sent = static_cast<uint32_t>(rtt_ms_by_packet.size());
  r.recv = static_cast<uint32_t>(got.size());
  if (got.empty()) return;
  double sum = 0;
  for (double v : got) sum += v;
  auto [lo, hi] = std::minmax_element(got.begin(), got.end());
  r.rtt_ms = Rtt{*lo, std::clamp(sum / static_cast<double>(got.size()), *lo, *hi), *hi};
  r.jitter_ms = mean_rtt_delta(got);
}

UdpEchoProbe::UdpEchoProbe(UdpEchoConfig config) : config_(config), rng_(std::random_device{}()) {}

uint64_t UdpEchoProbe::new_nonce() {
  std::lock_guard lock(mu_);
  return rng_();
}

std::unique_ptr<Probe> make_udp_echo_probe(const UdpEchoConfig& config) {
  return std::make_unique<UdpEchoProbe>(config);
}

std::vector<ProbeResult> UdpEchoProbe::run(const std::vector<ProbeTarget>& peers, int64_t ts_ms) {
  const uint32_t n = config_.packets;
  const uint64_t nonce = new_nonce();
  std::vector<EchoSlot> slots(peers.size());
  Sockets sockets;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    slots[i].addr = parse_socket_addr(peers[i].host, peers[i].port);
    slots[i].sent_at.resize(n);
    slots[i].rtt_ms.assign(n, NAN);
  }

  auto drain_until = [&](Clock::time_point deadline) {
    uint8_t buf[512];
    while (true) {
      auto now = Clock::now();
      if (now >= deadline) return;
      auto fds = sockets.pollfds();
      if (fds.empty()) return;
      int wait_ms =
          static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
      if (poll(fds.data(), fds.size(), wait_ms) <= 0) continue;
      for (const auto& pfd : fds) {
        if (!(pfd.revents & POLLIN)) continue;
        while (true) {
          SocketAddr from;
          ssize_t got = recvfrom(pfd.fd, buf, sizeof buf, 0, from.sockaddr(), &from.len);
          if (got < 0) break;
          auto arrived = Clock::now();
          auto p = parse_echo({buf, static_cast<std::size_t>(got)});
          if (!p || !p->reply || p->nonce != nonce) continue;
          std::size_t peer = p->seq / n, k = p->seq % n;
          if (peer >= slots.size()) continue;
          EchoSlot& s = slots[peer];
          if (!s.addr || !s.addr->same_endpoint(from) || !s.sent_at[k] ||
              !std::isnan(s.rtt_ms[k])) {
            continue;  // not from that peer, never sent, or a duplicate
          }
          s.rtt_ms[k] = std::chrono::duration<double, std::milli>(arrived - *s.sent_at[k]).count();
        }
      }
    }
  };

  for (uint32_t k = 0; k < n; ++k) {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      EchoSlot& s = slots[i];
      if (!s.addr) continue;
      int fd = sockets.get(s.addr->storage.ss_family);
      if (fd < 0) continue;
      auto pkt = encode_echo({false, nonce, static_cast<uint32_t>(i * n + k)});
      s.sent_at[k] = Clock::now();
      if (sendto(fd, pkt.data(), pkt.size(), 0, s.addr->sockaddr(), s.addr->len) < 0) {
        // Counted as sent and lost: the path (or our route to it) is not working.
      }
    }
    drain_until(Clock::now() + config_.spacing);
  }
  auto wait = config_.timeout;
  for (const auto& p : peers) wait = std::min(wait, p.timeout);
  drain_until(Clock::now() + wait);

  std::vector<ProbeResult> results;
  results.reserve(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    ProbeResult r = empty_result(peers[i], "udp", ts_ms);
    if (!slots[i].addr) {
      r.error = "bad address";
      results.push_back(std::move(r));
      continue;
    }
    summarize_round_trips(slots[i].rtt_ms, r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace mutuo::agent
