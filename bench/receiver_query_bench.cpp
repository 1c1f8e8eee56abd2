// mutuo-receiver-query-bench: how fast the dashboard's queries answer through a
// secondary instance (common/store_reader.h): a 30-day chart of one series
// (results every 10 s, answered from the hour tier in 720 points) and the
// 200 x 200 mesh matrix (40,000 latest values). Side by side, the raw scan the
// rollups spare: one day of raw results of that series.
// Usage: mutuo-receiver-query-bench [dir]   (a fresh temporary directory by default)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "common/clock.h"
#include "common/store_reader.h"
#include "receiver/store_writer.h"

using namespace mutuo;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double median_ms(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

ProbeResult udp(const std::string& target, int64_t ts, double avg) {
  ProbeResult r;
  r.target = target;
  r.probe = "udp";
  r.ts_ms = ts;
  r.sent = 10;
  r.recv = 10;
  r.rtt_ms = Rtt{avg - 0.2, avg, avg + 0.9};
  r.jitter_ms = 0.3;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  auto dir = argc > 1 ? std::filesystem::path(argv[1])
                      : std::filesystem::temp_directory_path() /
                            ("mutuo-query-bench-" + std::to_string(std::random_device{}()));
  const int64_t now = now_ms() / 1000 * 1000;
  const int64_t span = 30LL * 86400000;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> us(500, 40000);
  {
    receiver::StoreWriterOptions options;
    options.sync_wal = false;                             // building the fixture, not measuring it
    options.families.retention.raw_ms = span + 86400000;  // keep all 30 days of raw too
    auto w = receiver::StoreWriter::open(dir.string(), options);
    if (!w) {
      std::fprintf(stderr, "%s\n", w.error().c_str());
      return 1;
    }
    // 30 days of one series, every 10 s: 259,200 results in batches of 360 (an hour).
    uint64_t n = 0;
    for (int64_t t = now - span; t < now;) {
      receiver::IncomingBatch b{"obs-000", n++, {}};
      for (int i = 0; i < 360 && t < now; ++i, t += 10000) {
        b.results.push_back(udp("obs-001", t, us(rng) / 1000.0));
      }
      if (!(*w)->write_batches({&b})) return 1;
    }
    // The mesh: 200 observers, each with a latest result toward 199 others.
    for (int o = 0; o < 200; ++o) {
      char id[16];
      std::snprintf(id, sizeof id, "obs-%03d", o);
      receiver::IncomingBatch b{id, n++, {}};
      for (int t = 0; t < 200; ++t) {
        if (t == o) continue;
        char target[16];
        std::snprintf(target, sizeof target, "obs-%03d", t);
        b.results.push_back(udp(target, now - 5000, us(rng) / 1000.0));
      }
      if (!(*w)->write_batches({&b})) return 1;
    }
    if (!(*w)->compact()) return 1;
  }
  auto reader = store::StoreReader::open(dir.string(), (dir / "secondary").string());
  if (!reader) {
    std::fprintf(stderr, "%s\n", reader.error().c_str());
    return 1;
  }
  store::SeriesId s{"obs-000", TargetKind::kPeer, "obs-001", "udp"};
  std::size_t points = 0, cells = 0, raw = 0;
  double chart =
      median_ms(20, [&] { points = (*reader)->series(s, now - span, now, 720).points.size(); });
  double matrix = median_ms(20, [&] { cells = (*reader)->matrix("udp").size(); });
  double day_raw =
      median_ms(5, [&] { raw = (*reader)->range(s, now - 86400000, now, 1 << 20).size(); });
  reader = Error{"closed"};
  std::filesystem::remove_all(dir);

  std::printf("query bench (secondary instance, median):\n");
  std::printf("  30-day series, %zu points (hour tier):      %8.2f ms\n", points, chart);
  std::printf("  200x200 matrix, %zu cells:                %8.2f ms\n", cells, matrix);
  std::printf("  baseline: 1 day of raw results, %zu rows:  %8.2f ms\n", raw, day_raw);
  return 0;
}
