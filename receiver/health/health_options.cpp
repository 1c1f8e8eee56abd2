#include "receiver/health/health_options.h"

#include "receiver/health/webhook_curl.h"

namespace mutuo::health {

void add_options(cli::Command& app, HealthOptions& o) {
  const char* g = "Health and alerts (docs/health.md)";
  app.option("--webhook-url", o.webhook_urls,
             "POST alert notices as JSON to this URL (repeatable; docs/health.md)")
      .group(g);
  app.option("--alert-hold-s", o.hold_s,
             "a new health state must hold this long before it is published and alerted "
             "(twice as long for a recovery; offline at once)")
      .range(0.0, 3600.0)
      .show_default()
      .group(g);
  app.option("--alert-repeat-s", o.repeat_s,
             "remind every this many seconds while a subject stays down or offline")
      .range(1.0, 30.0 * 24 * 3600)
      .show_default()
      .group(g);
  app.option("--health-min-observers", o.min_observers,
             "fewer observers voting than this: the state is unknown")
      .range(1, 1000)
      .show_default()
      .group(g);
  app.option("--health-quorum-min", o.quorum_min,
             "down needs at least this many failing observers ...")
      .range(1, 1000)
      .show_default()
      .group(g);
  app.option("--health-quorum-fraction", o.quorum_fraction,
             "... and more than this share of the observers voting")
      .range(0.0, 0.99)
      .show_default()
      .group(g);
  app.option("--degraded-loss", o.degraded_loss,
             "degraded when the median packet loss over the observers reaches this (0..1)")
      .range(0.01, 1.0)
      .show_default()
      .group(g);
  app.option("--degraded-rtt-ms", o.degraded_rtt_ms,
             "degraded when the median round-trip (or check) time reaches this (0: off)")
      .range(0.0, 600'000.0)
      .show_default()
      .group(g);
  app.option("--health-window-s", o.window_s,
             "each observer's verdict on a subject reads its results of the last S seconds")
      .range(1.0, 24.0 * 3600)
      .show_default()
      .group(g);
  app.option("--health-window-results", o.window_samples, "... and at most this many of them")
      .range(1, 1000)
      .show_default()
      .group(g);
  app.option("--health-stale-s", o.stale_s,
             "an observer without a result this recent does not vote")
      .range(1.0, 24.0 * 3600)
      .show_default()
      .group(g);
  app.option("--second-opinions", o.second_opinions,
             "when a subject starts failing for some observers, ask the tracker for this "
             "many extra observers to probe it at once (0: off)")
      .range(0, 16)
      .show_default()
      .group(g);
  app.option("--second-opinion-every-s", o.second_opinion_every_s,
             "at most one second-opinion request per subject this often (doubling while it "
             "keeps failing, up to 10 minutes)")
      .range(1.0, 3600.0)
      .show_default()
      .group(g);
  app.option("--webhook-rate-per-min", o.webhook_rate_per_min,
             "notices per minute each webhook sends at most (more wait their turn)")
      .range(0.1, 100'000.0)
      .show_default()
      .group(g);
  app.option("--webhook-burst", o.webhook_burst,
             "notices a webhook may send at once before the rate limit applies")
      .range(1.0, 100'000.0)
      .show_default()
      .group(g);
  app.option("--webhook-attempts", o.webhook_attempts,
             "tries per notice (retries back off from 1 s, doubling up to 60 s)")
      .range(1, 100)
      .show_default()
      .group(g);
  app.option("--alert-history-dir", o.history_dir,
             "where the alert history is kept (default: <store>/alert-history)")
      .group(g);
  app.option("--alert-history-days", o.history_days, "keep the alert history this long")
      .range(0.01, 36500.0)
      .show_default()
      .group(g);
}

HealthServiceConfig service_config(const HealthOptions& o) {
  HealthServiceConfig c;
  c.health.window.window_ms = static_cast<int64_t>(o.window_s * 1000);
  c.health.window.max_samples = o.window_samples;
  c.health.window.degraded_loss = o.degraded_loss;
  c.health.window.degraded_rtt_ms = o.degraded_rtt_ms;
  c.health.stale_ms = static_cast<int64_t>(o.stale_s * 1000);
  c.health.min_observers = o.min_observers;
  c.health.min_quorum = o.quorum_min;
  c.health.quorum_fraction = o.quorum_fraction;
  c.alerting.hold_ms = static_cast<int64_t>(o.hold_s * 1000);
  c.alerting.recovery_hold_ms = 2 * c.alerting.hold_ms;
  c.alerting.repeat_ms = static_cast<int64_t>(o.repeat_s * 1000);
  c.second_opinions.want = o.second_opinions;
  c.second_opinions.every_ms = static_cast<int64_t>(o.second_opinion_every_s * 1000);
  return c;
}

std::vector<std::unique_ptr<Channel>> make_channels(const HealthOptions& o) {
  std::vector<std::unique_ptr<Channel>> channels;
  for (const auto& url : o.webhook_urls) {
    WebhookOptions w;
    w.name = "webhook-" + std::to_string(channels.size() + 1);
    w.url = url;
    w.rate_per_minute = o.webhook_rate_per_min;
    w.burst = o.webhook_burst;
    w.max_attempts = o.webhook_attempts;
    channels.push_back(std::make_unique<WebhookChannel>(w, curl_http_post()));
  }
  return channels;
}

std::unique_ptr<BusChannels> make_bus_channels(const HealthOptions& o, metrics::Counter* rejected) {
  WebhookOptions defaults;
  defaults.max_attempts = o.webhook_attempts;
  return std::make_unique<BusChannels>(defaults, curl_http_post(), rejected);
}

}  // namespace mutuo::health

namespace mutuo::health {

Result<std::unique_ptr<AlertHistory>> open_history(const HealthOptions& o,
                                                   const std::string& store_dir) {
  std::string dir = o.history_dir.empty() ? store_dir + "/alert-history" : o.history_dir;
  return AlertHistory::open(dir, static_cast<int64_t>(o.history_days * 24 * 3600 * 1000));
}

}  // namespace mutuo::health
