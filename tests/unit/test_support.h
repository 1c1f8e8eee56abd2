// Helpers shared by the unit tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mutuo::test {

// A fresh directory under the system's temporary directory, named
// `<prefix>-XXXXXX`, removed with everything in it when the object goes away.
struct TempDir {
  explicit TempDir(const std::string& prefix = "mutuo-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // `name` inside the directory, as a string.
  std::string file(const std::string& name) const { return (path / name).string(); }

  std::filesystem::path path;
};

// Names of RocksDB info-log files (LOG, LOG.old.*) in `dir`.
inline std::vector<std::string> info_log_files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("LOG", 0) == 0) names.push_back(name);
  }
  return names;
}

// Whether `needle` occurs in `haystack` (a decoder's reason, say).
inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace mutuo::test
