// HealthService: the health engine, alert transitions and notification channels
// on one thread of their own, for the receiver to feed (docs/health.md, "Wiring").
//
// on_results()/on_status()/on_message() may be called from any thread; they only
// queue (bounded: beyond max_queue the input is dropped and counted, so health
// never slows ingest). The service thread evaluates every evaluate_every_ms,
// publishes each committed alert retained on mutuo/v1/alerts/{subject} through
// `publish`, and hands each notice to every channel. Through `publish` too go
// the second-opinion requests (second_opinions.h), not retained.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "common/log.h"
#include "common/mqtt_session.h"
#include "receiver/health/alert_history.h"
#include "receiver/health/alerting.h"
#include "receiver/health/health_engine.h"
#include "receiver/health/notifier.h"
#include "receiver/health/second_opinions.h"

namespace mutuo::health {

// The service's counters, shared with readers that may outlive it (the metrics
// endpoint, health_metrics.h). Any thread.
struct HealthCounters {
  std::atomic<uint64_t> dropped{0};                 // inputs dropped: queue full
  std::atomic<uint64_t> published{0};               // retained alerts published
  std::atomic<uint64_t> rejected_silences{0};       // invalid silences refused
  std::atomic<uint64_t> history_errors{0};          // failed history writes or prunes
  std::atomic<uint64_t> probe_requests{0};          // second-opinion requests published
  std::atomic<uint64_t> probe_requests_limited{0};  // ... skipped by the overall rate limit
  // Each channel's counters as of the last tick.
  std::vector<std::pair<std::string, ChannelStats>> channels() const {
    std::lock_guard lock(mu);
    return channel_stats;
  }
  mutable std::mutex mu;
  std::vector<std::pair<std::string, ChannelStats>> channel_stats;  // guarded by mu
};

struct HealthServiceConfig {
  HealthConfig health;
  AlertingConfig alerting;
  SecondOpinionConfig second_opinions;
  int64_t evaluate_every_ms = 1000;
  std::size_t max_queue = 10'000;          // batches and presence messages waiting
  std::size_t max_queue_bytes = 64 << 20;  // raw payloads (on_message) waiting
};

class HealthService {
 public:
  using Publish = std::function<bool(const MqttMessage&)>;
  using Clock = std::function<int64_t()>;  // milliseconds since the epoch

  HealthService(HealthServiceConfig config, Publish publish,
                std::vector<std::unique_ptr<Channel>> channels, Clock clock);
  ~HealthService();  // stop()

  // A decoded batch: the receiver hands each newly stored batch here once
  // (Receiver::set_stored_sink), so results are decoded only by the receiver.
  void on_results(ResultBatch batch);
  void on_status(Status status);
  // A raw message: agents/{agent}/status or results/{agent}, queued and decoded
  // on the service thread (the topic's agent must match the payload's; anything
  // else, or an invalid payload, is ignored: the receiver counts those); or a
  // retained silences/{id} (common/messages/silence.h): added, replaced, or
  // removed by a zero-length payload. An invalid silence is refused, counted
  // (rejected_silences()) and logged at a bounded rate.
  void on_message(const MqttMessage& m);
  void add_silence(Silence s);
  // Records every committed change and every notice in `history` (which must
  // outlive the service), and prunes it once a minute. REQUIRES: before start().
  void set_history(AlertHistory* history) { history_ = history; }

  // Applies what is queued, evaluates at clock(), publishes and notifies, pumps
  // the channels. The service thread calls it; tests call it directly.
  void tick();
  void start();  // the service thread: tick() every evaluate_every_ms
  void stop();   // idempotent

  uint64_t dropped() const { return counters_->dropped; }
  uint64_t published() const { return counters_->published; }
  uint64_t rejected_silences() const { return counters_->rejected_silences; }
  uint64_t history_errors() const { return counters_->history_errors; }
  std::shared_ptr<const HealthCounters> counters() const { return counters_; }

 private:
  using Input = std::variant<ResultBatch, Status, Silence, MqttMessage>;
  void decode(const MqttMessage& m);
  void apply_silence(const std::string& id, const MqttMessage& m);
  void record(const AlertUpdate& update, int64_t now_ms);
  void push(Input in);

  const HealthServiceConfig config_;
  Publish publish_;
  std::vector<std::unique_ptr<Channel>> channels_;
  Clock clock_;
  HealthEngine engine_;             // service thread only
  AlertTracker tracker_;            // service thread only
  SecondOpinions second_opinions_;  // service thread only
  AlertHistory* history_ = nullptr;
  int64_t pruned_ms_ = 0;  // service thread only
  LogLimiter log_limiter_{10, std::chrono::seconds(60)};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Input> queue_;       // guarded by mu_
  std::size_t queued_bytes_ = 0;  // guarded by mu_: raw payload bytes in queue_
  bool stopping_ = false;         // guarded by mu_
  std::thread thread_;
  const std::shared_ptr<HealthCounters> counters_ = std::make_shared<HealthCounters>();
};

}  // namespace mutuo::health
