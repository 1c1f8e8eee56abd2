#include "receiver/receiver.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/messages/ack.h"
#include "common/messages/results.h"
#include "common/messages/results_fast.h"
#include "common/topics.h"

namespace mutuo::receiver {

namespace {

using Seconds = std::chrono::duration<double>;

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5};

// Rejection reasons as counted (a small fixed set: they become metric labels);
// the log line carries the codec's full explanation.
std::string reason_of(const std::string& decode_error) {
  if (decode_error == "payload too large") return "oversize";
  if (decode_error == "malformed JSON" || decode_error == "nesting too deep" ||
      decode_error == "not a JSON object") {
    return "malformed_json";
  }
  return "schema";
}

constexpr std::size_t kMaxBatchesPerAck = 10000;  // schemas/ack.schema.json maxItems

}  // namespace

Receiver::Receiver(ReceiverConfig config, StoreWriter& store, AckSink ack,
                   metrics::Registry& registry)
    : config_(config),
      store_(store),
      ack_(std::move(ack)),
      registry_(registry),
      stored_batches_(registry.counter("mutuo_receiver_batches_total",
                                       "Result batches confirmed, by outcome",
                                       {{"outcome", "stored"}})),
      duplicate_batches_(registry.counter("mutuo_receiver_batches_total",
                                          "Result batches confirmed, by outcome",
                                          {{"outcome", "duplicate"}})),
      stored_results_(registry.counter("mutuo_receiver_results_stored_total",
                                       "Probe results written to the store")),
      acks_unsent_(registry.counter("mutuo_receiver_acks_unsent_total",
                                    "Confirmations that could not be published (agents resend)")),
      queue_batches_(registry.gauge("mutuo_receiver_queue_batches",
                                    "Validated batches waiting for the store writer")),
      queue_results_(registry.gauge("mutuo_receiver_queue_results",
                                    "Validated results waiting for the store writer")),
      write_seconds_(registry.histogram("mutuo_receiver_write_seconds",
                                        "Duration of one atomic, WAL-synced store write",
                                        kLatencyBounds)),
      confirm_seconds_(registry.histogram(
          "mutuo_receiver_confirm_seconds",
          "From a batch's arrival to its confirmation being handed to MQTT", kLatencyBounds)),
      group_results_(registry.histogram("mutuo_receiver_write_group_results",
                                        "Results per store write",
                                        {64, 256, 1024, 4096, 16384, 65536})) {
  writer_ = std::thread([this] { write_loop(); });
  committer_ = std::thread([this] { commit_loop(); });
  sender_ = std::thread([this] { send_loop(); });
  for (std::size_t i = 0; i < config_.decode_threads; ++i) {
    decoders_.emplace_back([this] { decode_loop(); });
  }
}

void Receiver::close() {
  {
    std::lock_guard lock(mu_);
    closing_intake_ = true;
  }
  intake_cv_.notify_all();
  space_cv_.notify_all();
  for (auto& d : decoders_) {
    if (d.joinable()) d.join();
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(mu_);
    assembler_done_ = true;
  }
  commit_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lock(mu_);
    writer_done_ = true;
  }
  outgoing_cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void Receiver::send_loop() {
  for (;;) {
    std::deque<MqttMessage> batch;
    {
      std::unique_lock lock(mu_);
      outgoing_cv_.wait(lock, [&] { return writer_done_ || !outgoing_.empty(); });
      if (outgoing_.empty()) return;  // the writer is done and everything is sent
      batch.swap(outgoing_);
      sending_ = true;
    }
    for (const auto& m : batch) {
      if (!ack_(m)) acks_unsent_.inc();
    }
    {
      std::lock_guard lock(mu_);
      sending_ = false;
    }
    space_cv_.notify_all();
  }
}

Receiver::~Receiver() { close(); }

