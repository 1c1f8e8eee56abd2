#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <random>

#include "common/clock.h"
#include "common/messages/ack.h"
#include "common/topics.h"

namespace mutuo::agent {

Agent::Agent(AgentConfig config, MqttSession& session)
    : config_(std::move(config)),
      session_(session),
      udp_(config_.udp),
      // Batch numbers grow across restarts without local state while the clock
      // does; the durable buffer replaces this with a persisted counter.
      next_batch_(static_cast<uint64_t>(now_ms())) {}

void Agent::on_connected() {
  Status s = config_.online_status;
  s.ts_ms = now_ms();
  session_.publish({topics::status(config_.id), encode(s), 1, true});
}

void Agent::handle(const MqttMessage& m) {
  auto parsed = topics::parse(m.topic);
  if (!parsed || parsed->id != config_.id) return;
  if (parsed->kind == topics::Kind::kAssign) {
    std::lock_guard lock(mu_);
    if (m.payload.empty()) {
      assign_.reset();
      spdlog::info("assignment cleared: nothing to probe");
      cv_.notify_all();
      return;
    }
    auto a = decode_assign(m.payload);
    if (!a) {
      spdlog::warn("ignoring invalid assignment: {}", a.error());
      return;
    }
    if (a->agent != config_.id) {
      spdlog::warn("ignoring assignment addressed to {}", a->agent);
      return;
    }
    if (assign_ && a->rev < assign_->rev) return;  // an older revision
    spdlog::info("assignment rev {}: {} peer(s), {} check(s)", a->rev, a->peers.size(),
                 a->checks.size());
    assign_ = std::move(a).value();
    cv_.notify_all();
  } else if (parsed->kind == topics::Kind::kAcks) {
    auto ack = decode_ack(m.payload);
    if (ack) spdlog::debug("receiver confirmed {} batch(es)", ack->batches.size());
  }
}

void Agent::publish_round(std::vector<ProbeResult> results) {
  ResultBatch batch{config_.id, next_batch_++, std::move(results)};
  if (session_.publish({topics::results(config_.id), encode(batch), 1, false})) {
    ++published_;
    return;
  }
  ++dropped_;
  uint64_t suppressed = 0;
  if (log_limiter_.allow(&suppressed)) {
    spdlog::warn("not connected: dropped result batch {} ({} dropped so far)", batch.batch,
                 dropped_.load());
  }
}

void Agent::run() {
  using Clock = std::chrono::steady_clock;
  std::mt19937_64 rng(std::random_device{}());
  std::unique_lock lock(mu_);
  Clock::time_point next{};
  bool scheduled = false;
  uint32_t interval_s = 0;
  while (!stopping_) {
    if (!assign_ || assign_->peers.empty()) {
      scheduled = false;
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      continue;
    }
    uint32_t wanted = assign_->peers.front().interval_s;
    for (const auto& p : assign_->peers) wanted = std::min(wanted, p.interval_s);
    if (!scheduled || wanted != interval_s) {
      // A random phase spreads agents that start together over the interval.
      interval_s = wanted;
      std::uniform_int_distribution<int64_t> phase(0, int64_t{interval_s} * 1000 - 1);
      next = Clock::now() + std::chrono::milliseconds(phase(rng));
      scheduled = true;
    }
    if (cv_.wait_until(lock, next, [this] { return stopping_; })) break;
    // The wait released the lock: the assignment may have changed or gone.
    if (Clock::now() < next || !assign_ || assign_->peers.empty()) continue;
    // Fixed-rate schedule: the next round is due one interval after this one was
    // due, so rounds do not drift by the time each takes.
    next += std::chrono::seconds(interval_s);
    if (next < Clock::now()) next = Clock::now() + std::chrono::seconds(interval_s);
    std::vector<PeerTarget> peers = assign_->peers;
    lock.unlock();
    auto results = udp_.run_round(peers, now_ms());
    publish_round(std::move(results));
    lock.lock();
  }
}

void Agent::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

}  // namespace mutuo::agent
