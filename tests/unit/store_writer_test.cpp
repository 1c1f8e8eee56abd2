// The receiver's store on a real RocksDB on disk, read back through the
// dashboard's secondary-instance reader.
#include "receiver/store_writer.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include "common/store_disk.h"
#include "common/store_encoding.h"
#include "common/store_families.h"
#include "common/store_reader.h"
#include "tests/unit/test_support.h"

using namespace mutuo;

using mutuo::test::TempDir;

namespace {
// The program's log (spdlog's default logger) captured while in scope, each
// line as "LEVEL message"; the previous logger is back at the end of scope.
struct LogCapture {
  LogCapture() {
    auto capture = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
    capture->set_pattern("%l %v");
    capture->set_level(spdlog::level::trace);
    spdlog::set_default_logger(capture);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::ostringstream lines;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
};

ProbeResult udp(const std::string& target, int64_t ts, uint32_t recv) {
  ProbeResult r;
  r.target = target;
  r.probe = "udp";
  r.ts_ms = ts;
  r.sent = 10;
  r.recv = recv;
  if (recv) r.rtt_ms = Rtt{1, 2, 3};
  return r;
}
}  // namespace

TEST_CASE("written results are readable by a secondary instance; rewrites are idempotent") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);

  REQUIRE((*writer)->write("a", {udp("b", 1000, 10), udp("c", 1000, 0)}));
  REQUIRE((*writer)->write("a", {udp("b", 2000, 9)}));
  REQUIRE((*writer)->write("a", {udp("b", 2000, 9)}));  // a redelivery
  (*reader)->catch_up();

  auto latest = (*reader)->latest("udp");
  REQUIRE(latest.size() == 2);
  CHECK(latest[0].series.target == "b");
  CHECK(latest[0].result.ts_ms == 2000);
  CHECK(*latest[0].result.recv == 9);
  CHECK(*latest[1].result.loss() == 1.0);

  store::SeriesId ab{"a", TargetKind::kPeer, "b", "udp"};
  auto range = (*reader)->range(ab, 0, 10000, 100);
  CHECK(range.size() == 2);  // the redelivered result did not add a row
  CHECK((*reader)->range(ab, 1500, 10000, 100).size() == 1);
}

TEST_CASE("neither the store nor its secondary reader keeps a LOG file on disk") {
  // A secondary's LOG grew 7 MB in 90 minutes of a soak (a line per catch-up),
  // never rotated; RocksDB's file logger also aborts the process after a write
  // to a full disk. Both now log through the program's own log.
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  for (int i = 0; i < 20; ++i) {
    REQUIRE((*writer)->write("a", {udp("b", 1000 + i, 10)}));
    (*reader)->catch_up();
  }
  CHECK((*reader)->range({"a", TargetKind::kPeer, "b", "udp"}, 0, 10000, 100).size() == 20);
  CHECK(mutuo::test::info_log_files(dir.path / "sec").empty());
  CHECK(mutuo::test::info_log_files(dir.path / "db").empty());
}

TEST_CASE("a reader of a store not created yet says so, and RocksDB logs nothing") {
  // A dashboard started before the receiver retries every few seconds; each
  // attempt used to log RocksDB's "dir NotFound" error.
  TempDir dir;
  const std::string db = (dir.path / "db").string();
  std::string logged;
  Result<std::unique_ptr<store::StoreReader>> missing = Error{"not tried"};
  {
    LogCapture log;
    missing = store::StoreReader::open(db, (dir.path / "sec").string());
    logged = log.lines.str();
  }
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "cannot open store: no database in " + db + " yet");
  CHECK(logged.empty());

  auto writer = receiver::StoreWriter::open(db);
  REQUIRE(writer);
  CHECK(store::StoreReader::open(db, (dir.path / "sec").string()));
}

TEST_CASE("RocksDB's log lines reach the program's log at their own level") {
  LogCapture log;
  auto primary = store::forwarding_logger("db");       // warnings and errors
  auto secondary = store::secondary_logger("reader");  // errors only
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, primary, "info %d", 1);
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, primary, "warn %d", 2);
  rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, primary, "error %d", 3);
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, secondary, "warn %d", 4);
  rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, secondary, "error %d", 5);
  rocksdb::Header(primary, "header %d", 6);
  CHECK(log.lines.str() == "warning db: warn 2\nerror db: error 3\nerror reader: error 5\n");
}

