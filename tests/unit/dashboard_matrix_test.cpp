// The mesh matrix's cache and its minute medians: answers built once and shared,
// rebuilt in the background when the data changes (requests keep getting the
// previous answer meanwhile), and the median RTT of each pair's newest minute
// read from a real receiver store (the receiver's own StoreWriter, RocksDB).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "dashboard/matrix_cache.h"
#include "dashboard/store_view.h"
#include "receiver/store_writer.h"
#include "tests/unit/test_support.h"

using mutuo::dashboard::MatrixCache;
using mutuo::store::StoredResult;
using nlohmann::json;

using mutuo::test::TempDir;

namespace {

mutuo::ProbeResult udp(const std::string& target, int64_t ts, double avg) {
  mutuo::ProbeResult r;
  r.target = target;
  r.probe = "udp";
  r.ts_ms = ts;
  r.sent = 10;
  r.recv = 10;
  r.rtt_ms = mutuo::Rtt{avg * 0.5, avg, avg * 2};
  return r;
}

StoredResult stored(const std::string& o, const std::string& t, int64_t ts, double avg) {
  return {{o, mutuo::TargetKind::kPeer, t, "udp"}, udp(t, ts, avg)};
}

struct CacheFixture {
  mutuo::dashboard::PresenceTable presence;
  std::mutex mu;
  std::vector<StoredResult> latest = {stored("a", "b", 1000, 2.0)};  // guarded by mu
  std::atomic<uint64_t> version{1};
  std::atomic<int64_t> now{10000};
  std::atomic<int> snapshots{0};
  std::unique_ptr<MatrixCache> cache = std::make_unique<MatrixCache>(MatrixCache::Sources{
      .presence = &presence,
      .store =
          [this] {
            ++snapshots;
            std::lock_guard lock(mu);
            return mutuo::dashboard::StoreView::Snapshot{true, latest};
          },
      .data_version = [this] { return version.load(); },
      .now_ms = [this] { return now.load(); },
      .medians =
          [](const std::vector<StoredResult>& cells) {
            std::vector<std::optional<double>> p50;
            for (const auto& c : cells) p50.push_back(c.result.rtt_ms->avg + 0.5);
            return p50;
          },
  });
};

}  // namespace

TEST_CASE_FIXTURE(CacheFixture, "matrix cache: both forms carry the minute median") {
  json full = json::parse(cache->get(false)->body);
  REQUIRE(full["cells"].size() == 1);
  CHECK(full["cells"][0]["rtt_ms"]["avg"] == 2.0);
  CHECK(full["cells"][0]["p50_ms"] == 2.5);
  json compact = json::parse(cache->get(true)->body);
  CHECK(compact["fields"][10] == "p50");
  CHECK(compact["cells"][0][10] == 2.5);
}

TEST_CASE_FIXTURE(CacheFixture, "matrix cache: one build shared until the data changes") {
  auto first = cache->get(true);
  CHECK(cache->get(true) == first);
  now += 5000;  // older, but nothing changed
  CHECK(cache->get(true) == first);
  version = 2;  // changed, 5 s after the build: rebuilt (no refresher: on the request)
  auto after = cache->get(true);
  CHECK(after != first);
  CHECK(after->etag != first->etag);
  {
    std::lock_guard lock(mu);
    latest.push_back(stored("b", "a", 1000, 3.0));
  }
  now += 31000;  // no version change, but older than the maximum age
  CHECK(json::parse(cache->get(true)->body)["cells"].size() == 2);
}

TEST_CASE_FIXTURE(CacheFixture, "matrix cache: the refresher rebuilds off the request path") {
  auto first = cache->get(true);
  const uint64_t builds = cache->builds();
  cache->start_refresher();
  {
    std::lock_guard lock(mu);
    latest.push_back(stored("b", "a", 1000, 3.0));
  }
  version = 2;
  now += 1000;
  // Requests keep getting the answer they had until the refresher swapped in
  // the new one; they never build themselves.
  std::shared_ptr<const mutuo::dashboard::CachedAnswer> seen = first;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen == first && std::chrono::steady_clock::now() < deadline) {
    seen = cache->get(true);
    if (seen == first) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(seen != first);
  CHECK(json::parse(seen->body)["cells"].size() == 2);
  CHECK(cache->builds() == builds + 1);
  // Nothing changed since: no more builds, however often it is asked for.
  for (int i = 0; i < 20; ++i) {
    CHECK(cache->get(true) == seen);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(cache->builds() == builds + 1);
  cache.reset();  // stops the refresher
}

TEST_CASE("minute medians: the p50 of each pair's minute rollup from the receiver's store") {
  TempDir dir;
  const int64_t now = mutuo::now_ms();
  const int64_t minute = now / 60000 * 60000 - 120000;  // a whole minute, two minutes ago
  {
    auto writer = mutuo::receiver::StoreWriter::open((dir.path / "store").string(), {});
    REQUIRE(writer);
    // a -> b: five rounds in one minute, averages 1, 2, 3, 10, 50 ms: median 3.
    mutuo::receiver::IncomingBatch batch{"a", 1, {}};
    double avgs[] = {1, 2, 3, 10, 50};
    for (int i = 0; i < 5; ++i) batch.results.push_back(udp("b", minute + i * 10000, avgs[i]));
    REQUIRE((*writer)->write_batches({&batch}));
  }
  mutuo::dashboard::StoreView view((dir.path / "store").string(),
                                   (dir.path / "secondary").string());
  std::vector<StoredResult> cells = {stored("a", "b", minute + 40000, 50),
                                     stored("b", "a", minute + 40000, 4)};  // no rollup
  auto p50 = view.minute_medians(cells, now);
  REQUIRE(p50.size() == 2);
  REQUIRE(p50[0].has_value());
  // The rollup's histogram is logarithmic: the median is near 3 ms, not exact.
  CHECK(*p50[0] == doctest::Approx(3.0).epsilon(0.1));
  CHECK_FALSE(p50[1].has_value());
  // The minute has settled: asked again, the same value (kept, not read again).
  CHECK(view.minute_medians(cells, now + 60000)[0] == p50[0]);
}

TEST_CASE("store view: what the receiver writes later shows up without a request catching up") {
  TempDir dir;
  auto writer = mutuo::receiver::StoreWriter::open((dir.path / "store").string(), {});
  REQUIRE(writer);
  const int64_t ts = mutuo::now_ms() - 1000;
  mutuo::receiver::IncomingBatch first{"a", 1, {udp("b", ts, 1.5)}};
  REQUIRE((*writer)->write_batches({&first}));

  mutuo::dashboard::StoreView view((dir.path / "store").string(), (dir.path / "secondary").string(),
                                   nullptr, std::chrono::seconds(1), std::chrono::milliseconds(50));
  auto snapshot = view.latest();
  REQUIRE(snapshot.available);
  CHECK(snapshot.latest.size() == 1);

  // The primary stays open: the view's own thread replays its WAL, latest() reads.
  mutuo::receiver::IncomingBatch second{"a", 2, {udp("c", ts, 2.5)}};
  REQUIRE((*writer)->write_batches({&second}));
  bool seen = false;
  for (int i = 0; i < 500 && !seen; ++i) {
    seen = view.latest().latest.size() == 2;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(seen);
}
