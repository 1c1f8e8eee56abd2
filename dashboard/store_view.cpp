#include "dashboard/store_view.h"

namespace mutuo::dashboard {

StoreView::StoreView(std::string primary_dir, std::string secondary_dir,
                     std::shared_ptr<rocksdb::Cache> block_cache,
                     std::chrono::milliseconds open_retry,
                     std::chrono::milliseconds catch_up_interval)
    : opener_("store", std::move(primary_dir), std::move(secondary_dir), std::move(block_cache),
              open_retry, catch_up_interval) {}

StoreView::Snapshot StoreView::latest() {
  auto reader = opener_.fresh();
  if (!reader) return {};
  return {true, reader->latest()};
}

std::optional<store::SeriesData> StoreView::series(const store::SeriesId& series, int64_t from_ms,
                                                   int64_t to_ms, std::size_t max_points) {
  auto reader = opener_.fresh();
  if (!reader) return std::nullopt;
  return reader->series(series, from_ms, to_ms, max_points);
}

std::vector<std::optional<double>> StoreView::minute_medians(
    const std::vector<store::StoredResult>& results, int64_t now_ms,
    std::chrono::milliseconds reread) {
  // A minute's rollup may still grow until its last results arrived: rounds
  // are stored when they end, a batch may wait a few seconds.
  constexpr int64_t kSettleMs = 15'000;
  std::vector<std::optional<double>> out(results.size());
  auto reader = opener_.fresh();
  if (!reader) return out;
  std::lock_guard lock(medians_mu_);
  std::unordered_map<std::string, Median> kept;
  kept.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const store::StoredResult& r = results[i];
    const int64_t bucket = store::bucket_start(store::Tier::kMinute, r.result.ts_ms);
    std::string key = store::series_key(r.series);
    Median m;
    if (auto it = medians_.find(key); it != medians_.end()) m = it->second;
    const bool settled_read = m.read_ms >= bucket + store::kMinuteMs + kSettleMs;
    if (m.bucket_ms != bucket || (!settled_read && now_ms - m.read_ms >= reread.count())) {
      auto points = reader->rollups(r.series, store::Tier::kMinute, bucket, bucket + 1, 1);
      m = {bucket, now_ms,
           points.empty() || points[0].ts_ms != bucket ? std::nullopt : points[0].p50_ms};
    }
    out[i] = m.p50;
    kept.emplace(std::move(key), m);
  }
  medians_ = std::move(kept);  // series no longer asked for are forgotten
  return out;
}

store::ReaderMemory StoreView::memory() { return opener_.memory(); }

}  // namespace mutuo::dashboard