TEST_CASE("a database set up to log to the program builds no stats dumps") {
  rocksdb::Options options;  // RocksDB's default: a stats report every 10 minutes
  REQUIRE(options.stats_dump_period_sec > 0);
  store::log_to_program(options, "reader", store::Instance::kSecondary);
  CHECK(options.stats_dump_period_sec == 0);
  CHECK(options.stats_persist_period_sec == 0);
  LogCapture log;
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, options.info_log, "warn %d", 1);
  rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, options.info_log, "error %d", 2);
  CHECK(log.lines.str() == "error reader: error 2\n");
}

TEST_CASE("a late result is stored but does not replace the latest") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  REQUIRE((*writer)->write("a", {udp("b", 5000, 10)}));
  REQUIRE((*writer)->write("a", {udp("b", 4000, 0)}));
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  auto latest = (*reader)->latest();
  REQUIRE(latest.size() == 1);
  CHECK(latest[0].result.ts_ms == 5000);
  store::SeriesId ab{"a", TargetKind::kPeer, "b", "udp"};
  CHECK((*reader)->range(ab, 0, 10000, 100).size() == 2);
}

namespace {
constexpr int64_t kT0 = 1733320800000;  // an hour boundary
store::SeriesId kAB{"a", TargetKind::kPeer, "b", "udp"};

receiver::IncomingBatch batch_of(uint64_t n, int64_t from_ts, int results) {
  receiver::IncomingBatch b{"a", n, {}};
  for (int i = 0; i < results; ++i) {
    auto r = udp("b", from_ts + i * 10000, 10);
    r.rtt_ms = Rtt{1, 1.0 + i, 20};
    b.results.push_back(r);
  }
  return b;
}

uint64_t total_count(const std::vector<store::SeriesPoint>& points) {
  uint64_t n = 0;
  for (const auto& p : points) n += p.count;
  return n;
}
}  // namespace

TEST_CASE("a resent batch is confirmed again but counted once in the rollups") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  auto b1 = batch_of(1, kT0, 6), b2 = batch_of(2, kT0 + 60000, 6);
  auto first = (*writer)->write_batches({&b1});
  REQUIRE(first);
  CHECK((*first)[0]);
  auto again = (*writer)->write_batches({&b1, &b2, &b2});  // a resend, a new one, a duplicate
  REQUIRE(again);
  CHECK_FALSE((*again)[0]);
  CHECK((*again)[1]);
  CHECK_FALSE((*again)[2]);

  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  CHECK((*reader)->range(kAB, 0, kT0 + 3600000, 1000).size() == 12);
  auto minutes = (*reader)->rollups(kAB, store::Tier::kMinute, 0, kT0 + 3600000, 100);
  REQUIRE(minutes.size() == 2);
  CHECK(minutes[0].ts_ms == kT0);
  CHECK(minutes[0].count == 6);
  CHECK(*minutes[0].mean_ms == doctest::Approx(3.5));
  CHECK(*minutes[0].min_ms == 1.0);
  CHECK(*minutes[0].max_ms == 6.0);
  CHECK(*minutes[0].loss == 0.0);
  auto hours = (*reader)->rollups(kAB, store::Tier::kHour, 0, kT0 + 3600000, 100);
  REQUIRE(hours.size() == 1);
  CHECK(hours[0].count == 12);
}

