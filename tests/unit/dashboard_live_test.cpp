// The live feed (bounded per-client queues, slow clients dropped, session
// checks) and the bus listener that feeds it, without a broker or a browser.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/messages/alert.h"
#include "common/messages/check.h"
#include "common/messages/results.h"
#include "common/messages/status.h"
#include "common/topics.h"
#include "dashboard/bus_listener.h"
#include "dashboard/live_feed.h"

using mutuo::dashboard::BusListener;
using mutuo::dashboard::LiveFeed;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A client that records its frames; it can be made to block inside send().
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  std::string closed;
  bool blocked = false;
  std::atomic<bool> alive{true};

  LiveFeed::Sender sender() {
    return [this](std::string_view f) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, 5s, [this] { return !blocked; });
      frames.emplace_back(f);
      cv.notify_all();
      return true;
    };
  }
  LiveFeed::Closer closer() {
    return [this](std::string_view reason) {
      std::lock_guard lock(mu);
      closed = std::string(reason);
      cv.notify_all();
    };
  }
  // All events received so far, flattened out of their frames.
  std::vector<json> events() {
    std::lock_guard lock(mu);
    std::vector<json> out;
    for (const auto& f : frames) {
      for (auto& e : json::parse(f)) out.push_back(e);
    }
    return out;
  }
  bool wait_for(std::size_t n_events, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (events().size() >= n_events) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  bool wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [this] { return !closed.empty(); });
  }
};

}  // namespace

TEST_CASE("the live feed sends the hello first, then every event, batched in JSON arrays") {
  LiveFeed feed;
  Recorder r;
  CHECK_FALSE(feed.has_clients());  // nobody to build events for
  auto id = feed.add(r.sender(), r.closer(), nullptr, R"({"type":"hello"})");
  REQUIRE(id);
  CHECK(feed.has_clients());
  for (int i = 0; i < 50; ++i) feed.publish(json{{"type", "n"}, {"i", i}}.dump());
  REQUIRE(r.wait_for(51, 2s));
  auto events = r.events();
  CHECK(events[0]["type"] == "hello");
  for (int i = 0; i < 50; ++i) CHECK(events[i + 1]["i"] == i);
  feed.remove(*id);
  feed.publish(R"({"type":"after"})");
  std::this_thread::sleep_for(20ms);
  CHECK(r.events().size() == 51);  // nothing after remove()
  CHECK(feed.counters().clients == 0);
  CHECK_FALSE(feed.has_clients());
}

TEST_CASE("a slow client is dropped and publish() never waits for it") {
  LiveFeed::Limits limits;
  limits.max_queued = 10;
  LiveFeed feed(limits);
  Recorder slow, fast;
  slow.blocked = true;
  auto slow_id = feed.add(slow.sender(), slow.closer(), nullptr, R"({"type":"hello"})");
  auto fast_id = feed.add(fast.sender(), fast.closer(), nullptr);
  REQUIRE(slow_id);
  REQUIRE(fast_id);
  std::this_thread::sleep_for(20ms);  // the slow writer is now stuck in send()
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    feed.publish(json{{"i", i}}.dump());
    if (i % 5 == 4) REQUIRE(fast.wait_for(static_cast<std::size_t>(i + 1), 2s));
  }
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(fast.events().size() == 100);
  CHECK(feed.counters().dropped_slow == 1);
  {
    std::lock_guard lock(slow.mu);
    slow.blocked = false;
  }
  slow.cv.notify_all();
  REQUIRE(slow.wait_closed(2s));
  CHECK(slow.closed.find("too slow") != std::string::npos);
  CHECK(slow.events().size() <= 1);  // the hello at most; nothing queued past the bound
  feed.remove(*slow_id);
  feed.remove(*fast_id);
}

TEST_CASE("clients beyond the limit are refused; a client whose session ended is closed") {
  LiveFeed::Limits limits;
  limits.max_clients = 1;
  limits.heartbeat = 50ms;
  LiveFeed feed(limits);
  Recorder a, b;
  std::atomic<bool> logged_in{true};
  auto id = feed.add(a.sender(), a.closer(), [&logged_in] { return logged_in.load(); });
  REQUIRE(id);
  CHECK_FALSE(feed.add(b.sender(), b.closer(), nullptr));
  CHECK(feed.counters().refused_full == 1);
  REQUIRE(a.wait_for(0, 1s));
  logged_in = false;
  REQUIRE(a.wait_closed(2s));  // found at the next heartbeat
  CHECK(a.closed.find("session") != std::string::npos);
  CHECK(feed.counters().dropped_auth == 1);
  feed.remove(*id);
}

