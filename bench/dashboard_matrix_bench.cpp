// Prints what one build of the dashboard's full matrix answer (GET /api/matrix)
// costs for an N-agent full mesh: matrix_text, written by hand, side by side
// with the same answer built as a nlohmann::json tree of cell_json cells and
// dumped (how it was built before): time per build, heap allocations per build
// (operator new, counted here), and the bytes. The dashboard rebuilds this
// answer every second or two while results arrive; the tree's small
// allocations were what fragmented its heap in the soak (docs/hardening.md).
// Usage: mutuo-dashboard-matrix-bench [agents] [builds]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "dashboard/api_json.h"

// operator new and delete are replaced below to count allocations; gcc then
// sees free() on memory from a new-expression wherever it inlines them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace mutuo;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

std::vector<store::StoredResult> full_mesh(int agents, int64_t now_ms) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> rtt(0.1, 80.0);
  std::vector<store::StoredResult> latest;
  latest.reserve(static_cast<std::size_t>(agents) * static_cast<std::size_t>(agents - 1));
  for (int o = 0; o < agents; ++o) {
    for (int t = 0; t < agents; ++t) {
      if (o == t) continue;
      store::StoredResult r;
      r.series = {"agent-" + std::to_string(o), TargetKind::kPeer, "agent-" + std::to_string(t),
                  "udp"};
      r.result.target = r.series.target;
      r.result.probe = "udp";
      r.result.ts_ms = now_ms - 4000;
      r.result.sent = 10;
      r.result.recv = (o + t) % 17 == 0 ? 0 : 10;
      if (*r.result.recv > 0) {
        const double a = rtt(rng);
        r.result.rtt_ms = Rtt{a, a * 1.1, a * 1.4};
        r.result.jitter_ms = a / 20;
      } else {
        r.result.error = "timeout";
      }
      latest.push_back(std::move(r));
    }
  }
  return latest;
}

// The answer as it was built before matrix_text: a tree, then dump().
std::string tree_matrix(const std::vector<store::StoredResult>& latest, int64_t now_ms,
                        const std::vector<std::optional<double>>& p50) {
  std::vector<std::string> ids;
  for (const auto& r : latest) ids.push_back(r.series.observer);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  json cells = json::array();
  for (std::size_t i = 0; i < latest.size(); ++i) {
    json cell = dashboard::cell_json(latest[i].series.observer, latest[i].series.target,
                                     latest[i].result, now_ms);
    cell["p50_ms"] = p50[i] ? json(*p50[i]) : json(nullptr);
    cells.push_back(std::move(cell));
  }
  json j = {
      {"agents", ids}, {"cells", std::move(cells)}, {"now", now_ms}, {"store_available", true}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct Figures {
  double ms_per_build;
  double allocations_per_build;
  std::size_t bytes;
};

template <class Build>
Figures measure(int builds, Build&& build) {
  std::size_t bytes = build().size();  // warm-up
  const uint64_t a0 = g_allocations.load();
  const auto t0 = Clock::now();
  for (int i = 0; i < builds; ++i) bytes = build().size();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {s * 1000 / builds, static_cast<double>(g_allocations.load() - a0) / builds, bytes};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::puts("usage: mutuo-dashboard-matrix-bench [agents (200)] [builds (20)]");
    return 0;
  }
  const int agents = argc > 1 ? std::max(2, std::atoi(argv[1])) : 200;
  const int builds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 20;
  const int64_t now_ms = 1764892800000;
  const auto latest = full_mesh(agents, now_ms);
  std::vector<std::optional<double>> p50(latest.size());
  for (std::size_t i = 0; i < p50.size(); ++i) {
    if (latest[i].result.rtt_ms) p50[i] = latest[i].result.rtt_ms->avg;
  }

  const Figures text =
      measure(builds, [&] { return dashboard::matrix_text({}, latest, now_ms, true, &p50); });
  const Figures tree = measure(builds, [&] { return tree_matrix(latest, now_ms, p50); });

  std::printf("full matrix of %d agents (%zu cells), %d builds each\n", agents, latest.size(),
              builds);
  std::printf("%-34s %12s %16s %12s\n", "", "ms/build", "allocations", "bytes");
  std::printf("%-34s %12.2f %16.0f %12zu\n", "matrix_text (written by hand)", text.ms_per_build,
              text.allocations_per_build, text.bytes);
  std::printf("%-34s %12.2f %16.0f %12zu\n", "nlohmann::json tree + dump (before)",
              tree.ms_per_build, tree.allocations_per_build, tree.bytes);
  std::printf("ratio hand / tree: time %.3f, allocations %.4f\n",
              text.ms_per_build / tree.ms_per_build,
              text.allocations_per_build / tree.allocations_per_build);
  return 0;
}
