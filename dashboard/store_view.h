// StoreView: the dashboard's window on the receiver's RocksDB, opened as a
// secondary instance. The receiver may create its store after the dashboard
// starts, so the store is opened lazily on first use and retried at most once per
// `open_retry`; until it opens, the view is empty rather than an error. A thread
// of its own catches up with the primary every `catch_up_interval` while the view
// is in use, so a request waits for one only after an idle minute (SecondaryOpener).
//
// Threading: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/store_reader.h"
#include "dashboard/secondary_opener.h"

namespace mutuo::dashboard {

class StoreView {
 public:
  struct Snapshot {
    bool available = false;  // false while the store cannot be opened
    std::vector<store::StoredResult> latest;
  };

  // The secondary instance reads through `block_cache` (null: a cache of its
  // own, common/store_families.h).
  StoreView(std::string primary_dir, std::string secondary_dir,
            std::shared_ptr<rocksdb::Cache> block_cache = nullptr,
            std::chrono::milliseconds open_retry = std::chrono::seconds(1),
            std::chrono::milliseconds catch_up_interval = std::chrono::milliseconds(500));

  // The newest result of every series (all probes), fresh to within
  // `catch_up_interval`.
  Snapshot latest();

  // A chart of one series over [from_ms, to_ms) in at most max_points points,
  // from the finest rollup tier that fits (StoreReader::series); nullopt while
  // the store is unavailable.
  std::optional<store::SeriesData> series(const store::SeriesId& series, int64_t from_ms,
                                          int64_t to_ms, std::size_t max_points);

  // For each of `results` (the matrix's newest results), the median (p50) of its
  // series' minute rollup holding its ts: the median of the round averages of
  // that minute, which the receiver merges in as results arrive. nullopt where
  // there is no such rollup yet (or no RTT in it), and for all while the store
  // is unavailable. A bucket is read again at most every `reread` while it may
  // still change (until a few seconds after its minute ended), then kept: a
  // steady mesh costs a few reads per pair per minute, not one per rebuild.
  // `now_ms` is wall-clock time (bucket ends are compared with it).
  std::vector<std::optional<double>> minute_medians(
      const std::vector<store::StoredResult>& results, int64_t now_ms,
      std::chrono::milliseconds reread = std::chrono::seconds(10));

  // Memtables and table readers of the open secondary instance; zero while
  // it is not open.
  store::ReaderMemory memory();

  // Catch-ups with the receiver so far, and the time they took.
  SecondaryOpener<store::StoreReader>::CatchUps catch_ups() { return opener_.catch_ups(); }

 private:
  SecondaryOpener<store::StoreReader> opener_;

  // minute_medians()'s memory, by series key: one bucket per series.
  struct Median {
    int64_t bucket_ms = 0;
    int64_t read_ms = 0;  // wall clock of the read
    std::optional<double> p50;
  };
  std::mutex medians_mu_;                            // one minute_medians() at a time
  std::unordered_map<std::string, Median> medians_;  // guarded by medians_mu_
};

}  // namespace mutuo::dashboard
