#include "agent/probes/tcp_connect.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/net_addr.h"

namespace mutuo::agent {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string connect_error(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "refused";
    case ETIMEDOUT:
      return "timeout";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return "unreachable";
    default:
      return std::strerror(err);
  }
}

struct Attempt {
  int fd = -1;
  Clock::time_point started;
  Clock::time_point deadline;
};

}  // namespace

std::unique_ptr<Probe> make_tcp_connect_probe() { return std::make_unique<TcpConnectProbe>(); }

std::vector<ProbeResult> TcpConnectProbe::run(const std::vector<ProbeTarget>& targets,
                                              int64_t ts_ms) {
  std::vector<ProbeResult> results;
  std::vector<Attempt> attempts(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const ProbeTarget& t = targets[i];
    results.push_back(empty_result(t, "tcp", ts_ms));
    ProbeResult& r = results.back();
    r.ok = false;
    auto begin = Clock::now();
    auto addr = resolve_host(t.host, t.port);
    if (!parse_socket_addr(t.host, t.port)) r.phase_ms["dns"] = ms_between(begin, Clock::now());
    if (!addr) {
      r.error = addr.error();
      continue;
    }
    int fd = socket(addr->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      r.error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    Attempt& a = attempts[i];
    a.started = Clock::now();
    a.deadline = a.started + t.timeout;
    if (connect(fd, addr->sockaddr(), addr->len) == 0) {  // loopback may finish at once
      r.ok = true;
      r.phase_ms["connect"] = ms_between(a.started, Clock::now());
      close(fd);
    } else if (errno != EINPROGRESS) {
      r.error = connect_error(errno);
      close(fd);
    } else {
      a.fd = fd;
    }
  }

  while (true) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    auto now = Clock::now();
    Clock::time_point next_deadline = Clock::time_point::max();
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      Attempt& a = attempts[i];
      if (a.fd < 0) continue;
      if (now >= a.deadline) {
        results[i].error = "timeout";
        close(a.fd);
        a.fd = -1;
        continue;
      }
      fds.push_back({a.fd, POLLOUT, 0});
      index.push_back(i);
      next_deadline = std::min(next_deadline, a.deadline);
    }
    if (fds.empty()) break;
    int wait_ms =
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next_deadline - now).count());
    if (poll(fds.data(), fds.size(), std::max(wait_ms, 0)) <= 0) continue;
    auto done = Clock::now();
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Attempt& a = attempts[index[k]];
      ProbeResult& r = results[index[k]];
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        r.ok = true;
        r.phase_ms["connect"] = ms_between(a.started, done);
      } else {
        r.error = connect_error(err);
      }
      close(a.fd);
      a.fd = -1;
    }
  }
  return results;
}

}  // namespace mutuo::agent
