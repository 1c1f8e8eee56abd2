// The UDP echo packet and a real round over loopback.
#include "agent/probes/echo_packet.h"

#include <doctest/doctest.h>

#include "agent/echo_responder.h"
#include "agent/probes/udp_echo.h"

using namespace mutuo;
using namespace mutuo::agent;

TEST_CASE("echo packets round-trip and anything else is refused") {
  EchoPacket p{false, 0x0123456789abcdefULL, 4242};
  auto bytes = encode_echo(p);
  auto back = parse_echo(bytes);
  REQUIRE(back);
  CHECK_FALSE(back->reply);
  CHECK(back->nonce == p.nonce);
  CHECK(back->seq == p.seq);

  CHECK_FALSE(parse_echo(std::span<const uint8_t>(bytes.data(), bytes.size() - 1)));
  auto bad = bytes;
  bad[0] = 'X';
  CHECK_FALSE(parse_echo(bad));
  bad = bytes;
  bad[4] = 'Z';
  CHECK_FALSE(parse_echo(bad));
}

TEST_CASE("jitter is the mean delta between consecutive round trips") {
  CHECK(mean_rtt_delta({}) == 0);
  CHECK(mean_rtt_delta({5}) == 0);
  CHECK(mean_rtt_delta({1, 3, 2}) == doctest::Approx(1.5));
}

TEST_CASE("a round over loopback: a live responder answers all, a dead port none") {
  EchoResponder responder;
  auto port = responder.start("127.0.0.1", 0);
  REQUIRE(port);
  UdpEchoProbe probe({.packets = 5,
                      .spacing = std::chrono::milliseconds(2),
                      .timeout = std::chrono::milliseconds(300)});
  // A port nobody listens on: bind and close a socket to find one.
  EchoResponder gone;
  auto dead_port = gone.start("127.0.0.1", 0);
  REQUIRE(dead_port);
  gone.stop();

  auto peer = [](const char* id, const char* host, uint16_t port) {
    ProbeTarget t;
    t.id = id;
    t.host = host;
    t.port = port;
    return t;
  };
  std::vector<ProbeTarget> peers = {peer("live", "127.0.0.1", *port),
                                    peer("dead", "127.0.0.1", *dead_port),
                                    peer("bad", "not-an-ip", 1)};
  auto results = probe.run(peers, 12345);
  REQUIRE(results.size() == 3);
  CHECK(results[0].target == "live");
  CHECK(results[0].ts_ms == 12345);
  CHECK(*results[0].sent == 5);
  CHECK(*results[0].recv == 5);
  REQUIRE(results[0].rtt_ms);
  CHECK(results[0].rtt_ms->min <= results[0].rtt_ms->avg);
  CHECK(results[0].rtt_ms->avg <= results[0].rtt_ms->max);
  CHECK(*results[1].recv == 0);
  CHECK(*results[1].loss() == 1.0);
  CHECK_FALSE(results[1].rtt_ms);
  CHECK(results[2].error == "bad address");
  CHECK(responder.answered() == 5);
}
