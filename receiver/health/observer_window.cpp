#include "receiver/health/observer_window.h"

#include <algorithm>

namespace mutuo::health {

std::optional<Sample> sample_of(const ProbeResult& r) {
  if (r.error == "unsupported") return std::nullopt;
  Sample s;
  s.ts_ms = r.ts_ms;
  if (r.kind == TargetKind::kPeer || r.sent) {
    if (r.sent && *r.sent > 0) {
      s.loss = r.loss().value_or(1.0);
      s.failed = r.recv.value_or(0) == 0;
      if (r.rtt_ms && !s.failed) s.rtt_ms = r.rtt_ms->avg;
    } else if (r.ok) {
      s.failed = !*r.ok;
      s.loss = s.failed ? 1.0 : 0.0;
    } else {
      if (r.error.empty()) return std::nullopt;  // nothing sent, nothing said
      s.failed = true;
      s.loss = 1.0;
    }
    return s;
  }
  if (r.ok) {
    s.failed = !*r.ok;
  } else if (!r.error.empty()) {
    s.failed = true;
  } else {
    return std::nullopt;
  }
  s.loss = s.failed ? 1.0 : 0.0;
  if (!s.failed) {
    auto total = r.phase_ms.find("total");
    if (total != r.phase_ms.end()) s.rtt_ms = total->second;
  }
  return s;
}

void ObserverWindow::add(const Sample& s, const WindowLimits& limits) {
  auto it = std::lower_bound(samples_.begin(), samples_.end(), s.ts_ms,
                             [](const Sample& a, int64_t ts) { return a.ts_ms < ts; });
  if (it != samples_.end() && it->ts_ms == s.ts_ms) {
    *it = s;
  } else {
    samples_.insert(it, s);
  }
  while (samples_.size() > limits.max_samples) samples_.pop_front();
}

void ObserverWindow::trim(int64_t now_ms, const WindowLimits& limits) {
  while (!samples_.empty() && samples_.front().ts_ms < now_ms - limits.window_ms) {
    samples_.pop_front();
  }
}

void ObserverWindow::forgive_failures() {
  std::erase_if(samples_, [](const Sample& s) { return s.failed; });
  set_aside_ = false;
}

double ObserverWindow::mean_loss() const {
  double sum = 0;
  for (const Sample& s : samples_) sum += s.loss;
  return samples_.empty() ? 0 : sum / static_cast<double>(samples_.size());
}

std::optional<double> ObserverWindow::mean_rtt_ms() const {
  double sum = 0;
  std::size_t n = 0;
  for (const Sample& s : samples_) {
    if (s.rtt_ms) {
      sum += *s.rtt_ms;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

double ObserverWindow::vote_loss(const WindowLimits& limits) const {
  std::size_t failures = 0;
  for (const Sample& s : samples_) failures += s.failed ? 1 : 0;
  double share = static_cast<double>(failures) / static_cast<double>(samples_.size());
  if (!newest_failed() || share >= limits.fail_fraction) return mean_loss();
  double sum = 0;
  std::size_t answered = 0;
  for (const Sample& s : samples_) {
    if (s.failed) continue;
    sum += s.loss;
    ++answered;
  }
  return answered == 0 ? 0 : sum / static_cast<double>(answered);
}

Verdict ObserverWindow::verdict(const WindowLimits& limits) const {
  std::size_t failures = 0;
  for (const Sample& s : samples_) failures += s.failed ? 1 : 0;
  double share = static_cast<double>(failures) / static_cast<double>(samples_.size());
  if (samples_.back().failed && share >= limits.fail_fraction) return Verdict::kFail;
  if (vote_loss(limits) >= limits.degraded_loss) return Verdict::kDegraded;
  auto rtt = mean_rtt_ms();
  if (limits.degraded_rtt_ms > 0 && rtt && *rtt >= limits.degraded_rtt_ms) {
    return Verdict::kDegraded;
  }
  return Verdict::kOk;
}

ObserverEvidence ObserverWindow::evidence() const {
  ObserverEvidence e;
  e.samples = static_cast<uint32_t>(samples_.size());
  for (const Sample& s : samples_) e.failures += s.failed ? 1 : 0;
  if (!samples_.empty()) e.loss = mean_loss();
  e.rtt_ms = mean_rtt_ms();
  e.last_ts_ms = newest_ms();
  return e;
}

}  // namespace mutuo::health
