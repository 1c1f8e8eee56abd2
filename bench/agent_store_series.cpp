// mutuo-agent-store-series: prints the raw results of one series from a
// receiver store (read as a RocksDB secondary, so the receiver may keep
// running) as one JSON array, oldest first. Used by the agent's delivery tests
// (tests/integration/test_agent_outage_*.py) to check that every round is in the
// store exactly once.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/store_reader.h"

using namespace mutuo;

int main(int argc, char** argv) {
  CLI::App app{"mutuo-agent-store-series: one series' raw results from a receiver store, as JSON"};
  std::string dir, secondary, observer, target, kind = "peer", probe = "udp";
  int64_t from_ms = 0, to_ms = int64_t{1} << 53;
  app.add_option("--store", dir, "the receiver's store")->required();
  app.add_option("--secondary", secondary, "a directory for the secondary instance's files")
      ->required();
  app.add_option("--observer", observer)->required();
  app.add_option("--target", target)->required();
  app.add_option("--kind", kind, "peer or check")->capture_default_str();
  app.add_option("--probe", probe)->capture_default_str();
  app.add_option("--from-ms", from_ms);
  app.add_option("--to-ms", to_ms);
  CLI11_PARSE(app, argc, argv);

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
