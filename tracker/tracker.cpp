#include "tracker/tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/topics.h"

namespace mutuo::tracker {

Tracker::Tracker(TrackerConfig config, MqttSession& session)
    : config_(std::move(config)),
      session_(session),
      live_(config_.flap),
      assignment_(config_.assignment),
      leadership_(config_.id),
      second_opinions_([this] {
        SecondOpinionConfig c = config_.second_opinions;  // targets as the assignment writes them
        c.interval_s = config_.assignment.interval_s;
        c.spread_labels = config_.assignment.spread_labels;
        return c;
      }()),
      settle_until_(std::chrono::steady_clock::now() + config_.settle) {}

std::vector<std::string> Tracker::topics() {
  return {topics::kAllStatus, topics::kAllPeers, topics::kAllAssign,
          topics::kAllChecks, kAllProbeRequests, kLeaderTopic};
}

void Tracker::reject(const std::string& topic, const std::string& reason) {
  ++stats_.rejected[reason];
  uint64_t suppressed = 0;
  if (log_limiter_.allow(&suppressed)) {
    spdlog::warn("rejected message on {}: {}{}", topic, reason,
                 suppressed ? fmt::format(" ({} more suppressed)", suppressed) : "");
  }
}

void Tracker::handle(const MqttMessage& m) {
  std::lock_guard lock(mu_);
  const bool cleared = m.payload.empty();
  if (m.topic == kLeaderTopic) {
    const bool was = leadership_.leader();
    const auto before = leadership_.holder();
    leadership_.observe(m.payload);
    if (leadership_.leader() && !was) {
      spdlog::info("this tracker now leads and publishes");
      full_plan_ = true;
    } else if (!leadership_.leader() && (was || leadership_.holder() != before)) {
      spdlog::info("standing by: {} leads", leadership_.holder().value_or("nobody"));
    }
    dirty_ = true;  // a leader plans; a standby may claim a vacant topic
    cv_.notify_all();
    return;
  }
  if (auto subject = probe_request_subject_of(m.topic)) return on_probe_request(*subject, m);
  auto parsed = topics::parse(m.topic);
  if (!parsed) return reject(m.topic, "unexpected topic");
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
        spdlog::debug("agent {} is {}", parsed->id,
                      status && status->online ? "online"
                                               : (status ? "offline (" + status->reason + ")"
                                                         : "gone (status cleared)"));
        touched_.insert(parsed->id);
        dirty_ = true;
      }
      break;
    }
    case topics::Kind::kPeer: {
      std::optional<Peer> peer;
      if (!cleared) {
        auto p = decode_peer(m.payload);
        if (!p) return reject(m.topic, p.error());
        if (p->agent != parsed->id) return reject(m.topic, "agent differs from topic");
        live_.remember_since(parsed->id, p->since_ms);
        peer = std::move(p).value();
      }
      if (in_flight_ > 0) --in_flight_;
      touched_.insert(parsed->id);  // its since may have changed, too
      if (publisher_.observe_peer(parsed->id, peer)) dirty_ = true;
      break;
    }
    case topics::Kind::kAssign: {
      std::optional<Assign> assign;
      if (!cleared) {
        auto a = decode_assign(m.payload);
        if (!a) return reject(m.topic, a.error());
        if (a->agent != parsed->id) return reject(m.topic, "agent differs from topic");
        assign = std::move(a).value();
      }
      if (in_flight_ > 0) --in_flight_;
      if (publisher_.observe_assign(parsed->id, assign)) {
        touched_.insert(parsed->id);
        dirty_ = true;
      }
      break;
    }
    case topics::Kind::kCheck: {
      if (cleared) {
        if (checks_.erase(parsed->id)) dirty_ = true;
        break;
      }
      auto c = decode_check(m.payload);
      if (!c) return reject(m.topic, c.error());
      if (c->check != parsed->id) return reject(m.topic, "check differs from topic");
      auto it = checks_.find(parsed->id);
      if (it == checks_.end() || !(it->second == c.value())) {
        checks_[parsed->id] = std::move(c).value();
        dirty_ = true;
      }
      break;
    }
    default:
      return reject(m.topic, "unexpected topic");
  }
  cv_.notify_all();
}

// Called from handle(), under mu_.
void Tracker::on_probe_request(const std::string& subject, const MqttMessage& m) {
  auto r = decode_probe_request(m.payload);
  if (!r) return reject(m.topic, r.error());
  if (r->subject != subject) return reject(m.topic, "subject differs from topic");
  if (requests_.size() >= kMaxQueuedRequests) return reject(m.topic, "probe request queue full");
  ++stats_.probe_requests;
  requests_.push_back(std::move(r).value());
  cv_.notify_all();
}

void Tracker::answer_probe_requests(std::unique_lock<std::mutex>& lock) {
  std::deque<ProbeRequest> requests;
  requests.swap(requests_);
  if (!leadership_.leader()) return;  // a standby leaves them to the leader
  std::vector<MqttMessage> messages;
  for (const ProbeRequest& r : requests) {
    auto answer = second_opinions_.answer(r, live_.peers(), assignment_, checks_, now_ms());
    if (!answer) {
      ++stats_.probe_requests_unanswered[answer.error()];
      spdlog::debug("probe request for {} not answered: {}", r.subject, answer.error());
      continue;
    }
    std::string who;
    for (const ProbeNow& p : *answer) {
      messages.push_back({probe_now_topic(p.agent), encode(p), 1, false});
      who += (who.empty() ? "" : ", ") + p.agent;
    }
    spdlog::info(
        "second opinions on {} (failing for {}): asking {}", r.subject,
        r.failing.empty()
            ? "?"
            : r.failing.front() +
                  (r.failing.size() > 1 ? fmt::format(" and {} more", r.failing.size() - 1) : ""),
        who);
  }
  if (messages.empty()) return;
  lock.unlock();  // never call into the MQTT client holding mu_ (see run())
  std::size_t sent = 0;
  for (const auto& m : messages) sent += session_.publish(m) ? 1 : 0;
  lock.lock();
  stats_.probe_now_sent += sent;
}

