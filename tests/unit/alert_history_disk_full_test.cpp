// The alert history (receiver/health/alert_history.h) on a full disk, for real:
// a small tmpfs this test mounts (it needs root, as CI runs; otherwise it prints
// SKIP and ctest reports it skipped) is filled to the last byte by a filler
// file. Appends are then refused with a clear error, the process keeps running,
// the refused entries are held and written by the next append once the filler
// is deleted (nothing lost, nothing twice), RocksDB keeps no LOG file on that
// disk (its file logger aborts the process after a failed write), and closing
// and reopening on a full disk neither aborts nor corrupts anything.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "receiver/health/alert_history.h"

using mutuo::Alert;
using mutuo::HealthState;
using namespace mutuo::health;

namespace {

// A tmpfs of `mb` MiB under /tmp, unmounted (and removed) at the end.
struct SmallDisk {
  explicit SmallDisk(int mb) {
    char tmpl[] = "/tmp/mutuo-small-disk-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    if (geteuid() != 0) {
      why = "not root";
      return;
    }
    std::string opts = "size=" + std::to_string(mb) + "m,mode=0755";
    if (mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      why = std::string("mount: ") + std::strerror(errno);
      return;
    }
    mounted = true;
  }
  ~SmallDisk() {
    if (mounted && umount(path.c_str()) != 0) umount2(path.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  // Writes `file` until the filesystem refuses another byte; returns its size.
  std::size_t fill(const std::string& file) const {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::setvbuf(f, nullptr, _IONBF, 0);
    std::size_t written = 0;
    std::vector<char> block(1 << 20, '\0');
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{1}}) {
      while (true) {
        std::size_t n = std::fwrite(block.data(), 1, chunk, f);
        written += n;
        if (n < chunk) break;
      }
      std::clearerr(f);
    }
    std::fclose(f);
    return written;
  }
  std::string path;
  std::string why;
  bool mounted = false;
};

HistoryEntry entry(const std::string& subject, int64_t ts) {
  Alert a;
  a.subject = subject;
  a.state = HealthState::kDown;
  a.since_ms = ts;
  a.ts_ms = ts;
  a.cause = "target";
  a.observers = {{"a", "fail"}};
  return {ts, "alert", "", a};
}

std::vector<int64_t> times(const std::vector<HistoryEntry>& es) {
  std::vector<int64_t> out;
  for (const auto& e : es) out.push_back(e.ts_ms);
  return out;
}

}  // namespace

TEST_CASE("a full disk: appends refused with a clear error, held, written once space returns") {
  SmallDisk disk(48);
  if (!disk.mounted) {
    std::printf("SKIP: the disk-full test mounts a small tmpfs (%s); run it as root\n",
                disk.why.c_str());
    return;
  }
  const std::string dir = disk.path + "/alert-history";
  const std::string filler = disk.path + "/filler";
  {
    auto h = AlertHistory::open(dir, 3'600'000'000);
    REQUIRE(h.ok());
    AlertHistory& history = *h.value();
    REQUIRE(history.append({entry("peer/a", 1'000)}).ok());
    // RocksDB's log goes to the receiver's log, never to a file on this disk.
    CHECK_FALSE(std::filesystem::exists(dir + "/LOG"));

    CHECK(disk.fill(filler) > 0);
    auto refused = history.append({entry("peer/b", 2'000), entry("peer/a", 3'000)});
    REQUIRE_FALSE(refused.ok());
    INFO(refused.error());
    CHECK(refused.error().find("alert history: disk full: 0 MiB free for " + dir) == 0);
    CHECK(refused.error().find("2 entries held in memory") != std::string::npos);
    CHECK(history.held() == 2);
    auto again = history.append({});  // the health thread's next tick: still full
    REQUIRE_FALSE(again.ok());
    CHECK(history.held() == 2);
    CHECK_FALSE(history.prune(10'000'000'000).ok());
    CHECK(times(history.query({})) == std::vector<int64_t>{1'000});

    std::filesystem::remove(filler);  // space returns
    REQUIRE(history.append({entry("peer/c", 4'000)}).ok());
    CHECK(history.held() == 0);
    CHECK(history.dropped() == 0);
    CHECK(times(history.query({})) == std::vector<int64_t>{4'000, 3'000, 2'000, 1'000});
    CHECK(times(history.query({"peer/a"})) == std::vector<int64_t>{3'000, 1'000});

    // Full again, then closed (the receiver stopping) with entries held: no
    // abort; what was written stays readable.
    CHECK(disk.fill(filler) > 0);
    CHECK_FALSE(history.append({entry("peer/d", 5'000)}).ok());
    CHECK(history.held() == 1);
  }
  {
    auto h = AlertHistory::open(dir, 3'600'000'000);  // reopened on the full disk
    REQUIRE(h.ok());
    CHECK(times(h.value()->query({})) == std::vector<int64_t>{4'000, 3'000, 2'000, 1'000});
    CHECK_FALSE(h.value()->append({entry("peer/e", 6'000)}).ok());
    std::filesystem::remove(filler);
    REQUIRE(h.value()->append({}).ok());
    CHECK(times(h.value()->query({})) == std::vector<int64_t>{6'000, 4'000, 3'000, 2'000, 1'000});
  }
  auto h = AlertHistory::open(dir, 3'600'000'000);
  REQUIRE(h.ok());
  CHECK(h.value()->query({}).size() == 5);
}

TEST_CASE("held entries are bounded: beyond kMaxHeld the oldest are dropped and counted") {
  SmallDisk disk(48);
  if (!disk.mounted) {
    std::printf("SKIP: the disk-full test mounts a small tmpfs (%s); run it as root\n",
                disk.why.c_str());
    return;
  }
  const std::string dir = disk.path + "/alert-history";
  auto h = AlertHistory::open(dir, 3'600'000'000);
  REQUIRE(h.ok());
  CHECK(disk.fill(disk.path + "/filler") > 0);
  std::vector<HistoryEntry> many;
  for (std::size_t i = 0; i < AlertHistory::kMaxHeld + 5; ++i) {
    many.push_back(entry("peer/x", 1'000 + static_cast<int64_t>(i)));
  }
  auto refused = h.value()->append(many);
  REQUIRE_FALSE(refused.ok());
  CHECK(h.value()->held() == AlertHistory::kMaxHeld);
  CHECK(h.value()->dropped() == 5);
  CHECK(refused.error().find("(5 dropped, over 10000)") != std::string::npos);
  std::filesystem::remove(disk.path + "/filler");
  REQUIRE(h.value()->append({}).ok());
  auto all = h.value()->query({"", 0, INT64_MAX, AlertHistory::kMaxHeld + 10});
  REQUIRE(all.size() == AlertHistory::kMaxHeld);
  CHECK(all.back().ts_ms == 1'005);  // the five oldest were dropped
}
