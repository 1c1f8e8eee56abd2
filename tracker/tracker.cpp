#include "tracker/tracker.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/topics.h"

namespace mutuo::tracker {

Tracker::Tracker(TrackerConfig config, MqttSession& session)
    : config_(std::move(config)),
      session_(session),
      settle_until_(std::chrono::steady_clock::now() + config_.settle) {}

void Tracker::reject(const std::string& topic, const std::string& reason) {
  ++rejected_[reason];
  uint64_t suppressed = 0;
  if (log_limiter_.allow(&suppressed)) {
    spdlog::warn("rejected message on {}: {}{}", topic, reason,
                 suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Tracker::handle(const MqttMessage& m) {
  auto parsed = topics::parse(m.topic);
  std::lock_guard lock(mu_);
  if (!parsed) return reject(m.topic, "unexpected topic");
  const bool cleared = m.payload.empty();
  switch (parsed->kind) {
    case topics::Kind::kStatus: {
      std::optional<Status> status;
      if (!cleared) {
        auto s = decode_status(m.payload);
        if (!s) return reject(m.topic, s.error());
        if (s->agent != parsed->id) return reject(m.topic, "agent differs from topic");
        status = std::move(s).value();
      }
      if (live_.apply(parsed->id, status, now_ms())) {
        spdlog::info("agent {} is {}", parsed->id,
                     status && status->online ? "online"
                                              : (status ? "offline (" + status->reason + ")"
                                                        : "gone (status cleared)"));
        dirty_ = true;
      }
      break;
    }
    case topics::Kind::kPeer: {
      std::optional<Peer> peer;
      if (!cleared) {
        auto p = decode_peer(m.payload);
        if (!p) return reject(m.topic, p.error());
        live_.remember_since(parsed->id, p->since_ms);
        peer = std::move(p).value();
      }
      publisher_.observe_peer(parsed->id, peer);
      dirty_ = true;
      break;
    }
    case topics::Kind::kAssign: {
      std::optional<Assign> assign;
      if (!cleared) {
        auto a = decode_assign(m.payload);
        if (!a) return reject(m.topic, a.error());
        assign = std::move(a).value();
      }
      publisher_.observe_assign(parsed->id, assign);
      dirty_ = true;
      break;
    }
    default:
      return reject(m.topic, "unexpected topic");
  }
  cv_.notify_all();
}

void Tracker::on_connected() {
  std::lock_guard lock(mu_);
  settle_until_ = std::chrono::steady_clock::now() + config_.settle;
  dirty_ = true;
  cv_.notify_all();
}

void Tracker::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_ || dirty_; });
    if (stopping_) break;
    auto now = std::chrono::steady_clock::now();
    if (now < settle_until_) {
      cv_.wait_until(lock, settle_until_, [this] { return stopping_; });
      continue;
    }
    if (!dirty_ || !session_.connected()) continue;
    // Let a burst of changes (many agents starting at once) land in one plan.
    cv_.wait_for(lock, config_.debounce, [this] { return stopping_; });
    dirty_ = false;
    auto messages = publisher_.plan(live_.peers(), full_mesh(live_.peers(), config_.assignment));
    if (messages.empty()) continue;
    spdlog::info("publishing {} change(s) for {} live peer(s)", messages.size(),
                 live_.peers().size());
    for (const auto& m : messages) {
      // A failed publish is repaired after reconnect: the retained state arrives
      // again, the publisher sees the broker's view and plans the difference anew.
      if (!session_.publish(m)) dirty_ = true;
    }
  }
}

void Tracker::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

std::map<std::string, uint64_t> Tracker::rejected() const {
  std::lock_guard lock(mu_);
  return rejected_;
}

}  // namespace mutuo::tracker