void Tracker::on_connected() {
  std::lock_guard lock(mu_);
  settle_until_ = std::chrono::steady_clock::now() + config_.settle;
  // Retained messages may already be arriving on the other thread, so nothing
  // learned from them is dropped here. Our last will may have emptied the leader
  // topic while we were away: a leader claims it again after settling.
  leadership_.reconnected();
  in_flight_ = 0;
  full_plan_ = true;
  dirty_ = true;
  cv_.notify_all();
}

void Tracker::run() {
  using namespace std::chrono;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto wake = steady_clock::now() + seconds(1);
    if (auto due = live_.next_release_ms()) {
      wake =
          std::min(wake, steady_clock::now() + milliseconds(std::max<int64_t>(0, *due - now_ms())));
    }
    cv_.wait_until(lock, wake, [this] { return stopping_ || dirty_ || !requests_.empty(); });
    if (stopping_) break;
    if (steady_clock::now() < settle_until_) {
      cv_.wait_until(lock, settle_until_, [this] { return stopping_; });
      continue;
    }
    if (!session_.connected()) {  // repaired after reconnect: on_connected() sets dirty_
      cv_.wait_for(lock, milliseconds(200), [this] { return stopping_; });
      continue;
    }
    if (live_.release(now_ms())) {
      dirty_ = true;
      full_plan_ = true;  // rare: admitted agents after a flap hold
    }
    if (auto claim = leadership_.claim(now_ms())) {
      spdlog::info("no tracker leads: claiming the lead as {}", config_.id);
      // Never call into the MQTT client holding mu_: its callback thread may be
      // waiting for mu_ in handle() while holding what publish() needs.
      lock.unlock();
      session_.publish(*claim);
      lock.lock();
    }
    if (!requests_.empty()) answer_probe_requests(lock);
    if (!dirty_) continue;
    if (!leadership_.leader()) {  // standby: follow the retained topics, publish nothing
      dirty_ = false;
      touched_.clear();  // on taking the lead it compares everything
      continue;
    }
    // Let a burst of changes (many agents starting at once) land in one plan.
    cv_.wait_for(lock, config_.debounce, [this] { return stopping_; });
    if (stopping_ || !leadership_.leader()) continue;
    dirty_ = false;
    if (live_.release(now_ms())) full_plan_ = true;
    auto t0 = steady_clock::now();
    auto changed = assignment_.update(live_.peers(), checks_, full_plan_ ? nullptr : &touched_);
    std::vector<MqttMessage> messages;
    if (full_plan_) {
      messages = publisher_.plan(live_.peers(), assignment_.assigns());
    } else {
      touched_.insert(changed.begin(), changed.end());
      messages = publisher_.plan(live_.peers(), assignment_.assigns(), &touched_);
    }
    full_plan_ = false;
    touched_.clear();
    auto plan_ms = duration_cast<milliseconds>(steady_clock::now() - t0).count();
    if (messages.empty()) continue;
    ++stats_.plans;
    spdlog::info(
        "publishing {} change(s) ({} assignment(s) changed) for {} live peer(s), "
        "planned in {} ms",
        messages.size(), changed.size(), live_.peers().size(), plan_ms);
    // Flow control by our own echo: we read back every peers/ and assign/ topic,
    // so an echo means the broker has the message. Paho refuses to queue more
    // than about a hundred at once, and a startup at 10,000 agents is 20,000.
    std::size_t failed = 0, bytes = 0;
    for (const auto& m : messages) {
      if (!cv_.wait_for(lock, seconds(5),
                        [this] { return stopping_ || in_flight_ < kPublishWindow; })) {
        spdlog::warn("{} publish(es) not echoed within 5 s; going on", in_flight_);
        in_flight_ = 0;
      }
      if (stopping_) break;
      lock.unlock();  // let handle() run while we publish
      bool ok = session_.publish(m);
      lock.lock();
      if (!ok) {
        // Repaired by the next plan: forget that the broker has it. After a
        // reconnect the retained topics arrive again anyway.
        publisher_.forget(m);
        full_plan_ = true;
        ++failed;
        continue;
      }
      ++in_flight_;
      bytes += m.topic.size() + m.payload.size();
    }
    stats_.published += messages.size() - failed;
    stats_.published_bytes += bytes;
    if (failed) {
      spdlog::warn("{} publish(es) failed; will retry", failed);
      dirty_ = true;
      cv_.wait_for(lock, milliseconds(500), [this] { return stopping_; });
    }
  }
}

void Tracker::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

std::optional<MqttMessage> Tracker::final_message() const {
  std::lock_guard lock(mu_);
  if (leadership_.leader()) return Leadership::vacate();
  return std::nullopt;
}

TrackerStats Tracker::stats() const {
  std::lock_guard lock(mu_);
  TrackerStats s = stats_;
  s.leader = leadership_.leader();
  s.live = live_.peers().size();
  s.held = live_.held();
  return s;
}

}  // namespace mutuo::tracker
