// mutuo-store-compaction-rss: resident memory of a store's writer (and of a
// secondary reading it, as the dashboard does) over rounds of writes and
// compactions, with no MQTT and no HTTP. Each round writes one minute of
// results (--observers x --targets series, a result every 10 s) through the
// receiver's StoreWriter and ledger, compacts every column family, and with
// --reader has a StoreReader catch up and read the latest values and one
// series. Prints a line per round: RSS, anonymous RSS, malloc's in-use and
// free bytes, the block caches' usage (--cache-mb each) and the table files.
// With --automatic there is no compaction by hand: RocksDB flushes and
// compacts on its own threads and the reader follows on a thread of its own,
// as in the receiver and the dashboard. Tells a leak (in-use grows beyond the
// caches) from pages freed memory leaves resident (RSS grows, in-use does
// not) (docs/hardening.md, "Soak run").
#include <rocksdb/cache.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "common/cli.h"
#include "common/clock.h"
#include "common/process.h"
#include "common/store_reader.h"
#include "receiver/store_writer.h"

using namespace mutuo;

namespace {

double status_mib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size())) / 1024;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cap_malloc_arenas(2);
  keep_large_allocations_mapped();
  cli::Command app{
      "mutuo-store-compaction-rss: a store's memory over rounds of writes and "
      "compactions"};
  std::string dir;
  int rounds = 60, observers = 200, targets = 16;
  bool reader_too = false, trim = false, automatic = false;
  double cache_mb = 8;
  int pause_ms = 200, write_buffer_mb = 16;
  app.option("--store", dir, "the store directory to create").required();
  app.option("--rounds", rounds, "rounds of one minute of results and a compaction")
      .show_default()
      .range(1, 100000);
  app.option("--observers", observers).show_default().range(1, 100000);
  app.option("--targets", targets, "series per observer").show_default().range(1, 10000);
  app.option("--cache-mb", cache_mb, "block cache of the writer, and of the reader")
      .show_default()
      .range(0.0, 4096.0);
  app.flag("--reader", reader_too, "also a secondary that catches up and reads each round");
  app.flag("--automatic", automatic,
           "no compaction by hand: RocksDB flushes and compacts on its own threads as the "
           "receiver's does, the reader catches up on a thread of its own every 0.5 s as the "
           "dashboard's does, and each 10 s of results is followed by --pause-ms");
  app.option("--pause-ms", pause_ms).show_default().range(0, 60000);
  app.option("--write-buffer-mb", write_buffer_mb, "with --automatic")
      .show_default()
      .range(1, 4096);
  app.flag("--trim", trim, "give free memory back to the system after each round");
  if (auto exit = app.parse(argc, argv)) return *exit;

  const auto cache_bytes = static_cast<std::size_t>(cache_mb * (1 << 20));
  auto writer_cache = rocksdb::NewLRUCache(cache_bytes);
  auto reader_cache = rocksdb::NewLRUCache(cache_bytes);
  receiver::StoreWriterOptions options;
  options.sync_wal = false;  // memory, not durability, is measured
  options.families.block_cache = writer_cache;
  if (automatic) options.write_buffer_bytes = static_cast<std::size_t>(write_buffer_mb) << 20;
  auto writer = receiver::StoreWriter::open(dir, options);
  if (!writer) {
    std::fprintf(stderr, "%s\n", writer.error().c_str());
    return 1;
  }
  std::unique_ptr<store::StoreReader> reader;
  if (reader_too) {
    auto r = store::StoreReader::open(dir, dir + ".secondary", reader_cache);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().c_str());
      return 1;
    }
    reader = std::move(r).value();
  }
  std::jthread follower;  // declared after the reader: stopped and joined before it closes
  if (reader && automatic) {
    follower = std::jthread([&](std::stop_token stop) {
      for (int i = 0; !stop.stop_requested(); ++i) {
        reader->catch_up();
        if (i % 2 == 0) (void)reader->latest();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    });
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> rtt(0.3, 40.0);
  int64_t ts = automatic ? now_ms() - 3600000 : now_ms() - int64_t{rounds} * 60000;
  uint64_t batch = 0;
  std::printf("round  rss_mib  anon_mib  in_use_mib  free_mib  caches_mib  tables\n");
  for (int round = 1; round <= rounds; ++round) {
    for (int step = 0; step < 6; ++step, ts += 10000) {  // a minute: a result every 10 s
      std::vector<receiver::IncomingBatch> batches;
      batches.reserve(static_cast<std::size_t>(observers));
      for (int o = 0; o < observers; ++o) {
        receiver::IncomingBatch b{"load-" + std::to_string(o), ++batch, {}};
        for (int t = 0; t < targets; ++t) {
          ProbeResult r;
          r.target = "t" + std::to_string(t);
          r.probe = "udp";
          r.ts_ms = ts;
          r.sent = 10;
          r.recv = 10;
          const double avg = rtt(rng);
          r.rtt_ms = Rtt{avg - 0.1, avg, avg + 0.5};
          r.jitter_ms = 0.2;
          b.results.push_back(std::move(r));
        }
        batches.push_back(std::move(b));
      }
      std::vector<const receiver::IncomingBatch*> ptrs;
      for (const auto& b : batches) ptrs.push_back(&b);
      if (auto w = (*writer)->write_batches(ptrs); !w) {
        std::fprintf(stderr, "write: %s\n", w.error().c_str());
        return 1;
      }
      if (automatic) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    }
    if (!automatic) {  // else RocksDB flushes and compacts by itself
      if (auto c = (*writer)->compact(); !c) {
        std::fprintf(stderr, "compact: %s\n", c.error().c_str());
        return 1;
      }
    }
    if (reader && !automatic) {
      reader->catch_up();
      (void)reader->latest();
      store::SeriesId id{"load-0", TargetKind::kPeer, "t" + std::to_string(round % targets), "udp"};
      (void)reader->series(id, ts - 86400000, ts, 720);
    }
    if (trim) release_free_memory();
    const MallocStats m = malloc_stats();
    const auto caches = writer_cache->GetUsage() + (reader ? reader_cache->GetUsage() : 0);
    int tables = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      tables += e.path().extension() == ".sst";
    std::printf("%5d  %7.2f  %8.2f  %10.2f  %8.2f  %10.2f  %6d\n", round, status_mib("VmRSS"),
                status_mib("RssAnon"), static_cast<double>(m.in_use) / (1 << 20),
                static_cast<double>(m.free_held) / (1 << 20),
                static_cast<double>(caches) / (1 << 20), tables);
    std::fflush(stdout);
  }
  return 0;
}
