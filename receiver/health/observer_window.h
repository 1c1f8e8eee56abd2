// The recent results of one observer toward one subject (a sliding window by age
// and count) and what they say: ok, degraded or fail.
//
// A result fails outright when a packet probe got no reply at all or a service
// check reported ok=false (or an error without a verdict). Results an observer
// could not run ("unsupported") say nothing about the subject and are ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "common/messages/alert.h"
#include "common/messages/results.h"

namespace mutuo::health {

struct Sample {
  int64_t ts_ms = 0;
  bool failed = false;
  double loss = 0;               // 0..1; a failed check counts 1
  std::optional<double> rtt_ms;  // answered probes only
};

// nullopt when the result says nothing about its target.
std::optional<Sample> sample_of(const ProbeResult& r);

enum class Verdict { kOk, kDegraded, kFail };

struct WindowLimits {
  int64_t window_ms = 60'000;   // results older than this (behind `now`) leave
  std::size_t max_samples = 6;  // and at most this many are kept
  double fail_fraction = 0.5;   // fail: newest failed and at least this share failed
  double degraded_loss = 0.1;   // degraded: mean loss at or above
  double degraded_rtt_ms = 0;   // degraded: mean rtt at or above (0: off)
};

class ObserverWindow {
 public:
  // Adds a sample; a second sample with the same timestamp (a resent batch)
  // replaces the first. Out-of-order samples are placed by time.
  void add(const Sample& s, const WindowLimits& limits);
  // Drops samples older than now - window_ms.
  void trim(int64_t now_ms, const WindowLimits& limits);
  bool empty() const { return samples_.empty(); }
  int64_t newest_ms() const { return samples_.empty() ? 0 : samples_.back().ts_ms; }
  bool newest_failed() const { return !samples_.empty() && samples_.back().failed; }

  // REQUIRES: !empty(). Fail: the newest result failed and at least
  // fail_fraction of the window did. Degraded: the loss (vote_loss) or the mean
  // latency reaches its threshold. Else ok.
  Verdict verdict(const WindowLimits& limits) const;
  // The loss this observer reports for the subject. While a run of failures is
  // only beginning (the newest result failed, too few yet to fail), the failed
  // results are not counted: the path is going down, not lossy, and saying
  // "degraded" first would send a degraded alert before every outage. Otherwise
  // the mean loss of the window, failed results counting 1.
  double vote_loss(const WindowLimits& limits) const;
  ObserverEvidence evidence() const;
  double mean_loss() const;
  std::optional<double> mean_rtt_ms() const;

  // Failures explained by someone else's fault (the observer isolated, the path
  // crossing a partition) must not be blamed on the subject once that fault
  // heals: the engine marks such a window, and when its newest result succeeds
  // again it forgets the failures (forgive_failures()).
  void mark_set_aside() { set_aside_ = true; }
  bool set_aside() const { return set_aside_; }
  // Drops the failed samples and the mark.
  void forgive_failures();

 private:
  std::deque<Sample> samples_;  // oldest first
  bool set_aside_ = false;
};

}  // namespace mutuo::health
