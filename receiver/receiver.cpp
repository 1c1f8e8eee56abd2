#include "receiver/receiver.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/messages/ack.h"
#include "common/messages/results.h"
#include "common/topics.h"

namespace mutuo::receiver {

Receiver::Receiver(ReceiverConfig config, StoreWriter& store, MqttSession& session)
    : config_(config), store_(store), session_(session) {}

void Receiver::reject(const std::string& topic, const std::string& reason, uint64_t count) {
  {
    std::lock_guard lock(mu_);
    stats_.rejected[reason] += count;
  }
  uint64_t suppressed = 0;
  if (log_limiter_.allow(&suppressed)) {
    spdlog::warn("rejected {} on {}: {}{}", count > 1 ? std::to_string(count) + " results" : "message",
                 topic, reason, suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Receiver::handle(const MqttMessage& m) {
  auto parsed = topics::parse(m.topic);
  if (!parsed || parsed->kind != topics::Kind::kResults) return reject(m.topic, "unexpected topic");
  auto decoded = decode_results(m.payload);
  if (!decoded) return reject(m.topic, decoded.error());
  ResultBatch batch = std::move(decoded).value();
  // The broker lets an agent publish only on its own topic, so the topic's id is
  // the trusted one; a payload naming someone else is refused.
  if (batch.agent != parsed->id) return reject(m.topic, "agent differs from topic");

  const int64_t now = now_ms();
  std::vector<ProbeResult> keep;
  keep.reserve(batch.results.size());
  uint64_t future = 0, old = 0;
  for (auto& r : batch.results) {
    if (r.ts_ms > now + config_.max_future_ms) {
      ++future;
    } else if (r.ts_ms < now - config_.max_age_ms) {
      ++old;
    } else {
      keep.push_back(std::move(r));
    }
  }
  if (future) reject(m.topic, "timestamp in the future", future);
  if (old) reject(m.topic, "timestamp too old", old);

  auto written = store_.write(batch.agent, keep);
  if (!written) {
    // Not confirmed: the agent resends it later.
    spdlog::error("batch {} from {} not stored: {}", batch.batch, batch.agent, written.error());
    std::lock_guard lock(mu_);
    ++stats_.rejected["store error"];
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
    stats_.results += *written;
  }
  Ack ack{batch.agent, {batch.batch}};
  session_.publish({topics::acks(batch.agent), encode(ack), 1, false});
}

ReceiverStats Receiver::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace mutuo::receiver