TEST_CASE("results of one batch with the same series and time are all kept, once each") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  receiver::IncomingBatch b("a", 9,
                            {udp("b", kT0, 10), udp("c", kT0, 10), udp("b", kT0, 9),
                             udp("b", kT0 + 1000, 8), udp("b", kT0, 7)});
  receiver::prepare(&b);
  REQUIRE((*writer)->write_batches({&b}));
  receiver::IncomingBatch resent("a", 9, b.results);  // the same batch, unprepared
  auto again = (*writer)->write_batches({&resent});
  REQUIRE(again);
  CHECK_FALSE((*again)[0]);
  REQUIRE((*writer)->write("a", {udp("b", kT0, 10), udp("b", kT0, 9)}));  // same keys again

  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  auto rows = (*reader)->range(kAB, 0, kT0 + 3600000, 1000);
  REQUIRE(rows.size() == 4);
  CHECK(rows[3].ts_ms == kT0 + 1000);
  auto minutes = (*reader)->rollups(kAB, store::Tier::kMinute, 0, kT0 + 3600000, 100);
  REQUIRE(minutes.size() == 1);
  CHECK(minutes[0].count == 4 + 2);  // write() has no ledger: its rollups count again
  auto latest = (*reader)->latest("udp");
  REQUIRE(latest.size() == 2);
  CHECK(latest[0].result.ts_ms == kT0 + 1000);
}

TEST_CASE("late results merge into the buckets they belong to, not the latest") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  auto now = batch_of(10, kT0 + 7200000, 3);
  auto late = batch_of(4, kT0, 3);  // an agent flushing its buffer two hours later
  auto late2 = batch_of(5, kT0 + 30000, 2);
  REQUIRE((*writer)->write_batches({&now}));
  REQUIRE((*writer)->write_batches({&late}));
  REQUIRE((*writer)->write_batches({&late2}));
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  auto minutes = (*reader)->rollups(kAB, store::Tier::kMinute, kT0, kT0 + 60000, 100);
  REQUIRE(minutes.size() == 1);
  CHECK(minutes[0].count == 5);  // 3 from batch 4 (0, 10, 20 s), 2 from batch 5 (30, 40 s)
  auto latest = (*reader)->latest();
  REQUIRE(latest.size() == 1);
  CHECK(latest[0].result.ts_ms == kT0 + 7200000 + 20000);
}

TEST_CASE("a chart picks raw, minute or hour points by the span and the points asked for") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  // Three hours of results every 10 s: 1080 results, 180 minutes, 3 hours.
  for (uint64_t n = 0; n < 18; ++n) {
    auto b = batch_of(n, kT0 + static_cast<int64_t>(n) * 600000, 60);
    REQUIRE((*writer)->write_batches({&b}));
  }
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  const int64_t end = kT0 + 3 * 3600000;
  CHECK(store::StoreReader::tier_for(3600000, 200) == store::Tier::kRaw);
  CHECK(store::StoreReader::tier_for(30LL * 86400000, 720) == store::Tier::kHour);

  auto raw = (*reader)->series(kAB, kT0, kT0 + 1800000, 500);  // 180 results fit in 500
  CHECK(raw.tier == store::Tier::kRaw);
  CHECK(raw.points.size() == 180);

  auto minute = (*reader)->series(kAB, kT0, end, 200);  // 1080 results do not fit: minutes
  CHECK(minute.tier == store::Tier::kMinute);
  CHECK(minute.step_ms == 60000);
  CHECK(minute.points.size() == 180);
  CHECK(total_count(minute.points) == 1080);

  auto hour = (*reader)->series(kAB, kT0, end, 100);  // 180 minutes do not fit: hours
  CHECK(hour.tier == store::Tier::kHour);
  CHECK(hour.points.size() == 3);
  CHECK(total_count(hour.points) == 1080);
  // Rollups agree with the raw results they summarize.
  auto all_raw = (*reader)->range(kAB, kT0, kT0 + 3600000, 10000);
  double sum = 0;
  for (const auto& r : all_raw) sum += r.rtt_ms->avg;
  CHECK(hour.points[0].count == all_raw.size());
  CHECK(*hour.points[0].mean_ms == doctest::Approx(sum / static_cast<double>(all_raw.size())));
}

