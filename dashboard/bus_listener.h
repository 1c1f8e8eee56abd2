// BusListener: what the dashboard does with each message from the broker. It
// keeps the tables the API reads (presence, retained alerts and checks) and turns
// every change and every result batch into a live event for the browsers. Bad
// messages are counted and logged at a bounded rate; the tables stay unchanged.
//
// Threading: on_message() from the MQTT callback thread (one at a time); the
// tables and the feed may be read from any thread meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/log.h"
#include "common/messages/alert.h"
#include "common/messages/check.h"
#include "common/mqtt_session.h"
#include "dashboard/live_feed.h"
#include "dashboard/presence_table.h"
#include "dashboard/retained_table.h"

namespace mutuo::dashboard {

// The topics the listener wants, besides the dynsec answers main.cpp handles.
inline constexpr const char* kBusTopics[] = {"mutuo/v1/agents/+/status", "mutuo/v1/results/+",
                                             "mutuo/v1/alerts/#", "mutuo/v1/checks/+"};

class BusListener {
 public:
  struct Counters {
    uint64_t results = 0;   // result batches turned into events
    uint64_t alerts = 0;    // alert messages applied (set or cleared)
    uint64_t checks = 0;    // check messages applied (set or cleared)
    uint64_t rejected = 0;  // results, alerts or checks that did not decode
  };

  // REQUIRES: every pointer non-null and outliving the listener.
  BusListener(PresenceTable* presence, RetainedTable<Alert>* alerts, RetainedTable<Check>* checks,
              LiveFeed* feed, std::function<int64_t()> now_ms);

  void on_message(const MqttMessage& m);

  Counters counters() const;

  // Changes whenever a result batch or a presence change arrived: cached
  // answers built from an older version may be stale.
  uint64_t version() const { return version_.load(); }

 private:
  void reject(const std::string& topic, const std::string& reason);

  PresenceTable* presence_;
  RetainedTable<Alert>* alerts_;
  RetainedTable<Check>* checks_;
  LiveFeed* feed_;
  std::function<int64_t()> now_ms_;
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> results_{0}, alerts_applied_{0}, checks_applied_{0}, rejected_{0};
  LogLimiter reject_log_{5, std::chrono::seconds(10)};
};

}  // namespace mutuo::dashboard
