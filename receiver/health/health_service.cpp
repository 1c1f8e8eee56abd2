#include "receiver/health/health_service.h"

#include <spdlog/spdlog.h>

#include "common/topics.h"

namespace mutuo::health {

HealthService::HealthService(HealthServiceConfig config, Publish publish,
                             std::vector<std::unique_ptr<Channel>> channels, Clock clock)
    : config_(config),
      publish_(std::move(publish)),
      channels_(std::move(channels)),
      clock_(std::move(clock)),
      engine_(config.health),
      tracker_(config.alerting,
               [this](const std::string& agent) -> const codec::Labels& {
                 return engine_.labels(agent);
               }),
      second_opinions_(config.second_opinions,
                       [this](const std::string& agent) -> const codec::Labels& {
                         return engine_.labels(agent);
                       }) {}

HealthService::~HealthService() { stop(); }

void HealthService::push(Input in) {
  {
    std::lock_guard lock(mu_);
    auto* m = std::get_if<MqttMessage>(&in);
    std::size_t bytes = m ? m->payload.size() : 0;
    if (queue_.size() >= config_.max_queue || queued_bytes_ + bytes > config_.max_queue_bytes) {
      ++counters_->dropped;
      return;
    }
    queued_bytes_ += bytes;
    queue_.push_back(std::move(in));
  }
}

void HealthService::on_results(ResultBatch batch) { push(std::move(batch)); }
void HealthService::on_status(Status status) { push(std::move(status)); }
void HealthService::add_silence(Silence s) { push(std::move(s)); }

void HealthService::on_message(const MqttMessage& m) { push(m); }

void HealthService::apply_silence(const std::string& id, const MqttMessage& m) {
  if (m.payload.empty()) {
    tracker_.remove_silence(id);
    spdlog::info("silence {} removed", id);
    return;
  }
  auto s = decode_silence(m.payload);
  std::string why = !s ? s.error() : s->id != id ? "id differs from the topic's" : "";
  if (!why.empty()) {
    ++counters_->rejected_silences;
    uint64_t suppressed = 0;
    if (log_limiter_.allow(&suppressed)) {
      spdlog::warn("rejected silence on {}: {}{}", m.topic, why,
                   suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
    }
    return;
  }
  spdlog::info("silence {} on {} from {} to {}", id,
               s->subject.empty() ? s->label_key + "=" + s->label_value : s->subject, s->starts_ms,
               s->ends_ms);
  tracker_.add_silence(std::move(s).value());
}

void HealthService::decode(const MqttMessage& m) {
  if (auto id = silence_id_of(m.topic)) return apply_silence(*id, m);
  auto parsed = topics::parse(m.topic);
  if (!parsed) return;
  if (parsed->kind == topics::Kind::kStatus) {
    auto s = decode_status(m.payload);
    if (s && s->agent == parsed->id) engine_.presence(*s);
  } else if (parsed->kind == topics::Kind::kResults) {
    auto b = decode_results(m.payload);
    if (b && b->agent == parsed->id) engine_.observe(*b);
  }
}

void HealthService::tick() {
  std::deque<Input> inputs;
  {
    std::lock_guard lock(mu_);
    inputs.swap(queue_);
    queued_bytes_ = 0;
  }
  for (Input& in : inputs) {
    if (auto* b = std::get_if<ResultBatch>(&in)) engine_.observe(*b);
    if (auto* s = std::get_if<Status>(&in)) engine_.presence(*s);
    if (auto* s = std::get_if<Silence>(&in)) tracker_.add_silence(std::move(*s));
    if (auto* m = std::get_if<MqttMessage>(&in)) decode(*m);
  }
  int64_t now = clock_();
  AlertUpdate update = tracker_.update(engine_.evaluate(now), now);
  for (const ProbeRequest& r : second_opinions_.requests(engine_.suspects(), now)) {
    if (publish_({probe_request_topic(r.subject), encode(r), 1, false}))
      ++counters_->probe_requests;
  }
  counters_->probe_requests_limited = second_opinions_.stats().rate_limited;
  for (const Alert& a : update.publish) {
    if (publish_({alert_topic(a.subject), encode(a), 1, true})) ++counters_->published;
  }
  for (const Notice& n : update.send) {
    for (auto& c : channels_) c->submit(n, now);
  }
  record(update, now);
  for (auto& c : channels_) c->pump(now);
  std::vector<std::pair<std::string, ChannelStats>> stats;
  for (const auto& c : channels_) {
    for (auto& s : c->stats_by_channel()) stats.push_back(std::move(s));
  }
  std::lock_guard lock(counters_->mu);
  counters_->channel_stats = std::move(stats);
}

void HealthService::record(const AlertUpdate& update, int64_t now_ms) {
  if (history_ == nullptr) return;
  std::vector<HistoryEntry> entries;
  for (const Alert& a : update.publish) {
    HistoryEntry e{now_ms, "change", "", a};
    for (const Notice& n : update.recorded) {
      if (n.kind != NoticeKind::kReminder && n.alert.subject == a.subject) {
        e.kind = std::string(to_string(n.kind));
        e.held_back = n.held_back;
      }
    }
    entries.push_back(std::move(e));
  }
  for (const Notice& n : update.recorded) {
    if (n.kind == NoticeKind::kReminder)
      entries.push_back({now_ms, "reminder", n.held_back, n.alert});
  }
  auto written = history_->append(entries);
  if (written && now_ms - pruned_ms_ >= 60'000) {
    pruned_ms_ = now_ms;
    auto pruned = history_->prune(now_ms);
    if (!pruned) written = Error{pruned.error()};
  }
  if (!written) {
    ++counters_->history_errors;
    uint64_t suppressed = 0;
    if (log_limiter_.allow(&suppressed)) spdlog::error("{}", written.error());
  }
}

void HealthService::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      tick();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(config_.evaluate_every_ms),
                   [this] { return stopping_; });
    }
  });
}

void HealthService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mutuo::health
