// MatrixCache: the GET /api/matrix answers (full and compact), each built once
// and shared by every request until the data changes (CachedAnswer: JSON, gzip,
// ETag). A 200-agent matrix is 40,000 cells: building one takes 0.1 to 0.5 s,
// sending one is a shared pointer's copy.
//
// Two ways to keep it fresh:
//  - with start_refresher() (the dashboard): a background thread rebuilds the
//    forms asked for in the last minute when the data changed (data_version),
//    and every kMaxAge anyway, no sooner than kMinInterval nor than a few times
//    the last build's duration after the previous build; requests never build
//    (except the very first of a form, or one asked again after an idle minute)
//    and never wait for a build: the new answer replaces the old one atomically.
//  - without it (tests): a request finding its form stale rebuilds it, while
//    requests arriving meanwhile get the previous answer.
// An answer is "stale" when it is at least kMinInterval old and either the data
// version moved or it is kMaxAge old.
//
// Threading: get() from any thread; start_refresher() once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dashboard/cached_answer.h"
#include "dashboard/presence_table.h"
#include "dashboard/store_view.h"

namespace mutuo::dashboard {

class MatrixCache {
 public:
  static constexpr int64_t kMinIntervalMs = 1000;
  static constexpr int64_t kMaxAgeMs = 30000;
  // A form nobody asked for in this long is no longer rebuilt in the background.
  static constexpr int64_t kIdleMs = 60000;

  struct Sources {
    const PresenceTable* presence = nullptr;     // REQUIRES: non-null, outlives the cache
    std::function<StoreView::Snapshot()> store;  // the store's newest results
    // Bumped whenever results or presence change; null: rebuilt every kMinInterval.
    std::function<uint64_t()> data_version{};
    std::function<int64_t()> now_ms;  // wall clock, ms since the Unix epoch
    // Minute medians parallel to the given matrix results
    // (StoreView::minute_medians); null: p50 is null everywhere.
    std::function<std::vector<std::optional<double>>(const std::vector<store::StoredResult>&)>
        medians{};
    int gzip_level = 6;  // builds are off the request path once the refresher runs
  };

  explicit MatrixCache(Sources sources);
  ~MatrixCache();  // stops the refresher
  MatrixCache(const MatrixCache&) = delete;
  MatrixCache& operator=(const MatrixCache&) = delete;

  // The current answer of one form (see above).
  std::shared_ptr<const CachedAnswer> get(bool compact);

  // Starts the background refresher (see above). Call at most once.
  void start_refresher();

  // Builds counted since start (tests and the log).
  uint64_t builds() const;

 private:
  struct Form {
    std::shared_ptr<const CachedAnswer> answer;  // guarded by mu_
    uint64_t version = 0;                        // data version of answer; guarded by mu_
    int64_t last_asked_ms = 0;                   // guarded by mu_
  };
  bool stale(const Form& form, int64_t now, uint64_t version) const;  // REQUIRES: mu_ held
  uint64_t version() const;
  // Builds the forms whose flag is set from one store snapshot and publishes them.
  // REQUIRES: build_mu_ held.
  void build(bool full, bool compact);
  void refresher_loop();

  const Sources sources_;
  mutable std::mutex mu_;
  Form forms_[2];                 // [0] full, [1] compact; guarded by mu_
  int64_t next_build_ms_ = 0;     // earliest background build; guarded by mu_
  uint64_t builds_ = 0;           // guarded by mu_
  std::mutex build_mu_;           // held by whoever builds
  std::condition_variable wake_;  // with mu_: stop, or a form asked for the first time
  bool stop_ = false;             // guarded by mu_
  bool refreshing_ = false;       // the refresher runs; guarded by mu_
  std::thread refresher_;
};

}  // namespace mutuo::dashboard
