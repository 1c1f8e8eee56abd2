#include "receiver/health/health_service.h"

#include "common/topics.h"

namespace mutuo::health {

HealthService::HealthService(HealthServiceConfig config, Publish publish,
                             std::vector<std::unique_ptr<Channel>> channels, Clock clock)
    : config_(config),
      publish_(std::move(publish)),
      channels_(std::move(channels)),
      clock_(std::move(clock)),
      engine_(config.health),
      tracker_(config.alerting, [this](const std::string& agent) -> const codec::Labels& {
        return engine_.labels(agent);
      }) {}

HealthService::~HealthService() { stop(); }

void HealthService::push(Input in) {
  {
    std::lock_guard lock(mu_);
    auto* m = std::get_if<MqttMessage>(&in);
    std::size_t bytes = m ? m->payload.size() : 0;
    if (queue_.size() >= config_.max_queue || queued_bytes_ + bytes > config_.max_queue_bytes) {
      ++dropped_;
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

void HealthService::decode(const MqttMessage& m) {
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
  for (const Alert& a : update.publish) {
    if (publish_({alert_topic(a.subject), encode(a), 1, true})) ++published_;
  }
  for (const Notice& n : update.send) {
    for (auto& c : channels_) c->submit(n, now);
  }
  for (auto& c : channels_) c->pump(now);
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
