// StoreReader: the query layer over the receiver's RocksDB for other processes
// (the dashboard), as a RocksDB secondary instance that catches up with the
// primary. Layout: common/store_layout.h; tiers and retention:
// common/store_families.h, common/store_rollup.h.
//
// Queries:
//   latest(probe)        the newest result of every series     (status page)
//   matrix(probe)        the newest result of every peer series of one probe,
//                        i.e. one cell per (observer, target)  (mesh matrix)
//   range(series, ...)   raw results of one series in a time range
//   rollups(series, tier, ...)  minute or hour buckets of one series
//   series(series, from, to, max_points)  a chart: the finest tier (raw, then
//                        minute, then hour) whose points over [from, to) number
//                        at most max_points; hour points are cut at max_points
//
// Threading: all methods may be called from several threads at once, including
// catch_up(). Results reflect the primary as of the last catch_up() or open().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/messages/results.h"
#include "common/result.h"
#include "common/store_families.h"
#include "common/store_layout.h"

namespace rocksdb {
class Cache;
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace mutuo::store {

struct StoredResult {
  SeriesId series;
  ProbeResult result;
};

// One point of a chart: one raw result (count 1) or one rollup bucket.
// Times in ms; loss as a fraction 0..1. Statistics are absent when no result in
// the bucket had a value (rtt or total time), e.g. every packet was lost.
struct SeriesPoint {
  int64_t ts_ms = 0;  // the result's time, or the bucket's start
  uint64_t count = 0;
  std::optional<double> min_ms, max_ms, mean_ms, p50_ms, p90_ms, p99_ms;
  std::optional<double> loss;
};

struct SeriesData {
  Tier tier = Tier::kRaw;
  int64_t step_ms = 0;              // bucket width; 0 for raw
  std::vector<SeriesPoint> points;  // oldest first
};

class StoreReader {
 public:
  // Opens `primary_dir` (the receiver's store) as a secondary instance whose own
  // files go to `secondary_dir` (created if missing). Fails when the primary has
  // never been created. Every column family reads through `block_cache`
  // (null: one of kDefaultBlockCacheBytes, common/store_families.h).
  static Result<std::unique_ptr<StoreReader>> open(
      const std::string& primary_dir, const std::string& secondary_dir,
      std::shared_ptr<rocksdb::Cache> block_cache = nullptr);
  ~StoreReader();

  // Replays what the primary wrote since the last call. Cheap when nothing changed.
  void catch_up();

  // Memtables and table readers of every column family.
  ReaderMemory memory() const;

  // The newest result of every series (optionally only `probe`), by series key order.
  std::vector<StoredResult> latest(const std::string& probe = "") const;

  // The newest result of every peer series measured with `probe`: the mesh matrix.
  std::vector<StoredResult> matrix(const std::string& probe = "udp") const;

  // Raw results of one series with from_ms <= ts < to_ms, oldest first, at most `limit`.
  std::vector<ProbeResult> range(const SeriesId& series, int64_t from_ms, int64_t to_ms,
                                 std::size_t limit) const;

  // Rollup buckets (tier kMinute or kHour) of one series whose start is in
  // [from_ms, to_ms), oldest first, at most `limit`.
  std::vector<SeriesPoint> rollups(const SeriesId& series, Tier tier, int64_t from_ms,
                                   int64_t to_ms, std::size_t limit) const;

  // A chart of one series over [from_ms, to_ms) in at most `max_points` points
  // (see above). It starts at tier_for() and goes coarser while the tier has
  // more than max_points points in the span.
  SeriesData series(const SeriesId& series, int64_t from_ms, int64_t to_ms,
                    std::size_t max_points) const;

  // The finest tier worth reading for a span and a number of points: raw when
  // span / max_points < 1 minute, minute when < 1 hour, else hour.
  static Tier tier_for(int64_t span_ms, std::size_t max_points);

 private:
  StoreReader() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by store::Family
};

}  // namespace mutuo::store
