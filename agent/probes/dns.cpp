#include "agent/probes/dns.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <mutex>

#include "agent/net_addr.h"

namespace mutuo::agent {

namespace {

using Clock = std::chrono::steady_clock;

struct Query {
  const ProbeTarget* target = nullptr;
  ProbeResult* result = nullptr;
  ares_channel channel = nullptr;
  Clock::time_point sent;
  bool done = false;
};

std::string rcode_text(int rcode) {
  switch (rcode) {
    case 1:
      return "formerr";
    case 2:
      return "servfail";
    case 3:
      return "nxdomain";
    case 4:
      return "notimp";
    case 5:
      return "refused";
    default:
      return "rcode " + std::to_string(rcode);
  }
}

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* q = static_cast<Query*>(arg);
  q->done = true;
  ProbeResult& r = *q->result;
  r.ok = false;
  int rcode = 0;
  auto answers = abuf != nullptr ? dns_answer_count(abuf, alen, &rcode) : std::nullopt;
  if (status != ARES_SUCCESS || !answers) {
    r.error = status == ARES_ETIMEOUT       ? "timeout"
              : status == ARES_ECONNREFUSED ? "refused"
              : status == ARES_EDESTRUCTION ? "not run"
                                            : ares_strerror(status);
    return;
  }
  r.phase_ms["total"] = std::chrono::duration<double, std::milli>(Clock::now() - q->sent).count();
  r.status = rcode;
  r.answers = static_cast<uint32_t>(*answers);
  r.bytes = static_cast<uint64_t>(alen);
  if (rcode != 0) {
    r.error = rcode_text(rcode);
  } else if (*answers == 0) {
    r.error = "no answers";
  } else {
    r.ok = true;
  }
}

}  // namespace

std::optional<int> dns_answer_count(const unsigned char* msg, int len, int* rcode) {
  if (len < 12) return std::nullopt;
  *rcode = msg[3] & 0x0F;
  return (msg[6] << 8) | msg[7];
}

DnsProbe::DnsProbe() {
  static std::once_flag once;  // ares_library_init is not thread-safe
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

std::unique_ptr<Probe> make_dns_probe() { return std::make_unique<DnsProbe>(); }

std::vector<ProbeResult> DnsProbe::run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) {
  std::vector<ProbeResult> results;
  results.reserve(targets.size());
  for (const auto& t : targets) results.push_back(empty_result(t, "dns", ts_ms));
  std::vector<Query> queries(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const ProbeTarget& t = targets[i];
    Query& q = queries[i];
    q.target = &t;
    q.result = &results[i];
    results[i].ok = false;
    ares_options opts{};
    opts.timeout = static_cast<int>(t.timeout.count());
    opts.tries = 1;
    opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;  // report SERVFAIL, REFUSED as such
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    if (ares_init_options(&q.channel, &opts, mask) != ARES_SUCCESS) {
      q.channel = nullptr;
      results[i].error = "cannot start resolver";
      continue;
    }
    if (!t.host.empty()) {
      auto server = parse_socket_addr(t.host, t.port != 0 ? t.port : 53);
      if (!server) {
        results[i].error = "server must be an IP address";
        q.done = true;
        continue;
      }
      std::string csv = server->storage.ss_family == AF_INET6
                            ? "[" + t.host + "]:" + std::to_string(server->port())
                            : t.host + ":" + std::to_string(server->port());
      if (ares_set_servers_ports_csv(q.channel, csv.c_str()) != ARES_SUCCESS) {
        results[i].error = "invalid server";
        q.done = true;
        continue;
      }
    }
    unsigned char* buf = nullptr;
    int len = 0;
    if (ares_create_query(t.name.c_str(), ns_c_in, ns_t_a, 0, 1, &buf, &len, 0) != ARES_SUCCESS) {
      results[i].error = "invalid name";
      q.done = true;
      continue;
    }
    q.sent = Clock::now();
    ares_send(q.channel, buf, len, on_answer, &q);
    ares_free_string(buf);
  }

  while (true) {
    std::vector<pollfd> fds;
    std::vector<ares_channel> owners;
    timeval wait{1, 0};
    bool any = false;
    for (Query& q : queries) {
      if (q.channel == nullptr || q.done) continue;
      any = true;
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(q.channel, socks, ARES_GETSOCK_MAXNUM);
      for (int k = 0; k < ARES_GETSOCK_MAXNUM; ++k) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, k)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, k)) events |= POLLOUT;
        if (events == 0) continue;
        fds.push_back({socks[k], events, 0});
        owners.push_back(q.channel);
      }
      timeval tv{};
      if (ares_timeout(q.channel, &wait, &tv) != nullptr) wait = tv;
    }
    if (!any) break;
    int wait_ms = static_cast<int>(wait.tv_sec * 1000 + (wait.tv_usec + 999) / 1000);
    int n = poll(fds.data(), fds.size(), wait_ms);
    if (n > 0) {
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        ares_socket_t r =
            (fds[k].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[k].fd : ARES_SOCKET_BAD;
        ares_socket_t w = (fds[k].revents & POLLOUT) ? fds[k].fd : ARES_SOCKET_BAD;
        ares_process_fd(owners[k], r, w);
      }
    }
    for (Query& q : queries) {  // timeouts
      if (q.channel != nullptr && !q.done)
        ares_process_fd(q.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
  }
  for (Query& q : queries) {
    if (q.channel != nullptr) ares_destroy(q.channel);
  }
  return results;
}

}  // namespace mutuo::agent
