#include "dashboard/bus_listener.h"

#include <spdlog/spdlog.h>

#include "common/messages/results.h"
#include "common/topics.h"
#include "dashboard/api_json.h"

namespace mutuo::dashboard {

namespace {

constexpr std::string_view kAlertPrefix = "mutuo/v1/alerts/";

// Strings from the bus were validated by the decoders; replace, never throw.
std::string text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

BusListener::BusListener(PresenceTable* presence, RetainedTable<Alert>* alerts,
                         RetainedTable<Check>* checks, LiveFeed* feed,
                         std::function<int64_t()> now_ms)
    : presence_(presence),
      alerts_(alerts),
      checks_(checks),
      feed_(feed),
      now_ms_(std::move(now_ms)) {}

void BusListener::on_message(const MqttMessage& m) {
  const int64_t now = now_ms_();
  if (m.topic.starts_with(kAlertPrefix)) {
    std::string subject = m.topic.substr(kAlertPrefix.size());
    if (!valid_alert_subject(subject)) return reject(m.topic, "not an alert subject");
    if (m.payload.empty()) {
      alerts_->erase(subject);
      ++alerts_applied_;
      feed_->publish(text(live_alert_event(subject, nullptr)));
      return;
    }
    auto alert = decode_alert(m.payload);
    if (!alert) return reject(m.topic, alert.error());
    if (alert->subject != subject) return reject(m.topic, "subject does not match the topic");
    feed_->publish(text(live_alert_event(subject, &alert.value())));
    alerts_->set(subject, std::move(alert).value());
    ++alerts_applied_;
    return;
  }
  auto parsed = topics::parse(m.topic);
  if (!parsed) return reject(m.topic, "not a topic of the v1 tree");
  switch (parsed->kind) {
    case topics::Kind::kStatus: {
      auto update = presence_->apply(m.topic, m.payload, m.retained, now);
      ++version_;
      if (update == PresenceUpdate::kCleared) {
        feed_->publish(text(live_agent_removed_event(parsed->id)));
      } else if (update == PresenceUpdate::kUpdated) {
        if (auto a = presence_->get(parsed->id)) feed_->publish(text(live_agent_event(*a)));
      }
      return;
    }
    case topics::Kind::kResults: {
      auto batch = decode_results(m.payload);
      if (!batch) return reject(m.topic, batch.error());
      if (batch->agent != parsed->id) return reject(m.topic, "agent does not match the topic");
      ++results_;
      ++version_;
      if (feed_->has_clients()) feed_->publish(text(live_results_event(*batch, now)));
      return;
    }
    case topics::Kind::kCheck: {
      if (m.payload.empty()) {
        checks_->erase(parsed->id);
        ++checks_applied_;
        feed_->publish(text(live_check_event(parsed->id, nullptr)));
        return;
      }
      auto check = decode_check(m.payload);
      if (!check) return reject(m.topic, check.error());
      if (check->check != parsed->id) return reject(m.topic, "check id does not match the topic");
      feed_->publish(text(live_check_event(parsed->id, &check.value())));
      checks_->set(parsed->id, std::move(check).value());
      ++checks_applied_;
      return;
    }
    default:
      return reject(m.topic, "not a topic the dashboard reads");
  }
}

void BusListener::reject(const std::string& topic, const std::string& reason) {
  ++rejected_;
  uint64_t suppressed = 0;
  if (reject_log_.allow(&suppressed)) {
    spdlog::warn("ignored message on {}: {} ({} similar lines suppressed)", topic, reason,
                 suppressed);
  }
}

BusListener::Counters BusListener::counters() const {
  return {results_.load(), alerts_applied_.load(), checks_applied_.load(), rejected_.load()};
}

}  // namespace mutuo::dashboard
