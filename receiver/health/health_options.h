// The receiver's health options (docs/health.md, "Options"): the command-line
// flags of the health engine, the alert tracker and the notification channels,
// in one place so mutuo-receiver's main.cpp adds them with one call.
//
// Threading: add_options() and the builders run in main, before any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/cli.h"
#include "receiver/health/alert_history.h"
#include "receiver/health/health_service.h"
#include "receiver/health/notifier.h"

namespace mutuo::health {

struct HealthOptions {
  std::vector<std::string> webhook_urls;
  double hold_s = 10;      // a new state holds this long before it is committed
  double repeat_s = 3600;  // reminder while down or offline
  std::size_t min_observers = 2;
  std::size_t quorum_min = 2;
  double quorum_fraction = 0.5;
  double degraded_loss = 0.1;
  double degraded_rtt_ms = 0;      // 0: latency never degrades
  double window_s = 60;            // observer window by age ...
  std::size_t window_samples = 6;  // ... and by count
  double stale_s = 90;
  uint32_t second_opinions = 3;        // extra observers asked per probe request; 0: off
  double second_opinion_every_s = 30;  // per subject, at least this long between requests
  double webhook_rate_per_min = 30;
  double webhook_burst = 10;
  int webhook_attempts = 5;
  std::string history_dir;   // "": <store>/alert-history
  double history_days = 90;  // alert history kept this long
};

// Adds the health flags to `app`; values land in `o` when app parses.
void add_options(cli::Command& app, HealthOptions& o);

// The service configuration the options describe.
HealthServiceConfig service_config(const HealthOptions& o);

// One WebhookChannel per --webhook-url (named webhook-1, webhook-2, ...) with the
// libcurl transport. Runs curl_global_init(): call before starting threads.
std::vector<std::unique_ptr<Channel>> make_channels(const HealthOptions& o);

// The channels the dashboard publishes on mutuo/v1/channels/+ (BusChannels),
// with the libcurl transport and --webhook-attempts; each channel's rate and
// burst come from its message. `rejected` (may be null; must outlive the
// channels) counts invalid channel messages. Runs curl_global_init(): call
// before starting threads. The receiver subscribes kAllChannels and hands those
// messages to BusChannels::on_message().
std::unique_ptr<BusChannels> make_bus_channels(const HealthOptions& o,
                                               metrics::Counter* rejected = nullptr);

// Opens the alert history: --alert-history-dir, by default <store_dir>/alert-history.
Result<std::unique_ptr<AlertHistory>> open_history(const HealthOptions& o,
                                                   const std::string& store_dir);

}  // namespace mutuo::health
