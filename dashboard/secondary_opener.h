// SecondaryOpener: the dashboard's lazily opened, continuously refreshed
// secondary instance of a RocksDB the receiver writes (the results store for
// StoreView, the alert history for AlertHistoryView).
//
// Opening: the receiver may create the database after the dashboard starts, so
// it is opened on first use and retried at most once per `open_retry`.
//
// Catching up: replaying the primary's new WAL records can take milliseconds to
// tens of milliseconds, so no request pays for it. A thread of the opener's own
// catches up every `catch_up_interval` while the reader is in use, i.e. fresh()
// was called within `idle_after`; an idle dashboard does no work for it. The
// first call after an idle spell catches up itself, once, so what it reads is
// as fresh as ever; the thread takes over again from there.
//
// Reader must have `static Result<std::unique_ptr<Reader>> open(primary,
// secondary, block_cache)` and `catch_up()` (returning void or a Result), and
// catch_up() may run while other threads read through the same reader.
//
// Threading: fresh() and memory() may be called from any thread; the reader
// fresh() returns is shared, so requests keep reading while it catches up.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace rocksdb {
class Cache;
}  // namespace rocksdb

namespace mutuo::dashboard {

template <class Reader>
class SecondaryOpener {
 public:
  using Clock = std::chrono::steady_clock;

  // `what` names the database in log lines ("store", "alert history").
  // The reader reads through `block_cache` (null: a cache of its own).
  SecondaryOpener(std::string what, std::string primary_dir, std::string secondary_dir,
                  std::shared_ptr<rocksdb::Cache> block_cache, std::chrono::milliseconds open_retry,
                  std::chrono::milliseconds catch_up_interval,
                  std::chrono::milliseconds idle_after = std::chrono::seconds(60))
      : what_(std::move(what)),
        primary_dir_(std::move(primary_dir)),
        secondary_dir_(std::move(secondary_dir)),
        block_cache_(std::move(block_cache)),
        open_retry_(open_retry),
        catch_up_interval_(catch_up_interval),
        idle_after_(idle_after),
        catcher_([this](std::stop_token stop) { catch_up_while_used(stop); }) {}

  SecondaryOpener(const SecondaryOpener&) = delete;
  SecondaryOpener& operator=(const SecondaryOpener&) = delete;

  // The destructor stops the catch-up thread (waiting for a catch-up under way).
  ~SecondaryOpener() = default;

  // Opens the database if due and needed, catches up if the reader was idle,
  // and returns the reader (null while the database is unavailable).
  std::shared_ptr<Reader> fresh() {
    std::shared_ptr<Reader> reader;
    bool was_idle = false;
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      if (!reader_) {
        if (!open_locked(now)) return nullptr;
        last_use_ = now;
        cv_.notify_all();
        return reader_;
      }
      was_idle = now - last_use_ >= idle_after_;
      last_use_ = now;
      reader = reader_;
      if (was_idle) cv_.notify_all();
    }
    if (was_idle) catch_up(*reader);
    return reader;
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

  // Catch-ups done so far (by the thread, and by fresh() after an idle spell)
  // and the time they took: the cost of following the receiver.
  struct CatchUps {
    uint64_t count = 0;
    double seconds = 0;
  };
  CatchUps catch_ups() {
    std::lock_guard lock(catch_up_mu_);
    return catch_ups_;
  }

 private:
  // REQUIRES: mu_ held, reader_ null. True once the reader is open.
  bool open_locked(Clock::time_point now) {
    const bool first_attempt = last_open_attempt_ == Clock::time_point{};
    if (!first_attempt && now - last_open_attempt_ < open_retry_) return false;
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
      return false;
    }
    reader_ = std::move(opened).value();  // opening reads the primary's current state
    spdlog::info("opened the {} {} as a secondary in {}", what_, primary_dir_, secondary_dir_);
    return true;
  }

  // One catch-up at a time, whoever asks (the thread or fresh()).
  void catch_up(Reader& reader) {
    std::lock_guard lock(catch_up_mu_);
    const auto start = Clock::now();
    if constexpr (std::is_void_v<decltype(reader.catch_up())>) {
      reader.catch_up();
    } else if (auto caught = reader.catch_up(); !caught) {
      spdlog::debug("{} catch-up: {}", what_, caught.error());
    }
    ++catch_ups_.count;
    catch_ups_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }

  // The thread: every catch_up_interval, a catch-up while the reader is in use;
  // asleep while it is not open or idle (fresh() wakes it).
  void catch_up_while_used(std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (!stop.stop_requested()) {
      const bool in_use = reader_ && Clock::now() - last_use_ < idle_after_;
      if (!in_use) {
        cv_.wait(lock, stop, [this] { return reader_ && Clock::now() - last_use_ < idle_after_; });
        continue;
      }
      // A wake-up from fresh() does not shorten the interval.
      cv_.wait_for(lock, stop, catch_up_interval_, [] { return false; });
      if (stop.stop_requested()) break;
      std::shared_ptr<Reader> reader = reader_;
      lock.unlock();
      catch_up(*reader);
      lock.lock();
    }
  }

  const std::string what_;
  const std::string primary_dir_;
  const std::string secondary_dir_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  const std::chrono::milliseconds open_retry_;
  const std::chrono::milliseconds catch_up_interval_;
  const std::chrono::milliseconds idle_after_;

  std::mutex mu_;
  std::condition_variable_any cv_;         // reader opened, or used after an idle spell
  std::shared_ptr<Reader> reader_;         // guarded by mu_
  Clock::time_point last_open_attempt_{};  // guarded by mu_
  Clock::time_point last_use_{};           // guarded by mu_
  bool open_failure_logged_ = false;       // guarded by mu_

  std::mutex catch_up_mu_;
  CatchUps catch_ups_;  // guarded by catch_up_mu_

  std::jthread catcher_;  // last: stopped and joined before the members it uses go
};

}  // namespace mutuo::dashboard