void Receiver::reject(const std::string& topic, const std::string& reason,
                      const std::string& detail, uint64_t results) {
  {
    std::lock_guard lock(mu_);
    rejected_[reason] += results ? results : 1;
  }
  if (results) {
    registry_
        .counter("mutuo_receiver_rejected_results_total",
                 "Results dropped from an otherwise valid batch, by reason", {{"reason", reason}})
        .inc(results);
  } else {
    registry_
        .counter("mutuo_receiver_rejected_batches_total",
                 "Messages rejected whole (not stored, not confirmed), by reason",
                 {{"reason", reason}})
        .inc();
  }
  uint64_t suppressed = 0;
  if (log_limiter_.allow(&suppressed)) {
    spdlog::warn("rejected {} on {}: {}{}",
                 results ? std::to_string(results) + " results" : std::string("message"), topic,
                 detail, suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Receiver::set_stored_sink(StoredSink sink) {
  std::lock_guard lock(mu_);
  stored_sink_ = std::move(sink);
}

void Receiver::handle(const MqttMessage& m) {
  if (decoders_.empty()) return accept(m);
  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] {
    return closing_intake_ || intake_.empty() ||
           intake_bytes_ + m.payload.size() <= config_.max_intake_bytes;
  });
  if (closing_intake_) return;  // not confirmed: the agent resends it to the next receiver run
  intake_bytes_ += m.payload.size();
  intake_.push_back(m);
  lock.unlock();
  intake_cv_.notify_one();
}

void Receiver::decode_loop() {
  for (;;) {
    MqttMessage m;
    {
      std::unique_lock lock(mu_);
      intake_cv_.wait(lock, [&] { return closing_intake_ || !intake_.empty(); });
      if (intake_.empty()) return;  // closing, all decoded
      m = std::move(intake_.front());
      intake_.pop_front();
      intake_bytes_ -= m.payload.size();
      ++decoding_;
    }
    space_cv_.notify_all();
    accept(m);
    {
      std::lock_guard lock(mu_);
      --decoding_;
    }
    space_cv_.notify_all();
  }
}

void Receiver::accept(const MqttMessage& m) {
  const auto received = std::chrono::steady_clock::now();
  auto parsed = topics::parse(m.topic);
  if (!parsed || parsed->kind != topics::Kind::kResults) {
    return reject(m.topic, "bad_topic", "not a results topic");
  }
  auto decoded = decode_results_fast(m.payload);  // the reference's verdicts, faster
  if (!decoded) return reject(m.topic, reason_of(decoded.error()), decoded.error());
  ResultBatch batch = std::move(decoded).value();
  // The broker lets an agent publish only on its own topic, so the topic's id is
  // the trusted one; a payload naming someone else is refused.
  if (batch.agent != parsed->id) {
    return reject(m.topic, "agent_mismatch", "agent '" + batch.agent + "' differs from topic");
  }

  const int64_t now = now_ms();
  uint64_t future = 0, old = 0;
  std::erase_if(batch.results, [&](const ProbeResult& r) {
    if (r.ts_ms > now + config_.max_future_ms) {
      ++future;
      return true;
    }
    if (r.ts_ms < now - config_.max_age_ms) {
      ++old;
      return true;
    }
    return false;
  });
  if (future) reject(m.topic, "future_timestamp", "timestamp in the future", future);
  if (old) reject(m.topic, "old_timestamp", "timestamp older than the raw retention", old);

  // Keys, values and rollup contributions computed here, on every decoder
  // thread, so that the one writer thread only assembles writes.
  Queued q{{std::move(batch.agent), batch.batch, std::move(batch.results)}, received};
  prepare(&q.batch);
  const std::size_t n = q.batch.results.size();

  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] {
    return stopping_ || queue_.empty() || queued_results_ + n <= config_.max_queue_results;
  });
  if (stopping_) return;  // not confirmed: the agent resends it to the next receiver run
  queued_results_ += n;
  queue_.push_back(std::move(q));
  queue_batches_.set(static_cast<double>(queue_.size()));
  queue_results_.set(static_cast<double>(queued_results_));
  lock.unlock();
  queue_cv_.notify_one();
}

