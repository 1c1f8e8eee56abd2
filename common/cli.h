// The command line of every program: options bound to variables, flags, a
// config file, --help and --version, parsed by CLI11 behind this small facade.
// CLI11 is header-only and costs about 10 s of CPU in every file that includes
// it, so only cli.cpp does; the programs' main()s include this header instead.
//
//   mutuo::cli::Command app{"mutuo-receiver: stores every result batch ..."};
//   app.option("--store", store_dir, "RocksDB directory").required();
//   app.option("--stats-every-s", stats_every_s, "log counters this often (0: never)")
//       .show_default()
//       .range(0, 3600);
//   app.flag("--tls-insecure", insecure, "skip broker certificate checks (dev only)");
//   app.version_flag("--version", mutuo::kVersion);
//   if (auto exit = app.parse(argc, argv)) return *exit;
//
// --help lists the options in the order they were added. Output and exit codes
// are CLI11's (what CLI11_PARSE did): help and version go to stdout with code
// 0; a refused command line prints CLI11's message and "Run with --help for
// more information." to stderr and exits non-zero (105: a value out of range,
// 106: a required option missing, 109: an unexpected argument, ...).
//
// Threading: main only, before any thread starts. A Command is not
// thread-safe; the variables bound to it must outlive its parse().
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace mutuo::cli {

// One option of a Command, refined right after adding it:
//   app.option("--k", k, "observers per peer").show_default().range(1, 1024);
// A handle: copies refer to the same option. Valid while its Command lives.
class Option {
 public:
  // The option must be given: on the command line, through env() or in the
  // config file.
  Option required();
  // Refuses values outside [lo, hi], compared as T (int, unsigned, long,
  // unsigned long, long long, unsigned long long or double; instantiated in
  // cli.cpp). --help shows it after the type, e.g. "UINT:INT in [1 - 1000]".
  template <typename T>
  Option range(T lo, T hi);
  // --help shows the bound variable's value at the time of this call as the
  // default ("--k UINT=16").
  Option show_default();
  // --help lists the option under the heading `name` instead of "Options".
  Option group(const std::string& name);
  // Takes the value from the environment variable `name` when the command line
  // does not give it.
  Option env(const std::string& name);

 private:
  friend class Command;
  explicit Option(CLI::Option* option) : option_(option) {}

  CLI::Option* option_;  // owned by the Command's CLI::App
};

class Command {
 public:
  // `description` opens --help.
  explicit Command(const std::string& description);
  ~Command();
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // An option taking a value, parsed into `into`. T: std::string, bool, int,
  // unsigned short, unsigned, long, unsigned long, long long, unsigned long
  // long, double, or std::vector<std::string> (repeatable: each occurrence
  // adds one); instantiated in cli.cpp.
  template <typename T>
  Option option(const std::string& name, T& into, const std::string& help = "");

  // A flag without a value: `into` becomes true when it is given.
  Option flag(const std::string& name, bool& into, const std::string& help);

  // An option naming a TOML or INI file whose keys (the long option names,
  // e.g. broker = "tcp://host:1883") set the options the command line leaves
  // unset.
  void config_file(const std::string& name, const std::string& help);

  // A flag that prints `version` and exits with code 0.
  void version_flag(const std::string& name, const std::string& version);

  // Parses argv into the bound variables. Returns nothing when main should go
  // on; otherwise the code main should return, after printing help, the
  // version or the error (above).
  std::optional<int> parse(int argc, const char* const* argv);

  // The same, with the text parse() would print left in `out` (help, version)
  // and `err` (errors) instead. For tests.
  std::optional<int> parse(int argc, const char* const* argv, std::string& out, std::string& err);

 private:
  std::unique_ptr<CLI::App> app_;
};

}  // namespace mutuo::cli
