// SecondaryOpener: the secondary instance is opened on first use and kept
// caught up by a thread of its own while it is in use, so requests do not
// replay the primary's WAL; an idle opener does nothing until used again. With
// a reader that records who catches up (dashboard_matrix_test reads a real
// receiver store through it).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "dashboard/secondary_opener.h"

using mutuo::dashboard::SecondaryOpener;
using namespace std::chrono_literals;

namespace {

// Which threads caught up, and whether opening may succeed yet.
struct ReaderLog {
  std::mutex mu;
  bool available = true;
  int opens = 0;
  std::vector<std::thread::id> catch_ups;

  std::size_t count() {
    std::lock_guard lock(mu);
    return catch_ups.size();
  }
};
ReaderLog* g_log = nullptr;

struct RecordingReader {
  static mutuo::Result<std::unique_ptr<RecordingReader>> open(const std::string&,
                                                              const std::string&,
                                                              std::shared_ptr<rocksdb::Cache>) {
    std::lock_guard lock(g_log->mu);
    if (!g_log->available) return mutuo::Error{"no such database"};
    ++g_log->opens;
    return std::make_unique<RecordingReader>();
  }
  void catch_up() {
    std::lock_guard lock(g_log->mu);
    g_log->catch_ups.push_back(std::this_thread::get_id());
  }
};

// Polls `done` every 10 ms for at most `limit`.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

}  // namespace

TEST_CASE("secondary opener: opened on first use, then caught up off the caller's thread") {
  ReaderLog log;
  g_log = &log;
  {
    SecondaryOpener<RecordingReader> opener("test db", "/primary", "/secondary", nullptr, 10ms,
                                            20ms, 60s);
    std::this_thread::sleep_for(100ms);
    CHECK(log.opens == 0);  // nobody asked yet: not opened, no thread work
    CHECK(log.count() == 0);

    REQUIRE(opener.fresh() != nullptr);
    CHECK(log.opens == 1);
    // In use: the thread catches up every interval, and never on this thread.
    REQUIRE(eventually([&] { return log.count() >= 3; }));
    for (int i = 0; i < 20; ++i) {
      REQUIRE(opener.fresh() != nullptr);
      std::this_thread::sleep_for(5ms);
    }
    const auto stats = opener.catch_ups();
    std::lock_guard lock(log.mu);
    CHECK(log.opens == 1);
    CHECK(stats.count >= 3);
    CHECK(stats.count <= log.catch_ups.size());  // more may have come since
    CHECK(stats.seconds >= 0);
    std::set<std::thread::id> who(log.catch_ups.begin(), log.catch_ups.end());
    CHECK(who.size() == 1);
    CHECK(who.count(std::this_thread::get_id()) == 0);
  }  // the destructor stops the thread
  g_log = nullptr;
}

TEST_CASE("secondary opener: idle, it does nothing; the first use after catches up itself") {
  ReaderLog log;
  g_log = &log;
  SecondaryOpener<RecordingReader> opener("test db", "/primary", "/secondary", nullptr, 10ms, 20ms,
                                          100ms);
  REQUIRE(opener.fresh() != nullptr);
  REQUIRE(eventually([&] { return log.count() >= 1; }));
  // Unused for well over idle_after: the thread goes to sleep.
  std::this_thread::sleep_for(600ms);
  const std::size_t resting = log.count();
  std::this_thread::sleep_for(300ms);
  CHECK(log.count() == resting);

  // The first call after the idle spell catches up on the caller's thread
  // before returning (what it reads is fresh), and wakes the thread again.
  REQUIRE(opener.fresh() != nullptr);
  {
    std::lock_guard lock(log.mu);
    REQUIRE(log.catch_ups.size() == resting + 1);
    CHECK(log.catch_ups.back() == std::this_thread::get_id());
  }
  CHECK(eventually([&] { return log.count() >= resting + 3; }));
  g_log = nullptr;
}

TEST_CASE("secondary opener: a database that does not exist yet is retried, not fatal") {
  ReaderLog log;
  log.available = false;
  g_log = &log;
  SecondaryOpener<RecordingReader> opener("test db", "/primary", "/secondary", nullptr, 50ms, 20ms,
                                          60s);
  CHECK(opener.fresh() == nullptr);
  CHECK(opener.fresh() == nullptr);  // within open_retry: not even tried again
  std::this_thread::sleep_for(100ms);
  CHECK(log.count() == 0);  // nothing to catch up with
  {
    std::lock_guard lock(log.mu);
    log.available = true;
  }
  REQUIRE(eventually([&] { return opener.fresh() != nullptr; }));
  CHECK(log.opens == 1);
  CHECK(eventually([&] { return log.count() >= 1; }));
  g_log = nullptr;
}
