// Rollups: what one series did in one minute or one hour (DESIGN.md, "Storage"),
// as RRD and Graphite keep it, so a 30-day chart reads 720 points, not millions.
//
// A Rollup is mergeable: merging the rollups of two disjoint sets of results
// gives the rollup of their union, whatever the order. The receiver therefore
// writes each batch's contribution as a RocksDB merge operand and RocksDB folds
// them together (RollupMergeOperator), so late data (an agent flushing its
// buffer) lands in the bucket it belongs to without a read on the write path.
// A resent batch is not merged twice: the receiver's batch ledger
// (common/store_layout.h, "batches") turns it into a no-op.
//
// What a result contributes:
//   count      1
//   value      its round-trip average (rtt_ms.avg) for packet probes, else its
//              "total" phase time for service checks, in µs; results without one
//              (all packets lost, a failed check) add to count but not to the
//              value statistics (min, max, mean, percentiles)
//   sent/recv  packet counts (loss = 1 - recv/sent)
//   failed     1 when ok is false or an error is set
// Percentiles come from a log-linear histogram of the values with 16 buckets per
// power of two: a reported p50/p90/p99 is within about 3% of the true value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/messages/results.h"
#include "common/result.h"

namespace mutuo::store {

// A mergeable histogram of non-negative integers (µs).
class LogHistogram {
 public:
  void add(uint64_t v, uint64_t n = 1);
  void merge(const LogHistogram& other);
  uint64_t total() const { return total_; }
  // The value below which a fraction `q` (0..1) of the values lie, to within a
  // bucket's width; 0 when empty.
  uint64_t quantile(double q) const;

  // Adds values given in ascending order (REQUIRES: sorted), in one pass.
  void add_sorted(const std::vector<uint64_t>& sorted);
  // Adds values in any order; may reorder `*values`.
  void add_unsorted(std::vector<uint64_t>* values);

  void encode(std::string& out) const;
  bool decode(std::string_view* in);  // advances *in; false on bad input

  static int bucket_of(uint64_t v);
  static uint64_t bucket_low(int bucket);   // smallest value in `bucket`
  static uint64_t bucket_high(int bucket);  // largest value in `bucket`

  bool operator==(const LogHistogram&) const = default;

 private:
  // (bucket, count), sorted by bucket, sparse: a minute's values fall in a few
  // dozen buckets, where a sorted vector beats a tree on every operation.
  std::vector<std::pair<int, uint64_t>> counts_;
  uint64_t total_ = 0;
};

// What one result contributes to a rollup (see above), taken from it once, so
// a writer can keep many results' contributions compactly and fold them later.
struct RollupSample {
  int64_t ts_ms = 0;
  uint64_t value_us = 0;  // meaningful when has_value
  bool has_value = false;
  bool failed = false;
  uint32_t sent = 0, recv = 0;  // both 0 unless the result has packet counts

  static RollupSample of(const ProbeResult& r);
};

struct Rollup {
  uint64_t count = 0;   // results
  uint64_t values = 0;  // results with a value
  uint64_t sum_us = 0;  // sum of the values
  uint64_t min_us = 0;  // meaningful when values > 0
  uint64_t max_us = 0;
  uint64_t sent = 0, recv = 0;
  uint64_t failed = 0;
  LogHistogram histogram;

  void add(const ProbeResult& r);
  void merge(const Rollup& other);
  // The rollup of `n` samples from `samples`, equal to add() of each of their
  // results but with one sort instead of a histogram update per result.
  // `scratch` is working space the caller may reuse.
  static Rollup of(const RollupSample* samples, std::size_t n, std::vector<uint64_t>* scratch);

  std::optional<double> mean_ms() const;
  // Packet loss (1 - recv/sent) when packets were counted, else the failed fraction.
  std::optional<double> loss() const;
  std::optional<double> quantile_ms(double q) const;

  std::string encode() const;
  static Result<Rollup> decode(std::string_view in);

  bool operator==(const Rollup&) const = default;
};

// The value a result contributes to rollups, in µs (see above).
std::optional<uint64_t> rollup_value_us(const ProbeResult& r);

}  // namespace mutuo::store
