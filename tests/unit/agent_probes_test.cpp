// The agent's probes against real servers on loopback started by the test: a
// small HTTP server, listening and closed TCP ports, the kernel's own ICMP.
// (DNS against dnsmasq and HTTPS with a real certificate: tests/integration/
// test_agent_probes.py.)
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent/net_addr.h"
#include "agent/probes/dns.h"
#include "agent/probes/http.h"
#include "agent/probes/icmp.h"
#include "agent/probes/registry.h"
#include "agent/probes/tcp_connect.h"

using namespace mutuo;
using namespace mutuo::agent;
using namespace std::chrono_literals;

namespace {

int listen_on_loopback(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = parse_socket_addr("127.0.0.1", 0);
  REQUIRE(bind(fd, addr->sockaddr(), addr->len) == 0);
  REQUIRE(listen(fd, 64) == 0);
  SocketAddr bound;
  getsockname(fd, bound.sockaddr(), &bound.len);
  *port = bound.port();
  return fd;
}

uint16_t closed_port() {
  uint16_t port = 0;
  close(listen_on_loopback(&port));
  return port;
}

// Answers GET /ok, /missing, /redirect, /slow and /big, one thread per
// connection, until destroyed.
class TinyHttpServer {
 public:
  TinyHttpServer() {
    fd_ = listen_on_loopback(&port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyHttpServer() {
    stopping_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    close(fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void serve() {
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) conns_.emplace_back([c] { answer(c); });
    }
  }
  static void answer(int c) {
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
    }
    std::string path = req.substr(4, req.find(' ', 4) - 4);
    std::string status = "200 OK", body = "hello from the mutuo test server", extra;
    if (path == "/missing") {
      status = "404 Not Found";
      body = "no such page";
    } else if (path == "/redirect") {
      status = "302 Found";
      extra = "Location: /ok\r\n";
      body = "";
    } else if (path == "/slow") {
      std::this_thread::sleep_for(1500ms);
    } else if (path == "/big") {
      body.assign(64 * 1024, 'x');
    }
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n" + extra + "\r\n" + body;
    send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    close(c);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

ProbeTarget check(const std::string& id) {
  ProbeTarget t;
  t.kind = TargetKind::kCheck;
  t.id = id;
  return t;
}

}  // namespace

TEST_CASE("tcp: an open port connects, a closed one is refused") {
  uint16_t open_port = 0;
  int listener = listen_on_loopback(&open_port);
  auto open = check("open");
  open.host = "127.0.0.1";
  open.port = open_port;
  auto closed = check("closed");
  closed.host = "127.0.0.1";
  closed.port = closed_port();
  auto named = check("named");
  named.host = "localhost";
  named.port = open_port;
  auto nowhere = check("nowhere");
  nowhere.host = "no-such-host.invalid";
  nowhere.port = 80;

  TcpConnectProbe probe;
  auto r = probe.run({open, closed, named, nowhere}, 777);
  REQUIRE(r.size() == 4);
  CHECK(r[0].target == "open");
  CHECK(r[0].kind == TargetKind::kCheck);
  CHECK(r[0].probe == "tcp");
  CHECK(r[0].ts_ms == 777);
  CHECK(*r[0].ok);
  CHECK(r[0].error.empty());
  CHECK(r[0].phase_ms.at("connect") >= 0);
  CHECK(r[0].phase_ms.at("connect") < 1000);
  CHECK_FALSE(r[0].phase_ms.contains("dns"));  // a literal needs no lookup
  CHECK_FALSE(*r[1].ok);
  CHECK(r[1].error == "refused");
  CHECK_FALSE(r[1].phase_ms.contains("connect"));
  CHECK(*r[2].ok);
  CHECK(r[2].phase_ms.contains("dns"));
  CHECK_FALSE(*r[3].ok);
  CHECK(r[3].error.find("resolve") != std::string::npos);
  close(listener);
}

TEST_CASE("http: status, keyword, expected status, redirects, timeouts, size limit") {
  TinyHttpServer server;
  auto target = [&](const std::string& id, const std::string& path) {
    auto t = check(id);
    t.url = server.url(path);
    t.timeout = 1000ms;
    return t;
  };
  auto ok = target("ok", "/ok");
  auto keyword = target("keyword", "/ok");
  keyword.expect_keyword = "mutuo test";
  auto no_keyword = target("no-keyword", "/ok");
  no_keyword.expect_keyword = "absent words";
  auto missing = target("missing", "/missing");
  auto missing_expected = target("missing-expected", "/missing");
  missing_expected.expect_status = {404};
  auto ok_unexpected = target("ok-unexpected", "/ok");
  ok_unexpected.expect_status = {204, 301, 404};
  auto redirect = target("redirect", "/redirect");
  auto slow = target("slow", "/slow");
  auto big = target("big", "/big");
  auto refused = check("refused");
  refused.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  auto file = check("file");
  file.url = "file:///etc/passwd";

  HttpConfig cfg;
  cfg.max_body_bytes = 16 * 1024;
  HttpProbe probe(cfg);
  auto r = probe.run({ok, keyword, no_keyword, missing, missing_expected, redirect, slow, big,
                      refused, file, ok_unexpected},
                     5);
  REQUIRE(r.size() == 11);

  CHECK(*r[0].ok);
  CHECK(*r[0].status == 200);
  CHECK(*r[0].bytes == std::strlen("hello from the mutuo test server"));
  for (const char* phase : {"connect", "ttfb", "total"}) CHECK(r[0].phase_ms.contains(phase));
  CHECK(r[0].phase_ms.at("connect") <= r[0].phase_ms.at("ttfb"));
  CHECK(r[0].phase_ms.at("ttfb") <= r[0].phase_ms.at("total"));
  CHECK_FALSE(r[0].phase_ms.contains("tls"));

  CHECK(*r[1].ok);
  CHECK_FALSE(*r[2].ok);
  CHECK(r[2].error == "keyword not found");
  CHECK_FALSE(*r[3].ok);
  CHECK(*r[3].status == 404);
  CHECK(r[3].error == "status 404");
  CHECK(*r[4].ok);
  CHECK(*r[5].ok);
  CHECK(*r[5].status == 200);  // followed to /ok
  CHECK_FALSE(*r[6].ok);
  CHECK(r[6].error == "timeout");
  CHECK_FALSE(*r[7].ok);
  CHECK(r[7].error == "body too large");
  CHECK_FALSE(*r[8].ok);
  CHECK(r[8].error == "refused");
  CHECK_FALSE(*r[9].ok);  // only http and https are allowed
  CHECK_FALSE(r[9].status);
  CHECK_FALSE(*r[10].ok);
  CHECK(*r[10].status == 200);
  CHECK(r[10].error == "status 200, expected 204, 301 or 404");
  CHECK_FALSE(r[0].cert_days_left);  // plain http has no certificate

  SUBCASE("without following redirects the 302 itself counts") {
    HttpConfig no_follow;
    no_follow.max_redirects = 0;
    HttpProbe p(no_follow);
    auto expect_302 = redirect;
    expect_302.expect_status = {302};
    auto expect_200 = redirect;
    expect_200.expect_status = {200};
    auto rr = p.run({redirect, expect_302, expect_200}, 5);
    CHECK(*rr[0].status == 302);
    CHECK(rr[0].error == "status 302");
    CHECK(*rr[1].ok);
    CHECK(rr[2].error == "status 302, expected 200");
  }
}

TEST_CASE("http: certificate days left from curl's expire date") {
  // 2030-03-01 12:00:00 UTC is 1898596800.
  auto d = cert_days_left("Mar  1 12:00:00 2030 GMT", 1898596800 - 10 * 86400);
  REQUIRE(d);
  CHECK(*d == doctest::Approx(10.0));
  CHECK_FALSE(cert_days_left("not a date", 0));
}

TEST_CASE("dns: header parsing and an unanswered query") {
  const unsigned char nx[12] = {0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0};
  int rcode = -1;
  CHECK(*dns_answer_count(nx, 12, &rcode) == 0);
  CHECK(rcode == 3);
  const unsigned char two[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
  CHECK(*dns_answer_count(two, 12, &rcode) == 2);
  CHECK(rcode == 0);
  CHECK_FALSE(dns_answer_count(two, 11, &rcode));

  auto t = check("dead-server");
  t.name = "example.org";
  t.host = "127.0.0.1";
  t.port = closed_port();  // the same number is free for UDP too, most likely
  t.timeout = 500ms;
  auto bad = check("bad-server");
  bad.name = "example.org";
  bad.host = "dns.example";  // a server must be an address
  DnsProbe probe;
  auto r = probe.run({t, bad}, 1);
  REQUIRE(r.size() == 2);
  CHECK_FALSE(*r[0].ok);
  CHECK_FALSE(r[0].error.empty());
  CHECK_FALSE(r[0].status);
  CHECK(r[1].error == "server must be an IP address");
}

TEST_CASE("icmp: loopback answers every ping, or the probe says unsupported") {
  IcmpProbe probe({.packets = 3, .spacing = 5ms, .timeout = 500ms});
  auto t = check("loopback");
  t.host = "127.0.0.1";
  auto r = probe.run({t}, 9);
  REQUIRE(r.size() == 1);
  if (probe.supported()) {
    std::string kind = probe.kind_v4() == IcmpSocketKind::kRaw ? "raw" : "datagram";
    MESSAGE("icmp with " << kind << " sockets");
    CHECK(r[0].error.empty());
    CHECK(*r[0].sent == 3);
    CHECK(*r[0].recv == 3);
    REQUIRE(r[0].rtt_ms);
    CHECK(r[0].rtt_ms->min <= r[0].rtt_ms->max);
  } else {
    MESSAGE("icmp unsupported for this user");
    CHECK(r[0].error == "unsupported");
    CHECK_FALSE(r[0].sent);  // never a fake figure
    CHECK_FALSE(r[0].rtt_ms);
  }
}

TEST_CASE("every probe type is registered once") {
  auto probes = make_probes({});
  CHECK(probes.size() == probe_types().size());
  for (const char* name : {"udp", "icmp", "tcp", "http", "dns"}) CHECK(probes.contains(name));
}