TEST_CASE("retention: after compaction old raw results are gone and their rollups remain") {
  TempDir dir;
  int64_t fake_now = kT0 + 3600000;
  receiver::StoreWriterOptions options;
  options.families.retention = {2 * 3600000, 30LL * 86400000, 365LL * 86400000};
  options.families.now_ms = [&fake_now] { return fake_now; };
  auto writer = receiver::StoreWriter::open((dir.path / "db").string(), options);
  REQUIRE(writer);
  auto old_batch = batch_of(1, kT0, 6);
  auto new_batch = batch_of(2, kT0 + 5 * 3600000, 6);
  REQUIRE((*writer)->write_batches({&old_batch, &new_batch}));
  REQUIRE((*writer)->compact());
  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  CHECK((*reader)->range(kAB, 0, kT0 + 86400000, 100).size() == 12);  // nothing old yet

  fake_now = kT0 + 4 * 3600000;  // the first batch is now 4 h old, beyond raw's 2 h
  REQUIRE((*writer)->compact());
  (*reader)->catch_up();
  auto raw = (*reader)->range(kAB, 0, kT0 + 86400000, 100);
  CHECK(raw.size() == 6);
  CHECK(raw.front().ts_ms == kT0 + 5 * 3600000);
  CHECK(total_count((*reader)->rollups(kAB, store::Tier::kMinute, 0, kT0 + 86400000, 100)) == 12);
  CHECK(total_count((*reader)->rollups(kAB, store::Tier::kHour, 0, kT0 + 86400000, 100)) == 12);

  fake_now = kT0 + 40LL * 86400000;  // beyond the minute tier's 30 days, within the hour's year
  REQUIRE((*writer)->compact());
  (*reader)->catch_up();
  CHECK((*reader)->range(kAB, 0, kT0 + 86400000, 100).empty());
  CHECK((*reader)->rollups(kAB, store::Tier::kMinute, 0, kT0 + 86400000, 100).empty());
  CHECK(total_count((*reader)->rollups(kAB, store::Tier::kHour, 0, kT0 + 86400000, 100)) == 12);
}

TEST_CASE("on disk after compaction a result takes about ten bytes") {
  TempDir dir;
  receiver::StoreWriterOptions options;
  options.families.now_ms = [] { return kT0 + 86400000; };  // the results are a day old
  auto writer = receiver::StoreWriter::open((dir.path / "db").string(), options);
  REQUIRE(writer);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> rtt(500, 40000);  // µs
  const int kPeers = 20, kRounds = 1000;
  for (int round = 0; round < kRounds; ++round) {
    receiver::IncomingBatch b{"fra-1", static_cast<uint64_t>(round), {}};
    for (int p = 0; p < kPeers; ++p) {
      auto r = udp("peer-" + std::to_string(p), kT0 + round * 10000, 10);
      double a = rtt(rng) / 1000.0;
      r.rtt_ms = Rtt{a, a + 0.2, a + 1.1};
      b.results.push_back(r);
    }
    REQUIRE((*writer)->write_batches({&b}));
  }
  REQUIRE((*writer)->compact());
  auto raw_bytes = (*writer)->property(store::kRawCf, "rocksdb.total-sst-files-size");
  REQUIRE(raw_bytes);
  double per_result = static_cast<double>(*raw_bytes) / (kPeers * kRounds);
  MESSAGE("raw bytes per result after compaction: " << per_result);
  CHECK(per_result > 1.0);  // all still there
  CHECK(per_result < 12.0);
}

