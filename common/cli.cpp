#include "common/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <type_traits>
#include <vector>

namespace mutuo::cli {

Option Option::required() {
  option_->required();
  return *this;
}

template <typename T>
Option Option::range(T lo, T hi) {
  option_->check(CLI::Range(lo, hi));
  return *this;
}

template Option Option::range(int, int);
template Option Option::range(unsigned, unsigned);
template Option Option::range(long, long);
template Option Option::range(unsigned long, unsigned long);
template Option Option::range(long long, long long);
template Option Option::range(unsigned long long, unsigned long long);
template Option Option::range(double, double);

Option Option::show_default() {
  option_->capture_default_str();
  return *this;
}

Option Option::group(const std::string& name) {
  option_->group(name);
  return *this;
}

Option Option::env(const std::string& name) {
  option_->envname(name);
  return *this;
}

Command::Command(const std::string& description) : app_(std::make_unique<CLI::App>(description)) {}

Command::~Command() = default;

template <typename T>
Option Command::option(const std::string& name, T& into, const std::string& help) {
  CLI::Option* added = app_->add_option(name, into, help);
  if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    // CLI11 would wrap "-5" around to a huge unsigned value. No description:
    // --help stays as it is.
    added->check(CLI::Validator(
        [](std::string& value) {
          auto first = value.find_first_not_of(" \t");
          return first != std::string::npos && value[first] == '-'
                     ? "must not be negative: " + value
                     : std::string();
        },
        ""));
  }
  return Option(added);
}

template Option Command::option(const std::string&, std::string&, const std::string&);
template Option Command::option(const std::string&, bool&, const std::string&);
template Option Command::option(const std::string&, int&, const std::string&);
template Option Command::option(const std::string&, unsigned short&, const std::string&);
template Option Command::option(const std::string&, unsigned&, const std::string&);
template Option Command::option(const std::string&, long&, const std::string&);
template Option Command::option(const std::string&, unsigned long&, const std::string&);
template Option Command::option(const std::string&, long long&, const std::string&);
template Option Command::option(const std::string&, unsigned long long&, const std::string&);
template Option Command::option(const std::string&, double&, const std::string&);
template Option Command::option(const std::string&, std::vector<std::string>&, const std::string&);

Option Command::flag(const std::string& name, bool& into, const std::string& help) {
  return Option(app_->add_flag(name, into, help));
}

void Command::config_file(const std::string& name, const std::string& help) {
  app_->set_config(name, "", help);
}

void Command::version_flag(const std::string& name, const std::string& version) {
  app_->set_version_flag(name, version);
}

namespace {

// CLI11_PARSE, writing to the given streams.
std::optional<int> parse_to(CLI::App& app, int argc, const char* const* argv, std::ostream& out,
                            std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> Command::parse(int argc, const char* const* argv) {
  return parse_to(*app_, argc, argv, std::cout, std::cerr);
}

std::optional<int> Command::parse(int argc, const char* const* argv, std::string& out,
                                  std::string& err) {
  std::ostringstream out_stream, err_stream;
  std::optional<int> exit = parse_to(*app_, argc, argv, out_stream, err_stream);
  out = out_stream.str();
  err = err_stream.str();
  return exit;
}

}  // namespace mutuo::cli
