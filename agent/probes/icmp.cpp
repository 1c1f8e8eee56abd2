#include "agent/probes/icmp.h"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "agent/net_addr.h"
#include "agent/probes/udp_echo.h"

namespace mutuo::agent {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kHeader = 8;    // type, code, checksum, id, seq
constexpr std::size_t kPayload = 16;  // nonce (8) + zero padding

int open_icmp(int family, IcmpSocketKind kind) {
  int proto = family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  int type = kind == IcmpSocketKind::kDatagram ? SOCK_DGRAM : SOCK_RAW;
  return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

IcmpSocketKind detect(int family) {
  for (auto kind : {IcmpSocketKind::kDatagram, IcmpSocketKind::kRaw}) {
    int fd = open_icmp(family, kind);
    if (fd >= 0) {
      close(fd);
      return kind;
    }
  }
  return IcmpSocketKind::kNone;
}

struct IcmpSlot {
  std::optional<SocketAddr> addr;
  std::string error;
  std::vector<std::optional<Clock::time_point>> sent_at;
  std::vector<double> rtt_ms;
};

}  // namespace

uint16_t internet_checksum(const uint8_t* data, std::size_t len) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (len % 2) sum += uint32_t{data[len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

IcmpProbe::IcmpProbe(IcmpConfig config) : config_(config), rng_(std::random_device{}()) {
  v4_ = detect(AF_INET);
  v6_ = detect(AF_INET6);
  if (v4_ == IcmpSocketKind::kNone) {
    spdlog::warn(
        "icmp: unsupported on this host: no datagram ICMP (net.ipv4.ping_group_range does not "
        "include this group) and no raw socket (needs CAP_NET_RAW: setcap cap_net_raw+ep "
        "mutuo-agent); icmp results will say 'unsupported'");
  } else {
    spdlog::info("icmp: using {} sockets",
                 v4_ == IcmpSocketKind::kDatagram ? "unprivileged datagram" : "raw");
  }
}

std::unique_ptr<Probe> make_icmp_probe(const IcmpConfig& config) {
  return std::make_unique<IcmpProbe>(config);
}

uint64_t IcmpProbe::new_nonce() {
  std::lock_guard lock(mu_);
  return rng_();
}

std::vector<ProbeResult> IcmpProbe::run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) {
  const uint32_t n = config_.packets;
  const uint64_t nonce = new_nonce();
  const uint16_t ident = static_cast<uint16_t>(nonce >> 48);  // raw sockets: our id
  std::vector<IcmpSlot> slots(targets.size());
  std::chrono::milliseconds wait = config_.timeout;
  int fd4 = -1, fd6 = -1;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    IcmpSlot& s = slots[i];
    s.sent_at.resize(n);
    s.rtt_ms.assign(n, NAN);
    auto addr = resolve_host(targets[i].host, 0);
    if (!addr) {
      s.error = addr.error();
      continue;
    }
    int family = addr->storage.ss_family;
    IcmpSocketKind kind = family == AF_INET ? v4_ : v6_;
    if (kind == IcmpSocketKind::kNone) {
      s.error = "unsupported";
      continue;
    }
    int& fd = family == AF_INET ? fd4 : fd6;
    if (fd < 0) fd = open_icmp(family, kind);
    if (fd < 0) {
      s.error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    s.addr = *addr;
    wait = std::min(wait, targets[i].timeout);
  }
  if (n * targets.size() > 65535) {  // sequence numbers are 16 bits
    for (auto& s : slots) s.addr.reset(), s.error = "too many targets in one round";
  }

  auto packet = [&](bool v6, uint16_t seq) {
    std::array<uint8_t, kHeader + kPayload> p{};
    p[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    p[4] = static_cast<uint8_t>(ident >> 8);
    p[5] = static_cast<uint8_t>(ident);
    p[6] = static_cast<uint8_t>(seq >> 8);
    p[7] = static_cast<uint8_t>(seq);
    for (int i = 0; i < 8; ++i) p[kHeader + i] = static_cast<uint8_t>(nonce >> (8 * (7 - i)));
    if (!v6) {  // the kernel fills in the ICMPv6 checksum (it covers a pseudo-header)
      uint16_t c = internet_checksum(p.data(), p.size());
      p[2] = static_cast<uint8_t>(c >> 8);
      p[3] = static_cast<uint8_t>(c);
    }
    return p;
  };

  auto handle_reply = [&](int fd, bool v6) {
    uint8_t buf[1500];
    while (true) {
      SocketAddr from;
      ssize_t got = recvfrom(fd, buf, sizeof buf, 0, from.sockaddr(), &from.len);
      if (got < 0) return;
      auto arrived = Clock::now();
      const uint8_t* icmp = buf;
      std::size_t len = static_cast<std::size_t>(got);
      IcmpSocketKind kind = v6 ? v6_ : v4_;
      if (!v6 && kind == IcmpSocketKind::kRaw) {  // raw IPv4 delivers the IP header too
        if (len < 20) continue;
        std::size_t ihl = (buf[0] & 0x0F) * 4u;
        if (len < ihl) continue;
        icmp += ihl;
        len -= ihl;
      }
      if (len < kHeader + kPayload) continue;
      if (icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) continue;
      uint16_t id = static_cast<uint16_t>((icmp[4] << 8) | icmp[5]);
      if (kind == IcmpSocketKind::kRaw && id != ident) continue;  // someone else's ping
      uint64_t got_nonce = 0;
      for (int i = 0; i < 8; ++i) got_nonce = (got_nonce << 8) | icmp[kHeader + i];
      if (got_nonce != nonce) continue;
      uint16_t seq = static_cast<uint16_t>((icmp[6] << 8) | icmp[7]);
      std::size_t peer = seq / n, k = seq % n;
      if (peer >= slots.size()) continue;
      IcmpSlot& s = slots[peer];
      if (!s.addr || !s.sent_at[k] || !std::isnan(s.rtt_ms[k])) continue;
      SocketAddr expect = *s.addr;
      from.len = expect.len;
      // Ports mean nothing to ICMP; compare addresses only.
      if (from.storage.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&from.storage)->sin_port = 0;
        reinterpret_cast<sockaddr_in*>(&expect.storage)->sin_port = 0;
      } else {
        reinterpret_cast<sockaddr_in6*>(&from.storage)->sin6_port = 0;
        reinterpret_cast<sockaddr_in6*>(&expect.storage)->sin6_port = 0;
      }
      if (!expect.same_endpoint(from)) continue;
      s.rtt_ms[k] = std::chrono::duration<double, std::milli>(arrived - *s.sent_at[k]).count();
    }
  };

  auto drain_until = [&](Clock::time_point deadline) {
    while (true) {
      auto now = Clock::now();
      if (now >= deadline) return;
      std::vector<pollfd> fds;
      if (fd4 >= 0) fds.push_back({fd4, POLLIN, 0});
      if (fd6 >= 0) fds.push_back({fd6, POLLIN, 0});
      if (fds.empty()) return;
      int wait_ms =
          static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
      if (poll(fds.data(), fds.size(), wait_ms) <= 0) continue;
      for (const auto& p : fds) {
        if (p.revents & POLLIN) handle_reply(p.fd, p.fd == fd6);
      }
    }
  };

  bool any = std::any_of(slots.begin(), slots.end(), [](const IcmpSlot& s) { return s.addr; });
  for (uint32_t k = 0; any && k < n; ++k) {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      IcmpSlot& s = slots[i];
      if (!s.addr) continue;
      bool v6 = s.addr->storage.ss_family == AF_INET6;
      auto p = packet(v6, static_cast<uint16_t>(i * n + k));
      s.sent_at[k] = Clock::now();
      sendto(v6 ? fd6 : fd4, p.data(), p.size(), 0, s.addr->sockaddr(), s.addr->len);
    }
    drain_until(Clock::now() + config_.spacing);
  }
  if (any) drain_until(Clock::now() + wait);
  if (fd4 >= 0) close(fd4);
  if (fd6 >= 0) close(fd6);

  std::vector<ProbeResult> results;
  results.reserve(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    ProbeResult r = empty_result(targets[i], "icmp", ts_ms);
    const IcmpSlot& s = slots[i];
    if (!s.addr) {
      r.error = s.error;
      results.push_back(std::move(r));
      continue;
    }
    summarize_round_trips(s.rtt_ms, r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace mutuo::agent