TEST_CASE("pipelined writes: a write put together while an earlier one failed is refused whole") {
  TempDir dir;
  auto writer = receiver::StoreWriter::open((dir.path / "db").string());
  REQUIRE(writer);
  auto b1 = batch_of(1, kT0, 6), b2 = batch_of(2, kT0 + 60000, 6);
  // The second write is put together while the first is in flight: it counts
  // batch 1 as stored by the first.
  auto first = (*writer)->assemble({&b1});
  REQUIRE(first);
  auto second = (*writer)->assemble({&b1, &b2});
  REQUIRE(second);
  CHECK_FALSE((*second)->fresh[0]);
  CHECK((*second)->fresh[1]);
  (*writer)->set_min_free_bytes(std::numeric_limits<uint64_t>::max());  // a full disk
  auto failed = (*writer)->commit(*first.value());
  REQUIRE_FALSE(failed);
  CHECK(failed.error().find("disk full") != std::string::npos);
  (*writer)->set_min_free_bytes(0);  // space is back, but the second write relied on the first
  auto refused = (*writer)->commit(*second.value());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("earlier store write failed") != std::string::npos);

  auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
  REQUIRE(reader);
  CHECK((*reader)->range(kAB, 0, kT0 + 3600000, 1000).empty());  // nothing half-written

  auto resent = (*writer)->write_batches({&b1, &b2});  // the agents resend both
  REQUIRE(resent);
  CHECK((*resent)[0]);
  CHECK((*resent)[1]);
  (*reader)->catch_up();
  CHECK((*reader)->range(kAB, 0, kT0 + 3600000, 1000).size() == 12);
  CHECK(total_count((*reader)->rollups(kAB, store::Tier::kHour, 0, kT0 + 3600000, 100)) == 12);

  // In order, in flight: the second write skips what the first stores.
  auto b3 = batch_of(3, kT0 + 120000, 6);
  auto third = (*writer)->assemble({&b3});
  auto fourth = (*writer)->assemble({&b3});
  REQUIRE(third);
  REQUIRE(fourth);
  CHECK_FALSE((*fourth)->fresh[0]);
  REQUIRE((*writer)->commit(*third.value()));
  REQUIRE((*writer)->commit(*fourth.value()));
  (*reader)->catch_up();
  CHECK(total_count((*reader)->rollups(kAB, store::Tier::kHour, 0, kT0 + 3600000, 100)) == 18);
}

TEST_CASE("a store written in format 1 (one raw key per result) is still read and aged out") {
  TempDir dir;
  const std::string path = (dir.path / "db").string();
  int64_t fake_now = kT0 + 3600000;
  receiver::StoreWriterOptions options;
  options.families.retention = {2 * 3600000, 30LL * 86400000, 365LL * 86400000};
  options.families.now_ms = [&fake_now] { return fake_now; };
  {
    // What the previous version wrote: raw key (series, ts, seq) -> one result.
    rocksdb::DB* raw_db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DBOptions o = store::primary_db_options();
    REQUIRE(rocksdb::DB::Open(o, path, store::family_descriptors({}), &handles, &raw_db).ok());
    for (int i = 0; i < 3; ++i) {
      std::string value;
      store::encode_result(udp("b", kT0 + 1000 * i, 10 - i), value);
      REQUIRE(raw_db->Put({}, handles[store::kRawCf], store::raw_key(kAB, kT0 + 1000 * i, 0), value)
                  .ok());
    }
    for (auto* h : handles) raw_db->DestroyColumnFamilyHandle(h);
    delete raw_db;
  }
  auto writer = receiver::StoreWriter::open(path, options);
  REQUIRE(writer);
  // Format 2 in the same minute as the old keys, and the next minute.
  REQUIRE((*writer)->write("a", {udp("b", kT0 + 500, 5), udp("b", kT0 + 61000, 4)}));
  auto reader = store::StoreReader::open(path, (dir.path / "sec").string());
  REQUIRE(reader);
  auto all = (*reader)->range(kAB, 0, kT0 + 3600000, 100);
  REQUIRE(all.size() == 5);
  std::vector<int64_t> ts;
  for (const auto& r : all) ts.push_back(r.ts_ms);
  CHECK(ts == std::vector<int64_t>{kT0, kT0 + 500, kT0 + 1000, kT0 + 2000, kT0 + 61000});
  CHECK(*all[2].recv == 9);
  auto first_two = (*reader)->range(kAB, 0, kT0 + 3600000, 2);
  REQUIRE(first_two.size() == 2);
  CHECK(first_two[1].ts_ms == kT0 + 500);
  CHECK((*reader)->range(kAB, kT0 + 1000, kT0 + 61000, 100).size() == 2);

  fake_now = kT0 + 4 * 3600000;  // both forms are now older than raw's 2 h
  REQUIRE((*writer)->compact());
  auto fresh = store::StoreReader::open(path, (dir.path / "sec2").string());
  REQUIRE(fresh);
  auto left = (*fresh)->range(kAB, 0, kT0 + 3600000, 100);
  for (const auto& r : left) MESSAGE("left: " << r.ts_ms - kT0);
  CHECK(left.empty());
}
