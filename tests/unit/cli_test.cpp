// The programs' command line (common/cli.h): every bound type takes its value,
// and a refused command line, --help and --version end with CLI11's output and
// exit codes.
#include "common/cli.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"

using mutuo::cli::Command;

namespace {

// What parsing a command line did: the exit code main would return (none: go
// on) and what would have been printed.
struct CliRun {
  std::optional<int> exit;
  std::string out, err;
};

// Parses `args` (without the program name) with `app`.
CliRun cli_run(Command& app, const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"mutuo-test"};
  for (const auto& a : args) argv.push_back(a.c_str());
  CliRun run;
  run.exit = app.parse(static_cast<int>(argv.size()), argv.data(), run.out, run.err);
  return run;
}

}  // namespace

TEST_CASE("each bound type takes its value") {
  Command app{"test"};
  std::string text;
  bool fsync = true, insecure = false;
  int keepalive = 0;
  uint16_t port = 0;
  uint32_t workers = 0;
  int64_t window_ms = 0;
  uint64_t bytes = 0;
  std::size_t queue = 0;
  double days = 0;
  std::vector<std::string> labels;
  app.option("--text", text);
  app.option("--fsync", fsync);
  app.flag("--insecure", insecure, "");
  app.option("--keepalive", keepalive);
  app.option("--port", port);
  app.option("--workers", workers);
  app.option("--window-ms", window_ms);
  app.option("--bytes", bytes);
  app.option("--queue", queue);
  app.option("--days", days);
  app.option("--label", labels);
  CliRun run = cli_run(app, {"--text", "hello world", "--fsync", "false", "--insecure"});
  CHECK_FALSE(run.exit.has_value());
  CHECK(run.out.empty());
  CHECK(run.err.empty());
  CHECK_FALSE(cli_run(app, {"--keepalive", "-7", "--port", "7777", "--workers", "4000000000"})
                  .exit.has_value());
  CHECK_FALSE(cli_run(app, {"--window-ms", "-86400000000", "--bytes", "18000000000000000000"})
                  .exit.has_value());
  CHECK_FALSE(cli_run(app, {"--queue", "200000", "--days", "0.25"}).exit.has_value());
  CHECK_FALSE(cli_run(app, {"--label", "site=fra", "--label", "provider=x"}).exit.has_value());
  CHECK(text == "hello world");
  CHECK_FALSE(fsync);
  CHECK(insecure);
  CHECK(keepalive == -7);
  CHECK(port == 7777);
  CHECK(workers == 4'000'000'000u);
  CHECK(window_ms == -86'400'000'000);
  CHECK(bytes == 18'000'000'000'000'000'000u);
  CHECK(queue == 200'000);
  CHECK(days == doctest::Approx(0.25));
  CHECK(labels == std::vector<std::string>{"site=fra", "provider=x"});
}

TEST_CASE("options left out keep their values") {
  Command app{"test"};
  int keepalive = 10;
  bool insecure = false;
  app.option("--keepalive", keepalive);
  app.flag("--insecure", insecure, "");
  CHECK_FALSE(cli_run(app, {}).exit.has_value());
  CHECK(keepalive == 10);
  CHECK_FALSE(insecure);
}

TEST_CASE("a missing required option stops the program and is named") {
  Command app{"test"};
  std::string store;
  app.option("--store", store, "RocksDB directory").required();
  CliRun run = cli_run(app, {});
  CHECK(run.exit == 106);
  CHECK(run.out.empty());
  CHECK(run.err == "--store is required\nRun with --help for more information.\n");
}

TEST_CASE("a value out of range is refused with the range") {
  Command app{"test"};
  std::size_t k = 16;
  double hold_s = 10;
  app.option("--k", k).range(1, 1024);
  app.option("--hold-s", hold_s).range(0.0, 3600.0);
  CliRun low = cli_run(app, {"--k", "0"});
  CHECK(low.exit == 105);
  CHECK(low.err == "--k: Value 0 not in range 1 to 1024\nRun with --help for more information.\n");
  CHECK(cli_run(app, {"--k", "abc"}).exit == 105);
  CHECK(cli_run(app, {"--hold-s", "3600.5"}).exit == 105);
  CHECK(k == 16);
  CHECK_FALSE(cli_run(app, {"--k", "1024", "--hold-s", "3600"}).exit.has_value());
  CHECK(k == 1024);
  CHECK(hold_s == 3600);
}

TEST_CASE("a value that does not convert, or an unknown option, is refused") {
  Command app{"test"};
  uint16_t port = 7777;
  app.option("--port", port);
  CliRun overflow = cli_run(app, {"--port", "70000"});
  CHECK(overflow.exit == 104);
  CHECK(overflow.err ==
        "Could not convert: --port = 70000\nRun with --help for more information.\n");
  CliRun unknown = cli_run(app, {"--bogus"});
  CHECK(unknown.exit == 109);
  CHECK(unknown.err ==
        "The following argument was not expected: --bogus\nRun with --help for more "
        "information.\n");
}

TEST_CASE("--help prints the description and every option, then exits 0") {
  Command app{"mutuo-test: a description"};
  std::string id, log_level = "info";
  std::size_t k = 16;
  double hold_s = 10;
  bool insecure = false;
  app.option("--id", id, "agent id").env("MUTUO_CLI_TEST_ID").required();
  app.option("--log-level", log_level, "how much to log").show_default();
  app.flag("--tls-insecure", insecure, "skip certificate checks");
  app.option("--k", k, "observers per peer").show_default().range(1, 1024);
  app.option("--hold-s", hold_s, "hold this long")
      .range(0.0, 3600.0)
      .show_default()
      .group("Health");
  app.version_flag("--version", "1.2.3");
  CliRun run = cli_run(app, {"--help"});
  CHECK(run.exit == 0);
  CHECK(run.err.empty());
  CHECK(run.out.rfind("mutuo-test: a description\nUsage: mutuo-test [OPTIONS]\n", 0) == 0);
  CHECK(run.out.find("  -h,--help ") != std::string::npos);
  CHECK(run.out.find("  --id TEXT REQUIRED (Env:MUTUO_CLI_TEST_ID)\n") != std::string::npos);
  CHECK(run.out.find("  --log-level TEXT=info ") != std::string::npos);
  CHECK(run.out.find("  --tls-insecure ") != std::string::npos);
  CHECK(run.out.find("  --k UINT:INT in [1 - 1024]=16\n") != std::string::npos);
  CHECK(run.out.find("\nHealth:\n  --hold-s FLOAT:FLOAT in [0 - 3600]=10\n") != std::string::npos);
  CHECK(run.out.find("  --version ") != std::string::npos);
}

TEST_CASE("--version prints the version and exits 0") {
  Command app{"test"};
  std::string store;
  app.option("--store", store).required();
  app.version_flag("--version", "1.2.3");
  CliRun run = cli_run(app, {"--version"});
  CHECK(run.exit == 0);
  CHECK(run.out == "1.2.3\n");
  CHECK(run.err.empty());
}

TEST_CASE("the environment and the config file fill what the command line leaves out") {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "mutuo-cli-test";
  std::filesystem::create_directories(dir);
  std::string config = (dir / "agent.toml").string();
  std::ofstream(config) << "broker = \"tcp://from-file:1883\"\nkeepalive = 30\n";
  setenv("MUTUO_CLI_TEST_ID", "fra-1", 1);

  Command app{"test"};
  app.config_file("--config", "read options from this TOML/INI file");
  std::string id, broker = "tcp://127.0.0.1:1883";
  int keepalive = 10;
  app.option("--id", id).env("MUTUO_CLI_TEST_ID").required();
  app.option("--broker", broker);
  app.option("--keepalive", keepalive).range(2, 600);
  CliRun run = cli_run(app, {"--config", config, "--keepalive", "20"});
  unsetenv("MUTUO_CLI_TEST_ID");
  std::filesystem::remove_all(dir);

  CHECK_FALSE(run.exit.has_value());
  CHECK(id == "fra-1");
  CHECK(broker == "tcp://from-file:1883");
  CHECK(keepalive == 20);  // the command line wins over the file
}

TEST_CASE("a negative value for an unsigned option is refused, not wrapped around") {
  Command app{"test"};
  std::size_t write_buffer_mb = 128;
  uint32_t limit = 50;
  int offset = 0;
  app.option("--write-buffer-mb", write_buffer_mb).show_default();
  app.option("--limit", limit);
  app.option("--offset", offset);
  CliRun negative = cli_run(app, {"--write-buffer-mb", "-5"});
  CHECK(negative.exit == 105);
  CHECK(negative.err.find("must not be negative: -5") != std::string::npos);
  CHECK(cli_run(app, {"--limit", " -1"}).exit == 105);
  CHECK(write_buffer_mb == 128);
  CHECK(limit == 50);
  CHECK_FALSE(cli_run(app, {"--offset", "-5", "--limit", "0"}).exit.has_value());
  CHECK(offset == -5);
  CHECK(limit == 0);
  // The check adds nothing to --help.
  CliRun help = cli_run(app, {"--help"});
  CHECK(help.out.find("--write-buffer-mb UINT=128") != std::string::npos);
}

TEST_CASE("a secret read from the environment is erased from it, value and all") {
  // putenv keeps this very buffer in the environment, as the kernel's copy of
  // the environment given at exec (/proc/PID/environ) would be.
  static char entry[] = "MUTUO_CLI_TEST_SECRET=  s3cret-token \n";
  REQUIRE(putenv(entry) == 0);
  auto secret = mutuo::read_secret("", "MUTUO_CLI_TEST_SECRET");
  REQUIRE(secret);
  CHECK(*secret == "s3cret-token");
  CHECK(getenv("MUTUO_CLI_TEST_SECRET") == nullptr);
  const std::string value(entry + std::strlen("MUTUO_CLI_TEST_SECRET="),
                          sizeof(entry) - 1 - std::strlen("MUTUO_CLI_TEST_SECRET="));
  CHECK(value == std::string(value.size(), '\0'));

  auto missing = mutuo::read_secret("", "MUTUO_CLI_TEST_SECRET");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("MUTUO_CLI_TEST_SECRET") != std::string::npos);
}