void Receiver::write_loop() {
  for (;;) {
    std::vector<Queued> group;
    {
      std::unique_lock lock(mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      std::size_t results = 0;
      while (!queue_.empty() && (group.empty() || results + queue_.front().batch.results.size() <=
                                                      config_.max_group_results)) {
        results += queue_.front().batch.results.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_results_ -= results;
      writing_ = true;
      queue_batches_.set(static_cast<double>(queue_.size()));
      queue_results_.set(static_cast<double>(queued_results_));
    }
    space_cv_.notify_all();
    std::vector<const IncomingBatch*> batches;
    batches.reserve(group.size());
    std::size_t results = 0;
    for (const auto& q : group) {
      batches.push_back(&q.batch);
      results += q.batch.results.size();
    }
    group_results_.observe(static_cast<double>(results));
    auto assembled = store_.assemble(batches);
    if (!assembled) {
      store_failed(group.size(), assembled.error());
      std::lock_guard lock(mu_);
      writing_ = false;
    } else {
      // At most one write waits for the committer; while it does, the queue
      // fills and the next group grows.
      std::unique_lock lock(mu_);
      space_cv_.wait(lock, [&] { return !assembled_.has_value(); });
      assembled_ = Assembled{std::move(group), std::move(assembled).value()};
      writing_ = false;
    }
    commit_cv_.notify_one();
    space_cv_.notify_all();
  }
}

void Receiver::commit_loop() {
  for (;;) {
    Assembled a;
    {
      std::unique_lock lock(mu_);
      commit_cv_.wait(lock, [&] { return assembler_done_ || assembled_.has_value(); });
      if (!assembled_) return;  // the writer is done and everything is committed
      a = std::move(*assembled_);
      assembled_.reset();
      committing_ = true;
    }
    space_cv_.notify_all();  // the writer may hand over the next write
    const auto t0 = std::chrono::steady_clock::now();
    auto written = store_.commit(*a.write);
    write_seconds_.observe(Seconds(std::chrono::steady_clock::now() - t0).count());
    a.write.reset();
    finish_group(a.group, written);
    {
      std::lock_guard lock(mu_);
      committing_ = false;
    }
    space_cv_.notify_all();
  }
}

void Receiver::store_failed(std::size_t batches, const std::string& error) {
  // Not confirmed: the agents resend these batches later.
  {
    std::lock_guard lock(mu_);
    rejected_["store_error"] += batches;
  }
  registry_
      .counter("mutuo_receiver_rejected_batches_total",
               "Messages rejected whole (not stored, not confirmed), by reason",
               {{"reason", "store_error"}})
      .inc(batches);
  uint64_t suppressed = 0;
  if (store_log_limiter_.allow(&suppressed)) {
    spdlog::error("{} batches not stored: {}{}", batches, error,
                  suppressed ? fmt::format(" ({} more failed writes not logged)", suppressed) : "");
  }
}

void Receiver::finish_group(std::vector<Queued>& group, const Result<std::vector<bool>>& written) {
  if (!written) return store_failed(group.size(), written.error());
  std::map<std::string, std::vector<uint64_t>> by_agent;
  uint64_t stored_results = 0, fresh = 0;
  for (std::size_t i = 0; i < group.size(); ++i) {
    by_agent[group[i].batch.agent].push_back(group[i].batch.batch);
    if ((*written)[i]) {
      ++fresh;
      stored_results += group[i].batch.results.size();
    }
  }
  std::vector<MqttMessage> confirmations;
  for (auto& [agent, numbers] : by_agent) {
    for (std::size_t at = 0; at < numbers.size(); at += kMaxBatchesPerAck) {
      Ack ack{agent,
              {numbers.begin() + static_cast<std::ptrdiff_t>(at),
               numbers.begin() +
                   static_cast<std::ptrdiff_t>(std::min(numbers.size(), at + kMaxBatchesPerAck))}};
      confirmations.push_back({topics::acks(agent), encode(ack), 1, false});
    }
  }
  {
    std::lock_guard lock(mu_);
    for (auto& m : confirmations) outgoing_.push_back(std::move(m));
  }
  outgoing_cv_.notify_one();
  // Counted once its confirmation is on its way, so a stored count means
  // "stored and confirmed".
  stored_batches_.inc(fresh);
  duplicate_batches_.inc(group.size() - fresh);
  stored_results_.inc(stored_results);
  const auto t2 = std::chrono::steady_clock::now();
  for (const auto& q : group) confirm_seconds_.observe(Seconds(t2 - q.received).count());
  StoredSink sink;
  {
    std::lock_guard lock(mu_);
    sink = stored_sink_;
  }
  if (!sink) return;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!(*written)[i]) continue;
    IncomingBatch& b = group[i].batch;
    sink(ResultBatch{std::move(b.agent), b.batch, std::move(b.results)});
  }
}

ReceiverStats Receiver::stats() const {
  ReceiverStats s;
  s.batches = stored_batches_.value() + duplicate_batches_.value();
  s.duplicates = duplicate_batches_.value();
  s.results = stored_results_.value();
  std::lock_guard lock(mu_);
  s.rejected = rejected_;
  return s;
}

bool Receiver::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return space_cv_.wait_for(lock, timeout, [&] {
    return intake_.empty() && decoding_ == 0 && queue_.empty() && !writing_ &&
           !assembled_.has_value() && !committing_ && outgoing_.empty() && !sending_;
  });
}

}  // namespace mutuo::receiver
