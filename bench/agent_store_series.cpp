// mutuo-agent-store-series: prints the raw results of one series from a
// receiver store (read as a RocksDB secondary, so the receiver may keep
// running) as one JSON array, oldest first. Used by the agent's delivery tests
// (tests/integration/test_agent_outage_*.py) to check that every round is in the
// store exactly once.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/cli.h"
#include "common/store_reader.h"

using namespace mutuo;

int main(int argc, char** argv) {
  mutuo::cli::Command app{
      "mutuo-agent-store-series: one series' raw results from a receiver store, as JSON"};
  std::string dir, secondary, observer, target, kind = "peer", probe = "udp";
  int64_t from_ms = 0, to_ms = int64_t{1} << 53;
  app.option("--store", dir, "the receiver's store").required();
  app.option("--secondary", secondary, "a directory for the secondary instance's files").required();
  app.option("--observer", observer).required();
  app.option("--target", target).required();
  app.option("--kind", kind, "peer or check").show_default();
  app.option("--probe", probe).show_default();
  app.option("--from-ms", from_ms);
  app.option("--to-ms", to_ms);
  if (auto exit = app.parse(argc, argv)) return *exit;

  auto reader = store::StoreReader::open(dir, secondary);
  if (!reader) {
    std::fprintf(stderr, "%s\n", reader.error().c_str());
    return 2;
  }
  store::SeriesId s{observer, kind == "check" ? TargetKind::kCheck : TargetKind::kPeer, target,
                    probe};
  nlohmann::json out = nlohmann::json::array();
  for (const ProbeResult& r : (*reader)->range(s, from_ms, to_ms, 1000000)) out.push_back(r);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
