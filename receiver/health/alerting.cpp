#include "receiver/health/alerting.h"

namespace mutuo::health {

namespace {

bool bad(HealthState s) {
  return s == HealthState::kDown || s == HealthState::kDegraded || s == HealthState::kOffline;
}

bool needs_reminder(HealthState s) { return s == HealthState::kDown || s == HealthState::kOffline; }

}  // namespace

std::string_view to_string(NoticeKind k) {
  switch (k) {
    case NoticeKind::kAlert:
      return "alert";
    case NoticeKind::kReminder:
      return "reminder";
    case NoticeKind::kRecovery:
      return "recovery";
  }
  return "alert";
}

void AlertTracker::add_silence(Silence s) { silences_[s.id] = std::move(s); }

void AlertTracker::remove_silence(const std::string& id) { silences_.erase(id); }

const Silence* AlertTracker::silenced(const std::string& subject, int64_t now_ms) const {
  for (const auto& [id, s] : silences_) {
    if (now_ms < s.starts_ms || now_ms >= s.ends_ms) continue;
    if (!s.subject.empty() && s.subject == subject) return &s;
    if (s.label_key.empty()) continue;
    if (subject.rfind("peer/", 0) == 0) {
      const codec::Labels& labels = labels_of_(subject.substr(5));
      auto it = labels.find(s.label_key);
      if (it != labels.end() && it->second == s.label_value) return &s;
    }
    auto t = tracks_.find(subject);
    if (t != tracks_.end() && t->second.alert.partition) {
      const PartitionSides& p = *t->second.alert.partition;
      if (p.label == s.label_key && (p.a == s.label_value || p.b == s.label_value)) return &s;
    }
  }
  return nullptr;
}

const Alert* AlertTracker::current(const std::string& subject) const {
  auto it = tracks_.find(subject);
  return it == tracks_.end() || !it->second.committed ? nullptr : &it->second.alert;
}

void AlertTracker::notice(Track& t, NoticeKind kind, int64_t now_ms, AlertUpdate& out) {
  Notice n{kind, t.alert, ""};
  while (!t.transitions.empty() && t.transitions.front() < now_ms - config_.flap_window_ms) {
    t.transitions.pop_front();
  }
  if (const Silence* s = silenced(t.alert.subject, now_ms)) {
    n.held_back = "silenced:" + s->id;
  } else if (kind != NoticeKind::kReminder && t.transitions.size() > config_.flap_transitions) {
    n.held_back = "flapping";
  }
  t.last_notice_ms = now_ms;
  if (n.held_back.empty()) out.send.push_back(n);
  out.recorded.push_back(n);
  history_.push_back(std::move(n));
  while (history_.size() > config_.history_size) history_.pop_front();
}

AlertUpdate AlertTracker::update(const std::vector<Alert>& evaluated, int64_t now_ms) {
  AlertUpdate out;
  for (const Alert& e : evaluated) {
    Track& t = tracks_[e.subject];
    if (!t.committed) {
      if (e.state == HealthState::kUp || e.state == HealthState::kUnknown) {
        t.committed = true;
        t.alert = e;
        t.alert.since_ms = now_ms;
        out.publish.push_back(t.alert);
        continue;
      }
    } else if (e.state == t.alert.state) {
      t.has_pending = false;
      if (needs_reminder(e.state) && t.notified_bad &&
          now_ms - t.last_notice_ms >= config_.repeat_ms) {
        int64_t since = t.alert.since_ms;
        t.alert = e;
        t.alert.since_ms = since;
        notice(t, NoticeKind::kReminder, now_ms, out);
      }
      if (e.cause == t.alert.cause && e.one_way == t.alert.one_way) {
        t.one_way_since = -1;
      } else {
        if (t.one_way_since < 0 || e.cause != t.pending_cause || e.one_way != t.pending_one_way) {
          t.pending_cause = e.cause;
          t.pending_one_way = e.one_way;
          t.one_way_since = now_ms;
        }
        if (now_ms - t.one_way_since >= config_.hold_ms) {
          int64_t since = t.alert.since_ms;
          t.alert = e;
          t.alert.since_ms = since;
          t.one_way_since = -1;
          out.publish.push_back(t.alert);
        }
      }
      continue;
    }
    if (!t.has_pending || t.pending != e.state) {
      t.has_pending = true;
      t.pending = e.state;
      t.pending_since = now_ms;
    }
    int64_t hold = e.state == HealthState::kOffline ? 0
                   : e.state == HealthState::kUp    ? config_.recovery_hold_ms
                                                    : config_.hold_ms;
    if (now_ms - t.pending_since < hold) continue;

    HealthState before = t.committed ? t.alert.state : HealthState::kUnknown;
    t.committed = true;
    t.has_pending = false;
    t.one_way_since = -1;
    t.alert = e;
    t.alert.since_ms = t.pending_since;
    t.transitions.push_back(now_ms);
    out.publish.push_back(t.alert);
    // Down or offline easing to degraded is still trouble, but less: published
    // and recorded, not sent (the recovery notice follows when it is up).
    bool eased = e.state == HealthState::kDegraded &&
                 (before == HealthState::kDown || before == HealthState::kOffline);
    if (bad(e.state) && e.state != before && !eased) {
      t.notified_bad = true;
      notice(t, NoticeKind::kAlert, now_ms, out);
    } else if (e.state == HealthState::kUp && t.notified_bad) {
      t.notified_bad = false;
      notice(t, NoticeKind::kRecovery, now_ms, out);
    }
  }
  return out;
}

}  // namespace mutuo::health
