#include "dashboard/alert_history_view.h"

namespace mutuo::dashboard {

AlertHistoryView::AlertHistoryView(std::string primary_dir, std::string secondary_dir,
                                   std::shared_ptr<rocksdb::Cache> block_cache,
                                   std::chrono::milliseconds open_retry,
                                   std::chrono::milliseconds catch_up_interval)
    : opener_("alert history", std::move(primary_dir), std::move(secondary_dir),
              std::move(block_cache), open_retry, catch_up_interval) {}

std::optional<std::vector<health::HistoryEntry>> AlertHistoryView::query(
    const health::HistoryQuery& q) {
  auto reader = opener_.fresh();
  if (!reader) return std::nullopt;
  return reader->query(q);
}

store::ReaderMemory AlertHistoryView::memory() { return opener_.memory(); }

}  // namespace mutuo::dashboard
