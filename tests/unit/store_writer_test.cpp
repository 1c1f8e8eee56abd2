// The receiver's store on a real RocksDB on disk, read back through the
// dashboard's secondary-instance reader.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "common/store_reader.h"
#include "receiver/store_writer.h"

using namespace mutuo;

namespace {
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("mutuo-store-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
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
