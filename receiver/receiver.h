// Receiver: validates result batches from the bus, stores them, and confirms
// each stored batch to its agent on acks/{agent} (DESIGN.md, "Delivery").
//
// Batch handling: a batch whose JSON or structure is invalid is rejected whole
// (counted by reason, not confirmed). In a valid batch, results with timestamps
// too far in the future or past are dropped one by one (counted); the others are
// stored and the batch is confirmed, since resending it would not change them.
//
// Threading: handle() is called from one thread at a time (the MQTT callback).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/log.h"
#include "common/mqtt_session.h"
#include "receiver/store_writer.h"

namespace mutuo::receiver {

struct ReceiverConfig {
  int64_t max_future_ms = 10 * 60 * 1000;           // clock skew we accept
  int64_t max_age_ms = 7LL * 24 * 60 * 60 * 1000;    // older than raw retention: dropped
};

struct ReceiverStats {
  uint64_t batches = 0;  // stored and confirmed
  uint64_t results = 0;  // stored
  std::map<std::string, uint64_t> rejected;  // by reason
};

class Receiver {
 public:
  // `store` and `session` must outlive the Receiver.
  Receiver(ReceiverConfig config, StoreWriter& store, MqttSession& session);

  void handle(const MqttMessage& message);
  ReceiverStats stats() const;

 private:
  void reject(const std::string& topic, const std::string& reason, uint64_t count = 1);

  const ReceiverConfig config_;
  StoreWriter& store_;
  MqttSession& session_;
  mutable std::mutex mu_;  // guards stats_
  ReceiverStats stats_;
  LogLimiter log_limiter_{10, std::chrono::seconds(10)};
};

}  // namespace mutuo::receiver
