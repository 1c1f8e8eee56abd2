// AlertHistoryView: the dashboard's read-only window on the receiver's alert
// history (receiver/health/alert_history.h), a RocksDB it opens as a secondary
// instance, as StoreView does for the results store. The receiver may create the
// history after the dashboard starts, so it is opened lazily on first use and
// retried at most once per `open_retry`; a thread of its own catches up with the
// primary every `catch_up_interval` while it is in use (SecondaryOpener).
//
// Threading: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dashboard/secondary_opener.h"
#include "receiver/health/alert_history.h"

namespace mutuo::dashboard {

class AlertHistoryView {
 public:
  // The secondary instance reads through `block_cache` (null: a cache of its
  // own, common/store_families.h).
  AlertHistoryView(std::string primary_dir, std::string secondary_dir,
                   std::shared_ptr<rocksdb::Cache> block_cache = nullptr,
                   std::chrono::milliseconds open_retry = std::chrono::seconds(1),
                   std::chrono::milliseconds catch_up_interval = std::chrono::milliseconds(500));

  // Newest first (HistoryQuery), fresh to within `catch_up_interval`; nullopt
  // while the history cannot be opened.
  std::optional<std::vector<health::HistoryEntry>> query(const health::HistoryQuery& q);

  // Memtables and table readers of the open secondary instance; zero while
  // it is not open.
  store::ReaderMemory memory();

  // Catch-ups with the receiver so far, and the time they took.
  SecondaryOpener<health::AlertHistoryReader>::CatchUps catch_ups() { return opener_.catch_ups(); }

 private:
  SecondaryOpener<health::AlertHistoryReader> opener_;
};

}  // namespace mutuo::dashboard
