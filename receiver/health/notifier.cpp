#include "receiver/health/notifier.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

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

void WebhookChannel::reconfigure(WebhookOptions options) {
  options.name = options_.name;
  options_ = std::move(options);
  tokens_ = std::min(tokens_, options_.burst);
}

void WebhookChannel::clear() {
  stats_.dropped += queue_.size();
  queue_.clear();
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

BusChannels::BusChannels(WebhookOptions defaults, HttpPost post, metrics::Counter* rejected)
    : defaults_(std::move(defaults)), post_(std::move(post)), rejected_(rejected) {}

bool BusChannels::on_message(const MqttMessage& m) {
  auto id = channel_id_of(m.topic);
  std::optional<NotificationChannel> config;
  std::string why;
  if (!id) {
    why = "not a channel topic";
  } else if (!m.payload.empty()) {
    auto decoded = decode_channel(m.payload);
    if (!decoded) {
      why = decoded.error();
    } else if (decoded->id != *id) {
      why = "channel id differs from the topic's";
    } else {
      config = std::move(decoded).value();
    }
  }
  std::lock_guard lock(mu_);
  if (!why.empty()) {
    if (rejected_ != nullptr) rejected_->inc();
    uint64_t suppressed = 0;
    if (log_.allow(&suppressed)) {
      spdlog::warn("rejected notification channel on {}: {} ({} similar lines suppressed)",
                   m.topic, why, suppressed);
    }
    return false;
  }
  pending_.emplace_back(*id, std::move(config));
  return true;
}

WebhookOptions BusChannels::options_for(const NotificationChannel& c) const {
  WebhookOptions o = defaults_;
  o.name = c.id;
  o.url = c.url;
  o.rate_per_minute = c.rate_per_min;
  o.burst = c.burst;
  return o;
}

void BusChannels::apply_pending() {
  std::vector<std::pair<std::string, std::optional<NotificationChannel>>> changes;
  {
    std::lock_guard lock(mu_);
    changes.swap(pending_);
  }
  for (auto& [id, config] : changes) {
    auto it = channels_.find(id);
    if (!config) {
      if (it != channels_.end() && it->second.present) {
        it->second.present = false;
        it->second.channel->clear();
        spdlog::info("notification channel {} removed", id);
      }
      continue;
    }
    bool was_enabled = it != channels_.end() && it->second.present && it->second.config.enabled;
    if (it == channels_.end()) {
      Entry e{*config, std::make_unique<WebhookChannel>(options_for(*config), post_), true};
      it = channels_.emplace(id, std::move(e)).first;
    } else {
      it->second.channel->reconfigure(options_for(*config));
      it->second.config = *config;
      it->second.present = true;
    }
    if (was_enabled && !config->enabled) it->second.channel->clear();
    // The URL may hold a secret: the log names the host only.
    spdlog::info("notification channel {} ({} {}, {}/min, burst {}){}", id, config->kind,
                 mask_url(config->url), config->rate_per_min, config->burst,
                 config->enabled ? "" : ", disabled");
  }
}

void BusChannels::submit(const Notice& n, int64_t now_ms) {
  apply_pending();
  for (auto& [id, e] : channels_) {
    if (e.present && e.config.enabled) e.channel->submit(n, now_ms);
  }
}

void BusChannels::pump(int64_t now_ms) {
  apply_pending();
  for (auto& [id, e] : channels_) {
    if (e.present && e.config.enabled) e.channel->pump(now_ms);
  }
}

int64_t BusChannels::next_due_ms() const {
  int64_t due = INT64_MAX;
  for (const auto& [id, e] : channels_) {
    if (e.present && e.config.enabled) due = std::min(due, e.channel->next_due_ms());
  }
  return due;
}

ChannelStats BusChannels::stats() const {
  ChannelStats sum;
  for (const auto& [id, e] : channels_) {
    ChannelStats s = e.channel->stats();
    sum.delivered += s.delivered;
    sum.retried += s.retried;
    sum.failed += s.failed;
    sum.dropped += s.dropped;
    sum.rate_limited += s.rate_limited;
  }
  return sum;
}

std::vector<std::pair<std::string, ChannelStats>> BusChannels::stats_by_channel() const {
  std::vector<std::pair<std::string, ChannelStats>> out;
  for (const auto& [id, e] : channels_) out.emplace_back(id, e.channel->stats());
  return out;
}

std::vector<NotificationChannel> BusChannels::active() const {
  std::vector<NotificationChannel> out;
  for (const auto& [id, e] : channels_) {
    if (e.present) out.push_back(e.config);
  }
  return out;
}

}  // namespace mutuo::health
