// mutuo-dashboard-bench-fill: builds the receiver store that bench/dashboard_bench.py
// serves through the dashboard: a full mesh of N peers (N x (N-1) pairs, each with
// a latest UDP result) and `--series` pairs with `--days` days of results every
// 10 s (so their minute and hour rollups span the whole range), through the
// receiver's own StoreWriter. Prints one JSON line: what it wrote.
#include <cstdio>
#include <random>

#include "common/cli.h"
#include "common/clock.h"
#include "receiver/store_writer.h"

using namespace mutuo;

namespace {

std::string peer_id(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "peer-%03d", i);
  return id;
}

ProbeResult udp(const std::string& target, int64_t ts, double avg, uint32_t recv) {
  ProbeResult r;
  r.target = target;
  r.probe = "udp";
  r.ts_ms = ts;
  r.sent = 10;
  r.recv = recv;
  if (recv > 0) r.rtt_ms = Rtt{avg * 0.8, avg, avg * 1.6};
  r.jitter_ms = avg * 0.05;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  mutuo::cli::Command app{
      "mutuo-dashboard-bench-fill: a receiver store for the dashboard benchmark"};
  std::string dir;
  int peers = 200, days = 30, series = 2;
  app.option("--store", dir, "the store directory to create").required();
  app.option("--peers", peers, "mesh size").show_default();
  app.option("--days", days, "history of the charted pairs").show_default();
  app.option("--series", series, "how many pairs get the full history").show_default();
  if (auto exit = app.parse(argc, argv)) return *exit;

  const int64_t now = now_ms() / 1000 * 1000;
  const int64_t span = days * 86400000LL;
  std::mt19937 rng(7);
  std::lognormal_distribution<double> rtt(1.5, 0.9);
  std::uniform_int_distribution<int> lossy(0, 99);
  receiver::StoreWriterOptions options;
  options.sync_wal = false;  // building a fixture
  options.families.retention.raw_ms = span + 86400000LL;
  auto w = receiver::StoreWriter::open(dir, options);
  if (!w) {
    std::fprintf(stderr, "%s\n", w.error().c_str());
    return 1;
  }
  uint64_t batch = 0, results = 0;
  for (int s = 0; s < series; ++s) {
    std::string observer = peer_id(0), target = peer_id(s + 1);
    double base = 2.0 + 3.0 * s;
    for (int64_t t = now - span; t < now;) {
      receiver::IncomingBatch b{observer, batch++, {}};
      for (int i = 0; i < 360 && t < now; ++i, t += 10000) {
        b.results.push_back(udp(target, t, base + rtt(rng) * 0.1, lossy(rng) == 0 ? 8 : 10));
      }
      results += b.results.size();
      if (!(*w)->write_batches({&b})) return 1;
    }
  }
  for (int o = 0; o < peers; ++o) {
    receiver::IncomingBatch b{peer_id(o), batch++, {}};
    for (int t = 0; t < peers; ++t) {
      if (t == o) continue;
      uint32_t recv = lossy(rng) < 2 ? 0 : lossy(rng) < 5 ? 7 : 10;
      b.results.push_back(udp(peer_id(t), now - 5000, rtt(rng), recv));
    }
    results += b.results.size();
    if (!(*w)->write_batches({&b})) return 1;
  }
  if (!(*w)->compact()) return 1;
  std::printf(
      "{\"peers\":%d,\"pairs\":%d,\"days\":%d,\"series\":%d,\"results\":%llu,\"now\":%lld}\n",
      peers, peers * (peers - 1), days, series, static_cast<unsigned long long>(results),
      static_cast<long long>(now));
  return 0;
}
