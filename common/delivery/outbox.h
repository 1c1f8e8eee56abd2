// Outbox: end-to-end delivery of numbered result batches (DESIGN.md, "Delivery"),
// shared by the agent and the load simulator.
//
// Contract:
//   1. submit() numbers a batch, writes it to the on-disk BatchStore, and only
//      then publishes it. The batch stays on disk until confirm() names its
//      number (the receiver's acks/{agent}, sent after its RocksDB write).
//   2. A published batch that is not confirmed within `resend_after` is resent
//      with the same number and payload; each further resend of that batch waits
//      twice as long, up to `max_resend_after`. on_connected() (after every MQTT
//      reconnect) makes every unconfirmed batch due again at once, and after a
//      restart every batch found on disk is due at once.
//   3. At most `window` batches are published and unconfirmed at any time, the
//      oldest first: after an outage the backlog drains in order at the pace of
//      the receiver's confirmations instead of flooding the broker's queues.
//   4. The buffer is bounded by `max_batches` and `max_bytes`. A new batch that
//      does not fit evicts the oldest ones, which are counted in
//      dropped_batches/dropped_items: the only way a result is lost. Batches older
//      than `max_age` (the receiver refuses them anyway) are dropped as expired.
//   5. Confirmations of unknown numbers (duplicates, already dropped) are counted
//      and ignored. Resends are harmless: the receiver's writes are idempotent.
//
// Nothing here knows MQTT: the owner supplies `publish` (e.g. MqttSession::
// publish on results/{agent}) and calls tick() every few hundred ms, confirm()
// for each ack and on_connected() after each connect.
//
// Threading: every method may be called from any thread (one internal mutex).
// `publish` is called without that mutex held, possibly from two threads at once
// (the one in submit() and the one in tick()), so it must be thread-safe; it must
// not call back into the Outbox. Disk writes happen in submit() under the mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/delivery/batch_store.h"
#include "common/result.h"

namespace mutuo::delivery {

struct OutboxConfig {
  BatchStoreConfig store;
  std::size_t max_batches = 100000;               // bounds disk and this class's memory
  uint64_t max_bytes = 64ull * 1024 * 1024;       // payload bytes on disk
  std::chrono::milliseconds resend_after{10000};  // first resend of an unconfirmed batch
  std::chrono::milliseconds max_resend_after{120000};
  std::size_t window = 64;  // published, unconfirmed batches at most
  std::chrono::milliseconds max_age{7LL * 24 * 3600 * 1000};
};

struct OutboxStats {
  uint64_t pending = 0;  // batches on disk, unconfirmed
  uint64_t pending_bytes = 0;
  uint64_t in_flight = 0;  // of those, published and waiting for confirmation
  uint64_t submitted = 0;  // batches given to submit() since start
  uint64_t published = 0;  // publishes handed to `publish` (first sends and resends)
  uint64_t resent = 0;     // of those, resends
  uint64_t confirmed = 0;
  uint64_t dropped_batches = 0;  // evicted because the buffer was full
  uint64_t dropped_items = 0;
  uint64_t expired_batches = 0;  // older than max_age, or unreadable on disk
  uint64_t expired_items = 0;
  uint64_t write_errors = 0;   // batches that could not be written to disk
  uint64_t unknown_acks = 0;   // confirmations of numbers not pending
  uint64_t oldest_age_ms = 0;  // age of the oldest pending batch
};

class Outbox {
 public:
  using Clock = std::chrono::steady_clock;
  // Publishes one batch's payload; true when the client accepted it.
  using Publish = std::function<bool(uint64_t batch, const std::string& payload)>;
  // Builds the payload of batch number `batch` (the number goes inside it).
  using Encode = std::function<std::string(uint64_t batch)>;

  // Opens the buffer directory; batches found there are pending and due.
  static Result<std::unique_ptr<Outbox>> open(OutboxConfig config, Publish publish);

  // Numbers, stores and (window permitting) publishes one batch of `items`
  // results. Returns its number. When the disk write fails, the batch is
  // published once without a copy on disk and an Error says why (the caller
  // logs it; write_errors counts it). A payload larger than max_bytes is refused.
  Result<uint64_t> submit(const Encode& encode, uint32_t items, Clock::time_point now);

  // The receiver has stored these batches: forget them.
  void confirm(const std::vector<uint64_t>& batches);

  // After every (re)connect: everything unconfirmed is resent from the next tick.
  void on_connected();

  // Resends what is due and fills the window, oldest first; drops expired
  // batches. Cheap when there is nothing to do.
  void tick(Clock::time_point now);

  OutboxStats stats() const;

 private:
  struct Entry {
    StoredBatch stored;
    uint32_t attempts = 0;   // publishes since the last connect
    bool sent_ever = false;  // published at least once by this run
    bool in_flight = false;  // published, waiting; resend at `due`
    Clock::time_point due{};
  };

  Outbox(OutboxConfig config, Publish publish, std::unique_ptr<BatchStore> store);
  Clock::duration backoff(uint32_t attempts) const;
  void mark_sent(Entry& e, Clock::time_point now);
  // The entry for `batch`, or nullptr. REQUIRES: mu_ held.
  Entry* find(uint64_t batch);
  void erase(uint64_t batch);
  void evict_front(bool expired);  // REQUIRES: mu_ held, !entries_.empty()

  const OutboxConfig config_;
  const Publish publish_;

  mutable std::mutex mu_;
  std::unique_ptr<BatchStore> store_;
  std::deque<Entry> entries_;  // by batch number, ascending
  uint64_t in_flight_ = 0;
  Clock::time_point publish_paused_until_{};  // after a refused publish
  OutboxStats stats_;
};

}  // namespace mutuo::delivery
