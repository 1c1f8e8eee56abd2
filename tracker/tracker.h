// Tracker: the live set and the checks in, retained peer list and assignments
// out. Stateless across restarts: on start it reads the retained status, peers,
// assign and checks topics, waits `settle` for them to arrive, then publishes
// only the difference. Of several trackers only the leader publishes (see
// tracker/leader.h); the others follow the retained topics and stand by.
//
// Threading: handle() and on_connected() run on the MQTT callback thread; run()
// on its own thread; stop() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/log.h"
#include "common/messages/check.h"
#include "common/mqtt_session.h"
#include "tracker/assignment.h"
#include "tracker/leader.h"
#include "tracker/live_set.h"
#include "tracker/publisher.h"
#include "tracker/second_opinions.h"

namespace mutuo::tracker {

struct TrackerConfig {
  std::string id = "tracker";  // our MQTT client id; what the leader topic names
  AssignmentConfig assignment;
  FlapConfig flap;
  std::chrono::milliseconds settle{1500};   // wait for retained state after (re)connect
  std::chrono::milliseconds debounce{200};  // gather bursts of changes into one plan
  SecondOpinionConfig second_opinions;      // answering the receiver's probe requests
};

struct TrackerStats {
  bool leader = false;
  std::size_t live = 0;
  std::size_t held = 0;                                       // rejoins held back by flap damping
  uint64_t plans = 0;                                         // plans that published something
  uint64_t published = 0;                                     // messages published
  uint64_t published_bytes = 0;                               // their topic + payload bytes
  std::map<std::string, uint64_t> rejected;                   // by reason
  uint64_t probe_requests = 0;                                // valid probe requests received
  uint64_t probe_now_sent = 0;                                // probe-now messages published
  std::map<std::string, uint64_t> probe_requests_unanswered;  // by reason
};

class Tracker {
 public:
  // `session` must outlive the Tracker. Its last will should be
  // Leadership::vacate() and it should subscribe to the topics in topics().
  Tracker(TrackerConfig config, MqttSession& session);

  static std::vector<std::string> topics();

  void handle(const MqttMessage& message);  // one message from the subscriptions
  void on_connected();                      // restart the settle period
  void run();                               // until stop()
  void stop();

  // What to publish on a clean stop: resigning leadership, when we hold it.
  std::optional<MqttMessage> final_message() const;

  TrackerStats stats() const;

 private:
  void reject(const std::string& topic, const std::string& reason);
  void on_probe_request(const std::string& subject, const MqttMessage& m);
  // Answers the queued probe requests (the leader only). REQUIRES: `lock` holds
  // mu_; releases it while publishing.
  void answer_probe_requests(std::unique_lock<std::mutex>& lock);

  const TrackerConfig config_;
  MqttSession& session_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  LiveSet live_;
  Assignment assignment_;
  Publisher publisher_;
  Leadership leadership_;
  std::map<std::string, Check> checks_;
  SecondOpinions second_opinions_;
  static constexpr std::size_t kMaxQueuedRequests = 256;
  std::deque<ProbeRequest> requests_;                // probe requests not yet answered
  static constexpr std::size_t kPublishWindow = 64;  // publishes not yet echoed back
  std::size_t in_flight_ = 0;
  bool dirty_ = true;
  bool full_plan_ = true;          // compare every topic in the next plan
  std::set<std::string> touched_;  // else only these (and changed assignments)
  std::chrono::steady_clock::time_point settle_until_;
  bool stopping_ = false;
  TrackerStats stats_;
  LogLimiter log_limiter_{10, std::chrono::seconds(10)};
};

}  // namespace mutuo::tracker
