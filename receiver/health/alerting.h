// AlertTracker: turns the engine's verdicts, evaluated again and again, into
// alert transitions: which retained alerts to publish and which notices to send.
//
//   - A new state is committed (published, since = when it was first seen) only
//     after it has held for hold_ms (recovery_hold_ms for "up"); "offline" comes
//     from presence and is committed at once. A subject seen for the first time
//     in up or unknown is committed at once, without a notice.
//   - Notices: "alert" when a subject enters down, degraded or offline, except
//     down or offline easing to degraded (published, recorded, not sent);
//     "recovery" when it returns to up after such an alert; "reminder" every
//     repeat_ms while it stays down or offline. Entering or leaving unknown sends
//     nothing.
//   - Flap damping: a subject that changed state more than flap_transitions times
//     within flap_window_ms is flapping: its changes are still published and
//     recorded, but not sent, until it holds one state for flap_window_ms.
//   - Cause and one-way loss: while a subject keeps its state, a change of its
//     cause (e.g. target -> observer-isolated) or of its one_way list (observers
//     whose path toward it fails while the way back is fine) that holds for
//     hold_ms is published again (same since, no notice).
//   - Silences (maintenance windows) match a subject exactly or any agent carrying
//     a label (for partitions: either side's value); a notice that falls in one is
//     recorded in the history but not sent.
//
// Pure logic; one thread calls everything.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/messages/alert.h"
#include "common/messages/codec.h"
#include "common/messages/silence.h"

namespace mutuo::health {

struct AlertingConfig {
  int64_t hold_ms = 10'000;
  int64_t recovery_hold_ms = 20'000;
  int64_t repeat_ms = 60 * 60 * 1000;
  std::size_t flap_transitions = 4;
  int64_t flap_window_ms = 10 * 60 * 1000;
  std::size_t history_size = 10'000;  // notices remembered, newest kept
};

enum class NoticeKind { kAlert, kReminder, kRecovery };
std::string_view to_string(NoticeKind k);

struct Notice {
  NoticeKind kind = NoticeKind::kAlert;
  Alert alert;
  std::string held_back;  // "" (sent), "silenced:{silence id}" or "flapping"
};

// A maintenance window: an exact subject, or every agent carrying a label
// (common/messages/silence.h, from retained mutuo/v1/silences/{id}).
using Silence = mutuo::Silence;

struct AlertUpdate {
  std::vector<Alert> publish;    // retained alerts to publish, in order
  std::vector<Notice> send;      // notices for the channels (none held back)
  std::vector<Notice> recorded;  // every notice decided, sent or held back, in order
};

class AlertTracker {
 public:
  // The labels of an agent, for label silences.
  using LabelsOf = std::function<const codec::Labels&(const std::string& agent)>;

  AlertTracker(AlertingConfig config, LabelsOf labels_of)
      : config_(config), labels_of_(std::move(labels_of)) {}

  // Feeds one evaluation (HealthEngine::evaluate(now_ms)).
  AlertUpdate update(const std::vector<Alert>& evaluated, int64_t now_ms);

  void add_silence(Silence s);  // replaces a silence with the same id
  void remove_silence(const std::string& id);
  // The silence covering `subject` at `now_ms`, or nullptr.
  const Silence* silenced(const std::string& subject, int64_t now_ms) const;

  // Every notice decided, sent or held back, oldest first.
  const std::deque<Notice>& history() const { return history_; }
  // The committed alert of a subject, or nullptr.
  const Alert* current(const std::string& subject) const;

 private:
  struct Track {
    bool committed = false;
    Alert alert;  // committed state, evidence as of commit
    HealthState pending = HealthState::kUnknown;
    int64_t pending_since = 0;
    bool has_pending = false;
    std::string pending_cause;                 // cause and one_way differ from the
    std::vector<std::string> pending_one_way;  // committed alert's since ...
    int64_t one_way_since = -1;                // ... this time (-1: they do not)
    bool notified_bad = false;  // an alert went out (or was held) for the current trouble
    int64_t last_notice_ms = 0;
    std::deque<int64_t> transitions;
  };

  void notice(Track& t, NoticeKind kind, int64_t now_ms, AlertUpdate& out);

  const AlertingConfig config_;
  LabelsOf labels_of_;
  std::map<std::string, Track> tracks_;
  std::map<std::string, Silence> silences_;
  std::deque<Notice> history_;
};

}  // namespace mutuo::health
