// Tracker: the live set in, retained peer list and assignments out. Stateless
// across restarts: on start it reads the retained status, peers and assign
// topics, waits `settle` for them to arrive, then publishes only the difference.
//
// Threading: handle() runs on the MQTT callback thread; run() on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/log.h"
#include "common/mqtt_session.h"
#include "tracker/assignment.h"
#include "tracker/live_set.h"
#include "tracker/publisher.h"

namespace mutuo::tracker {

struct TrackerConfig {
  AssignmentConfig assignment;
  std::chrono::milliseconds settle{1500};    // wait for retained state after (re)connect
  std::chrono::milliseconds debounce{200};   // gather bursts of changes into one plan
};

class Tracker {
 public:
  // `session` must outlive the Tracker.
  Tracker(TrackerConfig config, MqttSession& session);

  void handle(const MqttMessage& message);  // one message from the subscriptions
  void on_connected();                      // restart the settle period
  void run();                               // until stop()
  void stop();

  std::map<std::string, uint64_t> rejected() const;

 private:
  void reject(const std::string& topic, const std::string& reason);

  const TrackerConfig config_;
  MqttSession& session_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  LiveSet live_;
  Publisher publisher_;
  bool dirty_ = true;
  std::chrono::steady_clock::time_point settle_until_;
  bool stopping_ = false;
  std::map<std::string, uint64_t> rejected_;  // by reason
  LogLimiter log_limiter_{10, std::chrono::seconds(10)};
};

}  // namespace mutuo::tracker
