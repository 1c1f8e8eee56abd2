// Receiver: validates result batches from the bus, stores them, and confirms
// each stored batch to its agent on acks/{agent} (DESIGN.md, "Delivery").
//
// Pipeline: handle() runs on the MQTT callback thread and queues the message;
// decode_threads workers decode and validate batches (JSON decoding is the
// costliest step, so it runs on every core) and queue them for the store. One
// writer thread takes everything queued (up to max_group_results) and puts it
// together as one atomic RocksDB write (StoreWriter::assemble); a committer
// thread writes it, WAL-synced, and only then publishes the confirmations, one
// message per agent with all its batch numbers in that write. The writer puts
// the next write together while the committer writes the previous one (at most
// one write waits between them), and meanwhile the next batches are decoded
// and queue up, so groups grow with load. When the queues are full,
// handle() waits: the broker keeps the rest (and the agents their buffers).
// Confirmations may therefore come in another order than the batches arrived.
// The writer hands confirmations to a sender thread and never calls MQTT
// itself: Paho's publish can wait for its callback thread, which may be the one
// waiting in handle() for the writer to make room.
//
// Batch handling:
//   - rejected whole, counted by reason and not confirmed: a topic that is not
//     results/{agent}, an oversize payload, malformed JSON, a message failing
//     the schema (any invalid result fails the batch: the codec decodes all or
//     nothing), and a payload whose "agent" differs from the topic's.
//   - per result: results timestamped more than max_future_ms ahead or
//     max_age_ms behind the receiver's clock are dropped and counted; the rest
//     are stored and the batch is confirmed (resending it would not change them).
//   - a batch already stored (a resend) is confirmed again without a write.
//   - a failed store write is logged and counted and not confirmed; the agents
//     resend those batches.
//
// Threading: handle() from one thread at a time; stats() and flush() from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/messages/results.h"
#include "common/metrics.h"
#include "common/mqtt_session.h"
#include "receiver/store_writer.h"

namespace mutuo::receiver {

struct ReceiverConfig {
  int64_t max_future_ms = 10 * 60 * 1000;          // clock skew we accept
  int64_t max_age_ms = 7LL * 24 * 60 * 60 * 1000;  // older than raw retention: dropped
  std::size_t max_queue_results = 200'000;         // handle() waits beyond this
  std::size_t max_group_results = 50'000;          // results in one store write
  std::size_t decode_threads = 2;                  // 0: decode on the caller of handle()
  std::size_t max_intake_bytes = 64 << 20;         // undecoded payloads held at most
};

struct ReceiverStats {
  uint64_t batches = 0;                      // confirmed (stored now or before)
  uint64_t duplicates = 0;                   // of which already stored
  uint64_t results = 0;                      // stored
  std::map<std::string, uint64_t> rejected;  // batches and results, by reason
};

class Receiver {
 public:
  // Publishes one confirmation; false when it could not be sent (the agent then
  // resends the batch and it is confirmed again).
  using AckSink = std::function<bool(const MqttMessage&)>;

  // `store` and `registry` must outlive the Receiver. Starts the writer thread.
  Receiver(ReceiverConfig config, StoreWriter& store, AckSink ack, metrics::Registry& registry);
  // Writes and confirms what is queued, then stops the writer thread. Later
  // handle() calls drop their message unconfirmed. Idempotent.
  void close();
  ~Receiver();  // close()

  // Receives every newly stored batch (its results as stored: the time window
  // applied), on the committer thread after its confirmation is queued; a resend
  // of a stored batch is not passed again. For the health engine, which thus
  // needs no decoding of its own. Must not block. Set it before the first
  // handle() call; any thread.
  using StoredSink = std::function<void(ResultBatch&&)>;
  void set_stored_sink(StoredSink sink);

  void handle(const MqttMessage& message);
  ReceiverStats stats() const;
  // Waits until everything handled so far is written (or failed) and its
  // confirmation published, up to `timeout`.
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Queued {
    IncomingBatch batch;
    std::chrono::steady_clock::time_point received;
  };
  void reject(const std::string& topic, const std::string& reason, const std::string& detail,
              uint64_t results = 0);
  void accept(const MqttMessage& message);  // decode, validate, queue for the writer
  void decode_loop();
  void write_loop();   // the writer: assembles writes
  void commit_loop();  // the committer: writes them and confirms
  void send_loop();
  void store_failed(std::size_t batches, const std::string& error);
  // Counts, confirms and hands on what `written` (the commit's outcome) stored.
  void finish_group(std::vector<Queued>& group, const Result<std::vector<bool>>& written);

  const ReceiverConfig config_;
  StoreWriter& store_;
  AckSink ack_;
  metrics::Registry& registry_;
  LogLimiter log_limiter_{10, std::chrono::seconds(10)};
  // Failed store writes (e.g. a full disk refuses every write): a few lines per
  // 10 s, each saying how many were not logged.
  LogLimiter store_log_limiter_{3, std::chrono::seconds(10)};

  metrics::Counter& stored_batches_;
  metrics::Counter& duplicate_batches_;
  metrics::Counter& stored_results_;
  metrics::Counter& acks_unsent_;
  metrics::Gauge& queue_batches_;
  metrics::Gauge& queue_results_;
  metrics::Histogram& write_seconds_;
  metrics::Histogram& confirm_seconds_;
  metrics::Histogram& group_results_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;          // writer: something queued or stopping
  std::condition_variable space_cv_;          // handle(): room in the queue; flush(): progress
  std::deque<Queued> queue_;                  // guarded by mu_
  std::size_t queued_results_ = 0;            // guarded by mu_
  bool writing_ = false;                      // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  std::map<std::string, uint64_t> rejected_;  // guarded by mu_
  std::deque<MqttMessage> intake_;            // guarded by mu_
  std::size_t intake_bytes_ = 0;              // guarded by mu_
  std::size_t decoding_ = 0;                  // guarded by mu_: messages being decoded
  bool closing_intake_ = false;               // guarded by mu_
  std::condition_variable intake_cv_;         // decoders: something to decode or closing
  std::vector<std::thread> decoders_;
  std::thread writer_;
  struct Assembled {
    std::vector<Queued> group;
    std::unique_ptr<AssembledWrite> write;
  };
  std::optional<Assembled> assembled_;  // guarded by mu_: put together, waiting for the committer
  bool committing_ = false;             // guarded by mu_
  bool assembler_done_ = false;         // guarded by mu_
  std::condition_variable commit_cv_;   // committer: a write to commit or the writer done
  std::thread committer_;
  std::deque<MqttMessage> outgoing_;     // guarded by mu_: confirmations to publish
  bool writer_done_ = false;             // guarded by mu_
  bool sending_ = false;                 // guarded by mu_
  std::condition_variable outgoing_cv_;  // sender: something to publish or writer done
  std::thread sender_;
  StoredSink stored_sink_;  // guarded by mu_
};

}  // namespace mutuo::receiver
