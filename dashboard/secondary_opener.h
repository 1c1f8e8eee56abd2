// SecondaryOpener: the dashboard's lazily opened, periodically refreshed
// secondary instance of a RocksDB the receiver writes (the results store for
// StoreView, the alert history for AlertHistoryView). The receiver may create
// the database after the dashboard starts, so it is opened on first use and
// retried at most once per `open_retry`; it catches up with the primary at most
// once per `catch_up_interval`, so a burst of requests costs one catch-up.
//
// Reader must have `static Result<std::unique_ptr<Reader>> open(primary,
// secondary, block_cache)` and `catch_up()` (returning void or a Result).
//
// Threading: fresh() may be called from any thread; the reader it returns is
// shared, so a request keeps reading while another one catches up.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

namespace rocksdb {
class Cache;
}  // namespace rocksdb

namespace mutuo::dashboard {

template <class Reader>
class SecondaryOpener {
 public:
  // `what` names the database in log lines ("store", "alert history").
  // The reader reads through `block_cache` (null: a cache of its own).
  SecondaryOpener(std::string what, std::string primary_dir, std::string secondary_dir,
                  std::shared_ptr<rocksdb::Cache> block_cache, std::chrono::milliseconds open_retry,
                  std::chrono::milliseconds catch_up_interval)
      : what_(std::move(what)),
        primary_dir_(std::move(primary_dir)),
        secondary_dir_(std::move(secondary_dir)),
        block_cache_(std::move(block_cache)),
        open_retry_(open_retry),
        catch_up_interval_(catch_up_interval) {}

  // Opens the database if due and needed, catches up if due, and returns the
  // reader (null while the database is unavailable).
  std::shared_ptr<Reader> fresh() {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!reader_) {
      bool first_attempt = last_open_attempt_ == std::chrono::steady_clock::time_point{};
      if (!first_attempt && now - last_open_attempt_ < open_retry_) return nullptr;
      last_open_attempt_ = now;
      auto opened = Reader::open(primary_dir_, secondary_dir_, block_cache_);
      if (!opened) {
        // Expected until the receiver has created it: say so once, then quietly.
        if (!open_failure_logged_) {
          spdlog::warn("{} not available yet, retrying on demand: {}", what_, opened.error());
          open_failure_logged_ = true;
        } else {
          spdlog::debug("{} still not available: {}", what_, opened.error());
        }
        return nullptr;
      }
      reader_ = std::move(opened).value();
      last_catch_up_ = now;  // opening reads the primary's current state
      spdlog::info("opened the {} {} as a secondary in {}", what_, primary_dir_, secondary_dir_);
      return reader_;
    }
    if (now - last_catch_up_ >= catch_up_interval_) {
      if constexpr (std::is_void_v<decltype(reader_->catch_up())>) {
        reader_->catch_up();
      } else if (auto caught = reader_->catch_up(); !caught) {
        spdlog::debug("{} catch-up: {}", what_, caught.error());
      }
      last_catch_up_ = now;
    }
    return reader_;
  }

  // The reader's memory (Reader::memory()) as it is, without opening or
  // catching up; zero while it is not open.
  auto memory() {
    std::shared_ptr<Reader> reader;
    {
      std::lock_guard lock(mu_);
      reader = reader_;
    }
    return reader ? reader->memory() : decltype(reader->memory()){};
  }

 private:
  const std::string what_;
  const std::string primary_dir_;
  const std::string secondary_dir_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  const std::chrono::milliseconds open_retry_;
  const std::chrono::milliseconds catch_up_interval_;

  std::mutex mu_;
  std::shared_ptr<Reader> reader_;                             // guarded by mu_
  std::chrono::steady_clock::time_point last_open_attempt_{};  // guarded by mu_
  std::chrono::steady_clock::time_point last_catch_up_{};      // guarded by mu_
  bool open_failure_logged_ = false;                           // guarded by mu_
};

}  // namespace mutuo::dashboard