TEST_CASE("the bus listener turns presence, results, alerts and checks into events") {
  mutuo::dashboard::PresenceTable presence;
  mutuo::dashboard::RetainedTable<mutuo::Alert> alerts;
  mutuo::dashboard::RetainedTable<mutuo::Check> checks;
  LiveFeed feed;
  Recorder r;
  auto id = feed.add(r.sender(), r.closer(), nullptr);
  REQUIRE(id);
  BusListener bus(&presence, &alerts, &checks, &feed, [] { return int64_t{1'000'000}; });

  mutuo::Status s;
  s.agent = "fra-1";
  s.online = true;
  s.ts_ms = 999'000;
  s.version = "0.1.0";
  s.addrs = {"192.0.2.1"};
  s.echo_port = 7777;
  s.probes = {"udp"};
  bus.on_message({mutuo::topics::status("fra-1"), mutuo::encode(s), 1, true});

  mutuo::ResultBatch batch;
  batch.agent = "fra-1";
  batch.batch = 7;
  mutuo::ProbeResult udp;
  udp.target = "ams-2";
  udp.probe = "udp";
  udp.ts_ms = 995'000;
  udp.sent = 10;
  udp.recv = 9;
  udp.rtt_ms = mutuo::Rtt{1.0, 2.0, 3.0};
  udp.jitter_ms = 0.5;
  mutuo::ProbeResult http;
  http.kind = mutuo::TargetKind::kCheck;
  http.target = "web";
  http.probe = "http";
  http.ts_ms = 995'000;
  http.ok = true;
  http.status = 200;
  http.phase_ms = {{"total", 12.5}};
  batch.results = {udp, http};
  bus.on_message({mutuo::topics::results("fra-1"), mutuo::encode(batch), 1, false});
  // A batch claiming another agent's name is refused.
  batch.agent = "ams-2";
  bus.on_message({mutuo::topics::results("fra-1"), mutuo::encode(batch), 1, false});

  mutuo::Alert alert;
  alert.subject = "peer/ams-2";
  alert.state = mutuo::HealthState::kDown;
  alert.since_ms = 990'000;
  alert.ts_ms = 995'000;
  alert.cause = "target";
  bus.on_message({mutuo::alert_topic("peer/ams-2"), mutuo::encode(alert), 1, true});

  mutuo::Check check;
  check.check = "web";
  check.type = "http";
  check.url = "http://127.0.0.1:8080/";
  bus.on_message({mutuo::topics::check("web"), mutuo::encode(check), 1, true});
  bus.on_message({mutuo::topics::check("web"), "{not json", 1, true});
  bus.on_message({mutuo::alert_topic("peer/ams-2"), "", 1, true});

  REQUIRE(r.wait_for(5, 2s));
  auto events = r.events();
  REQUIRE(events.size() == 5);
  CHECK(events[0]["type"] == "agent");
  CHECK(events[0]["agent"]["id"] == "fra-1");
  CHECK(events[0]["agent"]["state"] == "online");
  CHECK(events[1]["type"] == "results");
  REQUIRE(events[1]["cells"].size() == 1);
  CHECK(events[1]["cells"][0]["target"] == "ams-2");
  CHECK(events[1]["cells"][0]["loss"].get<double>() == doctest::Approx(0.1));
  CHECK(events[1]["cells"][0]["rtt_ms"]["max"] == 3.0);
  CHECK(events[1]["cells"][0]["age_ms"] == 5000);
  REQUIRE(events[1]["checks"].size() == 1);
  CHECK(events[1]["checks"][0]["check"] == "web");
  CHECK(events[1]["checks"][0]["ok"] == true);
  CHECK(events[2]["type"] == "alert");
  CHECK(events[2]["alert"]["state"] == "down");
  CHECK(events[3]["type"] == "check");
  CHECK(events[3]["check"]["url"] == "http://127.0.0.1:8080/");
  CHECK(events[4]["type"] == "alert");
  CHECK(events[4]["alert"].is_null());
  CHECK_FALSE(alerts.get("peer/ams-2"));
  CHECK(checks.get("web"));
  CHECK(bus.counters().rejected == 2);
  CHECK(bus.counters().results == 1);
  feed.remove(*id);
}
