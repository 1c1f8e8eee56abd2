// Notification channels. A Channel takes notices (AlertTracker's `send`) and
// delivers them in its own time; pump() does the work and is called by one
// thread (the receiver's notifier thread), so a slow endpoint never holds up
// health evaluation. Email and chat channels implement the same interface.
//
// WebhookChannel POSTs each notice as JSON (webhook_body) to one URL:
//   - 2xx: delivered. 4xx other than 408 and 429: refused, dropped and counted
//     (resending would not help). Anything else (5xx, 408, 429, no answer):
//     retried after backoff_initial_ms, doubling up to backoff_max_ms, at most
//     max_attempts times in all, then dropped and counted.
//   - Rate limit per channel: a token bucket of `burst` tokens refilled at
//     rate_per_minute; a notice waits in the queue for a token (it is not
//     dropped). The queue holds at most max_queue notices; beyond that the
//     oldest is dropped and counted.
// The HTTP call itself is an HttpPost (webhook_curl.h has the libcurl one), so
// the policy is tested against a scripted endpoint and the receiver's test
// against a real local HTTP server.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"
#include "common/messages/channel.h"
#include "common/mqtt_session.h"
#include "receiver/health/alerting.h"

namespace mutuo::health {

struct HttpResponse {
  int status = 0;     // HTTP status; 0 when no answer came
  std::string error;  // transport error when status is 0
};
using HttpPost = std::function<HttpResponse(const std::string& url, const std::string& body)>;

// {"v":1,"kind":"alert"|"reminder"|"recovery","channel":name,"alert":{...the
// retained alert message...}}
std::string webhook_body(const Notice& n, const std::string& channel);

struct ChannelStats {
  uint64_t delivered = 0;
  uint64_t retried = 0;       // attempts that failed and were scheduled again
  uint64_t failed = 0;        // given up after max_attempts or refused (4xx)
  uint64_t dropped = 0;       // queue full: oldest dropped
  uint64_t rate_limited = 0;  // pump() calls that found a due notice but no token
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual const std::string& name() const = 0;
  virtual void submit(const Notice& n, int64_t now_ms) = 0;
  // Delivers what is due at `now_ms`. May block on the network.
  virtual void pump(int64_t now_ms) = 0;
  // When pump() next has something to do (INT64_MAX: nothing queued).
  virtual int64_t next_due_ms() const = 0;
  virtual ChannelStats stats() const = 0;
  // The counters by channel name, for channels that hold several (BusChannels);
  // by default the one channel's.
  virtual std::vector<std::pair<std::string, ChannelStats>> stats_by_channel() const {
    return {{name(), stats()}};
  }
};

struct WebhookOptions {
  std::string name = "webhook";
  std::string url;
  int max_attempts = 5;
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 60'000;
  double rate_per_minute = 30;
  double burst = 10;
  std::size_t max_queue = 1000;
};

class WebhookChannel : public Channel {
 public:
  WebhookChannel(WebhookOptions options, HttpPost post);

  const std::string& name() const override { return options_.name; }
  void submit(const Notice& n, int64_t now_ms) override;
  void pump(int64_t now_ms) override;
  int64_t next_due_ms() const override;
  ChannelStats stats() const override { return stats_; }

  // Applies new URL, rate or attempts (the name stays); queued notices are kept
  // and the token bucket is capped at the new burst.
  void reconfigure(WebhookOptions options);
  // Drops every queued notice (counted as dropped).
  void clear();
  const WebhookOptions& options() const { return options_; }

 private:
  struct Pending {
    std::string body;
    int attempts = 0;
    int64_t due_ms = 0;
  };
  void refill(int64_t now_ms);

  WebhookOptions options_;
  HttpPost post_;
  std::deque<Pending> queue_;  // oldest first
  double tokens_;
  int64_t refilled_ms_ = -1;
  ChannelStats stats_;
};

// BusChannels: the notification channels the dashboard publishes, retained, on
// mutuo/v1/channels/{id} (common/messages/channel.h), as one Channel beside the
// command-line ones. A message adds a channel, replaces its settings (queued
// notices kept) or, with a zero-length payload, removes it (queued notices
// dropped); a disabled channel gets no notices. Each channel is a WebhookChannel
// named by its id, with `defaults` for what the message does not set (attempts,
// backoff, queue). A removed channel's counters are kept, so metrics never go
// back.
//
// Threading: on_message() from any thread (the MQTT callback): it only queues.
// submit(), pump() and the rest from the health thread, which applies what is
// queued first, so a slow webhook never blocks the MQTT thread.
class BusChannels : public Channel {
 public:
  // `rejected` (may be null; must outlive this) counts invalid channel messages.
  BusChannels(WebhookOptions defaults, HttpPost post, metrics::Counter* rejected = nullptr);

  // A retained mutuo/v1/channels/{id}. False (counted, logged at a bounded rate)
  // when the topic or payload is invalid; the channels stay as they were.
  bool on_message(const MqttMessage& m);

  const std::string& name() const override { return name_; }
  void submit(const Notice& n, int64_t now_ms) override;
  void pump(int64_t now_ms) override;
  int64_t next_due_ms() const override;
  ChannelStats stats() const override;  // the sum over every channel
  std::vector<std::pair<std::string, ChannelStats>> stats_by_channel() const override;

  // The channels in force (after the queued changes were applied by the last
  // submit() or pump()), by id. Health thread.
  std::vector<NotificationChannel> active() const;

 private:
  struct Entry {
    NotificationChannel config;
    std::unique_ptr<WebhookChannel> channel;
    bool present = true;  // false: removed (counters kept)
  };
  void apply_pending();
  WebhookOptions options_for(const NotificationChannel& c) const;

  const std::string name_ = "bus";
  const WebhookOptions defaults_;
  HttpPost post_;
  metrics::Counter* rejected_;
  std::mutex mu_;
  // id -> the new settings, or nullopt for a removal; guarded by mu_.
  std::vector<std::pair<std::string, std::optional<NotificationChannel>>> pending_;
  LogLimiter log_{5, std::chrono::seconds(60)};  // guarded by mu_
  std::map<std::string, Entry> channels_;        // health thread only
};

}  // namespace mutuo::health
