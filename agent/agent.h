// Agent: follows its assignment, probes on a steady schedule and publishes each
// round's results as one numbered batch. Wiring lives in main.cpp; this class
// owns the schedule and the assignment.
//
// Threading: handle() runs on the MQTT callback thread, run() on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "agent/probes/udp_echo.h"
#include "common/log.h"
#include "common/messages/assign.h"
#include "common/messages/status.h"
#include "common/mqtt_session.h"

namespace mutuo::agent {

struct AgentConfig {
  std::string id;
  UdpEchoConfig udp;
  Status online_status;  // what to announce on every connect
};

class Agent {
 public:
  // `session` must outlive the Agent.
  Agent(AgentConfig config, MqttSession& session);

  void handle(const MqttMessage& message);
  void on_connected();  // announces presence
  void run();           // the probe schedule, until stop()
  void stop();

  uint64_t batches_published() const { return published_; }
  uint64_t batches_dropped() const { return dropped_; }

 private:
  void publish_round(std::vector<ProbeResult> results);

  const AgentConfig config_;
  MqttSession& session_;
  UdpEchoProbe udp_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Assign> assign_;
  bool stopping_ = false;
  uint64_t next_batch_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> dropped_{0};
  LogLimiter log_limiter_{5, std::chrono::seconds(30)};
};

}  // namespace mutuo::agent
