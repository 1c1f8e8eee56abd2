// Agent: follows its assignment, runs probe rounds on a steady schedule, and
// hands each round's results to the durable Outbox (common/delivery), which
// publishes them as numbered batches until the receiver confirms them. Wiring
// (configuration, MQTT session, echo responder) lives in main.cpp.
//
// Threads: handle() and on_connected() run on the MQTT callback thread; run()
// is the scheduler and delivery loop, on the caller's thread, and starts
// `workers` threads that execute rounds; stop() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/probes/registry.h"
#include "agent/scheduler.h"
#include "common/delivery/outbox.h"
#include "common/log.h"
#include "common/messages/assign.h"
#include "common/messages/status.h"
#include "common/mqtt_session.h"

namespace mutuo::agent {

struct AgentConfig {
  std::string id;
  Status online_status;  // what to announce on every connect; `probes` is filled in
  ProbeOptions probes;
  uint32_t workers = 2;           // rounds run at once
  uint32_t max_concurrent = 256;  // probes in flight at once, all rounds together
  uint32_t max_results_per_batch = 1000;
  std::chrono::seconds status_interval{60};  // the periodic status log line; 0 = never
  std::string metrics_file;                  // Prometheus text, rewritten every 10 s; "" = none
  // The last assignment, kept so that an agent restarted while the broker is
  // away goes on probing; "" = none. Any assignment from the broker replaces it,
  // whatever its revision.
  std::string assignment_file;
};

struct ProbeCounters {
  uint64_t rounds = 0;
  uint64_t results = 0;
  uint64_t failures = 0;  // results with an error or ok=false
};

struct AgentStats {
  std::map<std::string, ProbeCounters> by_probe;
  uint64_t rounds_skipped = 0;
  uint64_t groups = 0;
  uint64_t targets = 0;
  uint64_t assign_rev = 0;
  uint64_t assign_rejected = 0;
  uint64_t acks_rejected = 0;
  uint64_t unknown_probes = 0;      // targets of probe types this agent does not run
  uint64_t probe_now = 0;           // second-opinion requests taken (probe-now/{id})
  uint64_t probe_now_rejected = 0;  // ... refused: invalid, addressed elsewhere, expired
  uint64_t once_dropped = 0;        // one-shot rounds dropped: too many waiting
  bool connected = false;
  delivery::OutboxStats delivery;
};

class Agent {
 public:
  // `session` and `outbox` must outlive the Agent.
  Agent(AgentConfig config, MqttSession& session, delivery::Outbox& outbox);
  ~Agent();

  void handle(const MqttMessage& message);
  // Follows the assignment saved by an earlier run, if any; before run().
  void load_saved_assignment();
  void on_connected();  // announces presence; makes every unconfirmed batch due
  void run();           // until stop()
  void stop();

  // The probe types this host can run (announced in the online status).
  std::vector<std::string> probe_names() const;
  AgentStats stats() const;
  std::string status_line() const;
  std::string metrics_text() const;

 private:
  void apply_assignment(const std::string& payload, bool from_broker);
  void apply_probe_now(const std::string& payload);
  void work();
  void execute(const Round& round);
  void write_metrics_file() const;

  AgentConfig config_;
  MqttSession& session_;
  delivery::Outbox& outbox_;
  std::map<std::string, std::unique_ptr<Probe>> probes_;  // immutable after construction

  mutable std::mutex mu_;
  std::condition_variable cv_;       // the scheduler loop: assignment, ack, stop
  std::condition_variable work_cv_;  // workers: a round is queued, or stop
  Scheduler scheduler_;
  std::deque<Round> queue_;  // at most one entry per group (running flag)
  std::optional<uint64_t> rev_;
  bool stopping_ = false;
  AgentStats stats_;  // guarded by mu_ (delivery and connected filled on read)
  std::vector<std::thread> workers_;
  LogLimiter log_limiter_{5, std::chrono::seconds(30)};
};

}  // namespace mutuo::agent
