#include "common/store_disk.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>

namespace mutuo::store {

namespace {

class ForwardingLogger : public rocksdb::Logger {
 public:
  ForwardingLogger(std::string prefix, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), prefix_(std::move(prefix)) {}

  // Each line at its own level: RocksDB's errors are the program's errors.
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level == rocksdb::InfoLogLevel::HEADER_LEVEL) level = rocksdb::InfoLogLevel::INFO_LEVEL;
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      spdlog::error("{}: {}", prefix_, line);
    } else if (level == rocksdb::InfoLogLevel::WARN_LEVEL) {
      spdlog::warn("{}: {}", prefix_, line);
    } else {
      spdlog::info("{}: {}", prefix_, line);
    }
  }
  // Lines without a level (RocksDB's headers) are informational.
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

 private:
  std::string prefix_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> forwarding_logger(std::string prefix) {
  return std::make_shared<ForwardingLogger>(std::move(prefix), rocksdb::InfoLogLevel::WARN_LEVEL);
}

std::shared_ptr<rocksdb::Logger> secondary_logger(std::string prefix) {
  return std::make_shared<ForwardingLogger>(std::move(prefix), rocksdb::InfoLogLevel::ERROR_LEVEL);
}

void log_to_program(rocksdb::DBOptions& options, std::string prefix, Instance instance) {
  options.info_log = instance == Instance::kPrimary ? forwarding_logger(std::move(prefix))
                                                    : secondary_logger(std::move(prefix));
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
}

std::optional<std::string> no_database_yet(const std::string& primary_dir) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(primary_dir) / "CURRENT", ec))
    return std::nullopt;
  return "no database in " + primary_dir + " yet";
}

std::optional<std::string> disk_full(const std::string& dir, uint64_t min_free) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (free >= min_free) return std::nullopt;
  return "disk full: " + std::to_string(free >> 20) + " MiB free for " + dir + ", under the " +
         std::to_string(min_free >> 20) + " MiB kept free";
}

}  // namespace mutuo::store
