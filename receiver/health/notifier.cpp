#include "receiver/health/notifier.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>

namespace mutuo::health {

std::string webhook_body(const Notice& n, const std::string& channel) {
  nlohmann::json j = {{"v", 1},
                      {"kind", std::string(to_string(n.kind))},
                      {"channel", channel},
                      {"alert", nlohmann::json(n.alert)}};
  return j.dump();
}

WebhookChannel::WebhookChannel(WebhookOptions options, HttpPost post)
    : options_(std::move(options)), post_(std::move(post)), tokens_(options_.burst) {}

void WebhookChannel::submit(const Notice& n, int64_t now_ms) {
  queue_.push_back({webhook_body(n, options_.name), 0, now_ms});
  while (queue_.size() > options_.max_queue) {
    queue_.pop_front();
    ++stats_.dropped;
  }
}

void WebhookChannel::refill(int64_t now_ms) {
  if (refilled_ms_ >= 0 && now_ms > refilled_ms_) {
    double add = static_cast<double>(now_ms - refilled_ms_) * options_.rate_per_minute / 60'000.0;
    tokens_ = std::min(options_.burst, tokens_ + add);
  }
  refilled_ms_ = std::max(refilled_ms_, now_ms);
}

void WebhookChannel::pump(int64_t now_ms) {
  refill(now_ms);
  // One pass in queue order; a notice waiting for its retry does not hold up
  // the ones behind it.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->due_ms > now_ms) {
      ++it;
      continue;
    }
    if (tokens_ < 1) {
      ++stats_.rate_limited;
      return;
    }
    tokens_ -= 1;
    HttpResponse r = post_(options_.url, it->body);
    ++it->attempts;
    if (r.status >= 200 && r.status < 300) {
      ++stats_.delivered;
      it = queue_.erase(it);
      continue;
    }
    bool refused = r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429;
    if (refused || it->attempts >= options_.max_attempts) {
      ++stats_.failed;
      it = queue_.erase(it);
      continue;
    }
    ++stats_.retried;
    int64_t backoff = options_.backoff_initial_ms;
    for (int i = 1; i < it->attempts && backoff < options_.backoff_max_ms; ++i) backoff *= 2;
    it->due_ms = now_ms + std::min(backoff, options_.backoff_max_ms);
    ++it;
  }
}

int64_t WebhookChannel::next_due_ms() const {
  int64_t due = INT64_MAX;
  for (const Pending& p : queue_) due = std::min(due, p.due_ms);
  if (due != INT64_MAX && tokens_ < 1 && options_.rate_per_minute > 0) {
    int64_t wait = static_cast<int64_t>((1 - tokens_) * 60'000.0 / options_.rate_per_minute) + 1;
    due = std::max(due, refilled_ms_ + wait);
  }
  return due;
}

}  // namespace mutuo::health
