// Replays, through the fuzz targets' bodies (tests/fuzz/fuzz_targets.h):
//   - every example of every schema (each must be accepted and round-trip),
//   - the committed seeds (tests/fuzz/seeds/<target>/),
//   - every input a fuzzer once broke on (tests/fuzz/regressions/<target>/).
// Inputs under regressions/<target>/known-failing/ still break code owned by
// another part; they are listed but only replayed when MUTUO_FUZZ_KNOWN_FAILING
// is set (docs/hardening.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/messages/status.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string run(mutuo::fuzz::Target target, const std::string& input) {
  return target(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

mutuo::fuzz::Target target_named(const std::string& name) {
  for (const auto& t : mutuo::fuzz::all_targets()) {
    if (name == t.name) return t.run;
  }
  return nullptr;
}

// Files directly in `dir` (not in subdirectories), sorted.
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("fuzz: every schema example is accepted and round-trips") {
  const std::vector<std::pair<std::string, std::string>> schemas = {
      {"status", "status"}, {"peer", "peer"},       {"assign", "assign"},
      {"check", "check"},   {"results", "results"}, {"ack", "ack"}};
  for (const auto& [target, schema] : schemas) {
    auto doc =
        nlohmann::json::parse(read_file(fs::path(MUTUO_SCHEMA_DIR) / (schema + ".schema.json")));
    REQUIRE(doc.contains("examples"));
    for (const auto& example : doc["examples"]) {
      std::string payload = example.dump();
      CAPTURE(payload);
      CHECK(run(target_named(target), payload) == "");
    }
  }
  // The round trip is not vacuous: an accepted example really is accepted.
  auto status = nlohmann::json::parse(read_file(fs::path(MUTUO_SCHEMA_DIR) / "status.schema.json"));
  CHECK(mutuo::decode_status(status["examples"][0].dump()).ok());
}

TEST_CASE("fuzz: committed seeds and past crashes replay cleanly") {
  std::size_t replayed = 0;
  for (const char* kind : {"seeds", "regressions"}) {
    for (const auto& t : mutuo::fuzz::all_targets()) {
      for (const auto& file : files_in(fs::path(MUTUO_FUZZ_DIR) / kind / t.name)) {
        CAPTURE(file.string());
        CHECK(run(t.run, read_file(file)) == "");
        ++replayed;
      }
    }
  }
  CHECK(replayed > 0);
}

TEST_CASE("fuzz: known-failing regressions (only with MUTUO_FUZZ_KNOWN_FAILING=1)") {
  bool replay = std::getenv("MUTUO_FUZZ_KNOWN_FAILING") != nullptr;
  for (const auto& t : mutuo::fuzz::all_targets()) {
    auto dir = fs::path(MUTUO_FUZZ_DIR) / "regressions" / t.name / "known-failing";
    for (const auto& file : files_in(dir)) {
      MESSAGE("known-failing input (owned by another part): " << file.string());
      if (replay) CHECK(run(t.run, read_file(file)) == "");
    }
  }
}

TEST_CASE("fuzz: targets accept refusals and the router guards its protected routes") {
  CHECK(run(target_named("status"), "{not json") == "");
  CHECK(run(target_named("echo_packet"), std::string(24, 'x')) == "");
  // A viewer may read but not manage users.
  CHECK(run(target_named("dashboard_request"),
            "GET /api/users\ncookie: mutuo_session=@viewer\n\n") == "");
  CHECK(run(target_named("dashboard_request"),
            "GET /api/agents\ncookie: mutuo_session=@viewer\n\n") == "");
}
