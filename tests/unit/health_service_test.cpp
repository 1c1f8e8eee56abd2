// HealthService (receiver/health/health_service.h): raw bus messages in, retained
// alerts and notices out, as the receiver will run it.
#include "receiver/health/health_service.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "health_fixtures.h"
#include "receiver/health/health_metrics.h"

using namespace health_fixtures;
using mutuo::HealthState;
using mutuo::MqttMessage;
using namespace mutuo::health;

namespace {

class RecordingChannel : public Channel {
 public:
  explicit RecordingChannel(std::vector<Notice>* sink) : sink_(sink) {}
  const std::string& name() const override { return name_; }
  void submit(const Notice& n, int64_t) override { sink_->push_back(n); }
  void pump(int64_t) override {}
  int64_t next_due_ms() const override { return INT64_MAX; }
  ChannelStats stats() const override { return {}; }

 private:
  std::string name_ = "recording";
  std::vector<Notice>* sink_;
};

MqttMessage results_message(const std::string& agent, uint64_t batch,
                            std::vector<mutuo::ProbeResult> results) {
  mutuo::ResultBatch b{agent, batch, std::move(results)};
  return {"mutuo/v1/results/" + agent, mutuo::encode(b), 1, false};
}

MqttMessage status_message(const mutuo::Status& s) {
  return {"mutuo/v1/agents/" + s.agent + "/status", mutuo::encode(s), 1, true};
}

}  // namespace

TEST_CASE("from bus messages to one retained down alert and one notice, then offline") {
  int64_t now = 0;
  std::vector<MqttMessage> published;
  std::vector<Notice> notices;
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<RecordingChannel>(&notices));
  HealthService service(
      {},
      [&](const MqttMessage& m) {
        published.push_back(m);
        return true;
      },
      std::move(channels), [&] { return now; });
  const std::vector<std::string> mesh = {"a", "b", "c", "d"};
  for (const auto& a : mesh) service.on_message(status_message(online(a)));
  uint64_t batch = 0;
  for (int i = 1; i <= 8; ++i) {
    now = i * 5'000;
    for (const auto& o : mesh) {
      std::vector<mutuo::ProbeResult> rs;
      for (const auto& t : mesh) {
        if (o != t) rs.push_back(udp(t, now, t == "d" && i > 2 ? 0 : 10));
      }
      service.on_message(results_message(o, ++batch, rs));
    }
    service.tick();
  }
  // A batch whose payload names another agent than its topic is ignored.
  auto forged = results_message("a", 99, {udp("b", now, 0)});
  forged.topic = "mutuo/v1/results/c";
  service.on_message(forged);

  std::vector<MqttMessage> about_d;
  for (const auto& m : published) {
    if (m.topic == "mutuo/v1/alerts/peer/d") about_d.push_back(m);
  }
  REQUIRE(about_d.size() == 2);  // up at first sight, then down
  CHECK(about_d[1].retained);
  auto down = mutuo::decode_alert(about_d[1].payload);
  REQUIRE(down.ok());
  CHECK(down->state == HealthState::kDown);
  CHECK(down->observers.at("a") == "fail");
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].alert.subject == "peer/d");

  service.on_message(status_message(lost("d")));
  now += 1000;
  service.tick();
  auto offline = mutuo::decode_alert(published.back().payload);
  REQUIRE(offline.ok());
  CHECK(offline->subject == "peer/d");
  CHECK(offline->state == HealthState::kOffline);
  CHECK(notices.size() == 2);
  CHECK(service.dropped() == 0);
}

TEST_CASE("the input queue is bounded: beyond it input is dropped and counted") {
  HealthServiceConfig config;
  config.max_queue = 2;
  HealthService service(
      config, [](const MqttMessage&) { return true; }, {}, [] { return 1; });
  for (int i = 0; i < 5; ++i) service.on_status(online("a"));
  CHECK(service.dropped() == 3);

  HealthServiceConfig small;
  small.max_queue_bytes = 100;
  HealthService bytes(
      small, [](const MqttMessage&) { return true; }, {}, [] { return 1; });
  MqttMessage m{"mutuo/v1/results/a", std::string(80, 'x'), 1, false};
  bytes.on_message(m);
  bytes.on_message(m);
  CHECK(bytes.dropped() == 1);
  bytes.tick();  // an invalid payload is ignored (the receiver counts it)
  bytes.on_message(m);
  CHECK(bytes.dropped() == 1);
}

TEST_CASE("the service thread evaluates on its own and stops promptly") {
  std::atomic<int> publishes{0};
  HealthServiceConfig config;
  config.evaluate_every_ms = 10;
  HealthService service(
      config, [&](const MqttMessage&) { return ++publishes > 0; }, {},
      [] { return mutuo::now_ms(); });
  service.on_status(online("a"));
  service.start();
  for (int i = 0; i < 200 && publishes == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  service.stop();
  CHECK(publishes == 1);  // peer/a, unknown, published once
}

TEST_CASE("the service's counters reach the metrics endpoint, channels by outcome") {
  mutuo::metrics::Registry registry;
  std::vector<Notice> notices;
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<RecordingChannel>(&notices));
  HealthServiceConfig config;
  config.max_queue = 1;
  auto service = std::make_unique<HealthService>(
      config, [](const MqttMessage&) { return true; }, std::move(channels), [] { return 1; });
  add_health_metrics(registry, service->counters());
  service->on_status(online("a"));
  service->on_status(online("b"));  // dropped: the queue holds one
  service->tick();                  // publishes peer/a (unknown)
  service.reset();                  // the endpoint may outlive the service
  std::string text = registry.render();
  CHECK(text.find("mutuo_health_inputs_dropped_total 1") != std::string::npos);
  CHECK(text.find("mutuo_health_alerts_published_total 1") != std::string::npos);
  CHECK(text.find("mutuo_health_silences_rejected_total 0") != std::string::npos);
  CHECK(text.find("mutuo_health_notices_total{channel=\"recording\",outcome=\"delivered\"} 0") !=
        std::string::npos);
}
