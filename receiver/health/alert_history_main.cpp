// mutuo-alert-history: prints a receiver's alert history (receiver/health/
// alert_history.h) as JSON lines, newest first, reading it as the dashboard
// does: a RocksDB secondary instance beside the running receiver.
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "receiver/health/alert_history.h"

int main(int argc, char** argv) {
  mutuo::cli::Command app{
      "mutuo-alert-history: prints the receiver's alert history (state changes and notices, "
      "sent or held back by a silence or flap damping) as JSON lines, newest first. "
      "See docs/health.md."};
  std::string dir, subject;
  double since_s = 0;
  std::size_t limit = 1000;
  app.option("--history", dir,
             "the receiver's alert history directory (default of the receiver: "
             "<store>/alert-history)")
      .required();
  app.option("--subject", subject, "only this subject (peer/{agent}, check/{check}, ...)");
  app.option("--since-s", since_s, "only entries of the last S seconds (0: all)");
  app.option("--limit", limit, "at most this many entries").show_default();
  app.version_flag("--version", mutuo::kVersion);
  if (auto exit = app.parse(argc, argv)) return *exit;
  mutuo::init_logging("alert-history", "warn");

  char tmpl[] = "/tmp/mutuo-alert-history-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    spdlog::error("cannot create a temporary directory");
    return 1;
  }
  int rc = 0;
  {
    auto reader = mutuo::health::AlertHistoryReader::open(dir, tmpl);
    if (!reader) {
      spdlog::error("{}", reader.error());
      rc = 1;
    } else {
      mutuo::health::HistoryQuery q;
      q.subject = subject;
      q.limit = limit;
      if (since_s > 0) q.from_ms = mutuo::now_ms() - static_cast<int64_t>(since_s * 1000);
      for (const auto& e : reader.value()->query(q)) {
        std::printf("%s\n", mutuo::health::encode_history_entry(e).c_str());
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
