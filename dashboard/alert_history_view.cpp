#include "dashboard/alert_history_view.h"

#include <spdlog/spdlog.h>

namespace mutuo::dashboard {

AlertHistoryView::AlertHistoryView(std::string primary_dir, std::string secondary_dir,
                                   std::chrono::milliseconds open_retry,
                                   std::chrono::milliseconds catch_up_interval)
    : primary_dir_(std::move(primary_dir)),
      secondary_dir_(std::move(secondary_dir)),
      open_retry_(open_retry),
      catch_up_interval_(catch_up_interval) {}

std::shared_ptr<health::AlertHistoryReader> AlertHistoryView::fresh_reader() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (!reader_) {
    bool first_attempt = last_open_attempt_ == std::chrono::steady_clock::time_point{};
    if (!first_attempt && now - last_open_attempt_ < open_retry_) return nullptr;
    last_open_attempt_ = now;
    auto opened = health::AlertHistoryReader::open(primary_dir_, secondary_dir_);
    if (!opened) {
      // Expected until the receiver has created it: say so once, then quietly.
      if (!open_failure_logged_) {
        spdlog::warn("alert history not available yet, retrying on demand: {}", opened.error());
        open_failure_logged_ = true;
      }
      return nullptr;
    }
    reader_ = std::move(opened).value();
    last_catch_up_ = now;
    spdlog::info("opened the alert history {} as a secondary in {}", primary_dir_,
                 secondary_dir_);
    return reader_;
  }
  if (now - last_catch_up_ >= catch_up_interval_) {
    if (auto caught = reader_->catch_up(); !caught) {
      spdlog::debug("alert history catch-up: {}", caught.error());
    }
    last_catch_up_ = now;
  }
  return reader_;
}

std::optional<std::vector<health::HistoryEntry>> AlertHistoryView::query(
    const health::HistoryQuery& q) {
  auto reader = fresh_reader();
  if (!reader) return std::nullopt;
  return reader->query(q);
}

}  // namespace mutuo::dashboard
