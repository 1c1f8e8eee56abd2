// The CivetWeb-free /metrics endpoint the agent serves (common/metrics_endpoint.h).
#include "common/metrics_endpoint.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

using mutuo::metrics::TextEndpoint;

namespace {

std::string http_exchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

TEST_CASE("GET /metrics answers the rendered text in the Prometheus format") {
  std::atomic<int> calls{0};
  auto e = TextEndpoint::start("127.0.0.1:0", [&] {
    ++calls;
    return std::string("# TYPE x_total counter\nx_total 7\n");
  });
  REQUIRE(e);
  REQUIRE(e.value()->port() > 0);
  std::string reply = http_exchange(e.value()->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(reply.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(reply.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(reply.find("Content-Length: 33\r\n") != std::string::npos);
  CHECK(reply.ends_with("\r\n\r\n# TYPE x_total counter\nx_total 7\n"));
  CHECK(calls == 1);
  CHECK(e.value()->scrapes() == 1);
}

TEST_CASE("other paths, methods and garbage are refused without rendering") {
  std::atomic<int> calls{0};
  auto e = TextEndpoint::start("127.0.0.1:0", [&] {
    ++calls;
    return std::string();
  });
  REQUIRE(e);
  int port = e.value()->port();
  CHECK(http_exchange(port, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  CHECK(http_exchange(port, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
  CHECK(http_exchange(port, "garbage").starts_with("HTTP/1.1 400"));
  // An endless request: the server reads 8 KiB, answers 400 and closes (the
  // client may see a reset instead, as it is still sending).
  std::string big = http_exchange(port, std::string(100000, 'A'));
  CHECK((big.empty() || big.starts_with("HTTP/1.1 400")));
  CHECK(calls == 0);
  // Still serving after all that.
  CHECK(http_exchange(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
}

TEST_CASE("only loopback addresses are served") {
  CHECK_FALSE(TextEndpoint::start("0.0.0.0:0", [] { return std::string(); }));
  CHECK_FALSE(TextEndpoint::start("192.0.2.1:0", [] { return std::string(); }));
  CHECK_FALSE(TextEndpoint::start("127.0.0.1", [] { return std::string(); }));
  CHECK_FALSE(TextEndpoint::start("127.0.0.1:99999", [] { return std::string(); }));
  CHECK(TextEndpoint::start("localhost:0", [] { return std::string(); }));
}

TEST_CASE("a taken port is an error, and stopping is prompt") {
  auto a = TextEndpoint::start("127.0.0.1:0", [] { return std::string(); });
  REQUIRE(a);
  auto b = TextEndpoint::start("127.0.0.1:" + std::to_string(a.value()->port()),
                               [] { return std::string(); });
  CHECK_FALSE(b);
  auto t0 = std::chrono::steady_clock::now();
  a.value().reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}
