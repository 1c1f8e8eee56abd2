// The Prometheus text registry and its loopback endpoint.
#include "common/metrics.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace mutuo::metrics;

namespace {
std::string http_get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
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

TEST_CASE("counters, gauges and histograms render in the text format") {
  Registry r;
  r.counter("x_total", "Things", {{"reason", "a\"b"}}).inc(3);
  r.counter("x_total", "Things", {{"reason", "c"}}).inc();
  r.gauge("depth", "Queue depth").set(2.5);
  auto& h = r.histogram("lat_seconds", "Latency", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  r.add_collector([](std::string& out) { out += sample("extra", {}, 7); });
  std::string text = r.render();
  CHECK(text.find("# TYPE x_total counter\n") != std::string::npos);
  CHECK(text.find("x_total{reason=\"a\\\"b\"} 3\n") != std::string::npos);
  CHECK(text.find("x_total{reason=\"c\"} 1\n") != std::string::npos);
  CHECK(text.find("depth 2.5\n") != std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("lat_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("extra 7\n") != std::string::npos);
  CHECK(&r.counter("x_total", "Things", {{"reason", "c"}}) ==
        &r.counter("x_total", "Things", {{"reason", "c"}}));
}

TEST_CASE("GET /metrics on loopback serves the registry; other addresses are refused") {
  Registry r;
  r.counter("served_total", "Served").inc(42);
  auto server = MetricsServer::start("127.0.0.1:0", r);
  REQUIRE(server);
  REQUIRE((*server)->port() > 0);
  std::string reply = http_get((*server)->port(), "/metrics");
  CHECK(reply.find("200 OK") != std::string::npos);
  CHECK(reply.find("text/plain; version=0.0.4") != std::string::npos);
  CHECK(reply.find("served_total 42") != std::string::npos);

  CHECK_FALSE(MetricsServer::start("0.0.0.0:0", r));
  CHECK_FALSE(MetricsServer::start("no-port", r));
}
