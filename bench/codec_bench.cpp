// Prints how fast a result batch is decoded and validated by mutuo's codec,
// side by side with a bare nlohmann::json parse of the same bytes (the floor any
// JSON decoder pays), and how fast the receiver's store writes those batches.
// Usage: mutuo-codec-bench [batches] [results-per-batch]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "common/messages/results.h"
#include "common/messages/results_fast.h"
#include "receiver/store_writer.h"

using namespace mutuo;
using Clock = std::chrono::steady_clock;

namespace {

ResultBatch make_batch(uint64_t n, int per_batch, std::mt19937& rng) {
  std::uniform_real_distribution<double> rtt(0.1, 40.0);
  ResultBatch b{"fra-1", n, {}};
  for (int i = 0; i < per_batch; ++i) {
    ProbeResult r;
    r.target = "peer-" + std::to_string(i);
    r.probe = "udp";
    r.ts_ms = 1733320010000 + static_cast<int64_t>(n) * 10000;
    r.sent = 10;
    r.recv = 10;
    double a = rtt(rng);
    r.rtt_ms = Rtt{a, a + 0.5, a + 1.5};
    r.jitter_ms = 0.3;
    b.results.push_back(r);
  }
  return b;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int per_batch = argc > 2 ? std::atoi(argv[2]) : 64;
  std::mt19937 rng(42);
  std::vector<std::string> payloads;
  for (int i = 0; i < batches; ++i) payloads.push_back(encode(make_batch(i, per_batch, rng)));
  const double results = static_cast<double>(batches) * per_batch;
  std::size_t bytes = 0;
  for (const auto& p : payloads) bytes += p.size();

  auto t0 = Clock::now();
  std::size_t sink = 0;
  for (const auto& p : payloads) sink += nlohmann::json::parse(p).size();
  double parse_s = seconds_since(t0);

  t0 = Clock::now();
  std::vector<ResultBatch> decoded;
  decoded.reserve(payloads.size());
  for (const auto& p : payloads) {
    auto b = decode_results(p);
    if (!b) {
      std::fprintf(stderr, "decode failed: %s\n", b.error().c_str());
      return 1;
    }
    decoded.push_back(std::move(b).value());
  }
  double decode_s = seconds_since(t0);

  t0 = Clock::now();
  for (const auto& p : payloads) {
    ResultBatch b;
    if (!try_decode_results_fast(p, &b)) {
      std::fprintf(stderr, "fast decoder did not take a batch\n");
      return 1;
    }
    sink += b.results.size();
  }
  double fast_s = seconds_since(t0);

  // The receiver writes whatever queued up during the previous write as one
  // group; 50 batches per group is what it reaches under load.
  double prepare_s = 0;
  auto store_rate = [&](bool sync, std::size_t group) -> double {
    auto dir = std::filesystem::temp_directory_path() /
               ("mutuo-codec-bench-" + std::to_string(std::random_device{}()));
    double s = 0;
    {
      receiver::StoreWriterOptions options;
      options.sync_wal = sync;
      auto store = receiver::StoreWriter::open(dir.string(), options);
      if (!store) {
        std::fprintf(stderr, "%s\n", store.error().c_str());
        std::exit(1);
      }
      std::vector<receiver::IncomingBatch> incoming;
      for (const auto& b : decoded) incoming.push_back({b.agent, b.batch, b.results});
      // As the receiver's decoder threads do before queueing a batch for the writer.
      auto tp = Clock::now();
      for (auto& b : incoming) receiver::prepare(&b);
      prepare_s = seconds_since(tp);
      auto t = Clock::now();
      for (std::size_t i = 0; i < incoming.size(); i += group) {
        std::vector<const receiver::IncomingBatch*> g;
        for (std::size_t j = i; j < std::min(incoming.size(), i + group); ++j)
          g.push_back(&incoming[j]);
        if (!(*store)->write_batches(g)) std::exit(1);
      }
      s = seconds_since(t);
    }
    std::filesystem::remove_all(dir);
    return results / s;
  };
  const double one_sync = store_rate(true, 1), group_sync = store_rate(true, 50),
               group_nosync = store_rate(false, 50);

  std::printf("codec bench: %d batches x %d results, %.1f bytes/result as JSON (sink %zu)\n",
              batches, per_batch, static_cast<double>(bytes) / results, sink);
  std::printf("  bare JSON parse (baseline): %8.0f results/s\n", results / parse_s);
  std::printf("  decode + validate:          %8.0f results/s  (%.2fx the baseline's time)\n",
              results / decode_s, decode_s / parse_s);
  std::printf("  fast decode + validate:     %8.0f results/s  (%.2fx the baseline's time)\n",
              results / fast_s, fast_s / parse_s);
  std::printf("  prepare keys, values, rollup samples: %8.0f results/s\n", results / prepare_s);
  std::printf("  store write, 1 batch per synced write:    %8.0f results/s\n", one_sync);
  std::printf("  store write, 50 batches per synced write:  %8.0f results/s\n", group_sync);
  std::printf("  store write, 50 batches, WAL not synced:   %8.0f results/s\n", group_nosync);
  return 0;
}
