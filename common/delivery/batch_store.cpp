#include "common/delivery/batch_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/clock.h"

namespace mutuo::delivery {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCounterFile = "next-batch";
constexpr const char* kLockFile = "lock";

std::string errno_text() { return std::strerror(errno); }

// Writes all of `data` to `fd`; false on any error.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Writes `data` to `path` through `path`.tmp and a rename, so a reader never sees
// half a file. With `sync`, the data and then the directory reach the disk.
Result<bool> write_file_atomically(const std::string& path, std::string_view data, bool sync,
                                   int dir_fd) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot create " + tmp + ": " + errno_text()};
  bool ok = write_all(fd, data) && (!sync || ::fsync(fd) == 0);
  std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error{"cannot write " + tmp + ": " + why};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    why = errno_text();
    ::unlink(tmp.c_str());
    return Error{"cannot rename " + tmp + ": " + why};
  }
  if (sync && ::fsync(dir_fd) != 0) return Error{"cannot sync directory: " + errno_text()};
  return true;
}

// "<batch:020>-<items>.json" -> (batch, items).
bool parse_name(const std::string& name, uint64_t* batch, uint32_t* items) {
  if (name.size() < 27 || name[20] != '-' || !name.ends_with(".json")) return false;
  const char* b = name.data();
  auto r1 = std::from_chars(b, b + 20, *batch);
  if (r1.ec != std::errc() || r1.ptr != b + 20) return false;
  const char* end = b + name.size() - 5;
  auto r2 = std::from_chars(b + 21, end, *items);
  return r2.ec == std::errc() && r2.ptr == end;
}

}  // namespace

Result<std::unique_ptr<BatchStore>> BatchStore::open(const BatchStoreConfig& config) {
  if (config.dir.empty()) return Error{"no buffer directory given"};
  std::error_code ec;
  fs::create_directories(config.dir, ec);
  if (ec) return Error{"cannot create " + config.dir + ": " + ec.message()};

  std::unique_ptr<BatchStore> s(new BatchStore(config));
  std::string lock_path = config.dir + "/" + kLockFile;
  s->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd_ < 0) return Error{"cannot open " + lock_path + ": " + errno_text()};
  if (::flock(s->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Error{"buffer directory " + config.dir + " is in use by another process"};
  }
  s->dir_fd_ = ::open(config.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dir_fd_ < 0) return Error{"cannot open " + config.dir + ": " + errno_text()};

  uint64_t counter = 0;
  bool have_counter = false;
  for (const auto& e : fs::directory_iterator(config.dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.ends_with(".tmp")) {
      fs::remove(e.path(), ec);
      continue;
    }
    if (name == kCounterFile) {
      FILE* f = std::fopen(e.path().c_str(), "r");
      unsigned long long v = 0;
      if (f != nullptr) {
        have_counter = std::fscanf(f, "%llu", &v) == 1;
        std::fclose(f);
      }
      counter = v;
      continue;
    }
    StoredBatch b;
    if (!parse_name(name, &b.batch, &b.items)) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    b.bytes = static_cast<uint64_t>(st.st_size);
    b.created_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
    s->found_.push_back(b);
  }
  if (ec) return Error{"cannot list " + config.dir + ": " + ec.message()};
  std::sort(s->found_.begin(), s->found_.end(),
            [](const StoredBatch& a, const StoredBatch& b) { return a.batch < b.batch; });

  uint64_t next = have_counter ? counter : static_cast<uint64_t>(now_ms());
  if (!s->found_.empty()) next = std::max(next, s->found_.back().batch + 1);
  s->next_ = next;
  auto w = s->write_counter(next + kNumberBlock);
  if (!w) return Error{w.error()};
  return s;
}

BatchStore::~BatchStore() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<bool> BatchStore::write_counter(uint64_t value) {
  auto w = write_file_atomically(config_.dir + "/" + kCounterFile, std::to_string(value) + "\n",
                                 /*sync=*/true, dir_fd_);
  if (w) reserved_ = value;
  return w;
}

Result<uint64_t> BatchStore::next_number() {
  if (next_ >= reserved_) {
    auto w = write_counter(next_ + kNumberBlock);
    if (!w) return Error{w.error()};
  }
  return next_++;
}

std::string BatchStore::path_of(uint64_t batch, uint32_t items) const {
  char name[48];
  std::snprintf(name, sizeof name, "/%020llu-%u.json", static_cast<unsigned long long>(batch),
                items);
  return config_.dir + name;
}

Result<StoredBatch> BatchStore::put(uint64_t batch, uint32_t items, std::string_view payload) {
  auto w = write_file_atomically(path_of(batch, items), payload, config_.fsync, dir_fd_);
  if (!w) return Error{w.error()};
  return StoredBatch{batch, payload.size(), items, now_ms()};
}

Result<std::string> BatchStore::read(const StoredBatch& b) const {
  std::string path = path_of(b.batch, b.items);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + path + ": " + errno_text()};
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errno_text();
      ::close(fd);
      return Error{"cannot read " + path + ": " + why};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void BatchStore::remove(const StoredBatch& b) {
  // No fsync: a removal lost in a power cut only means one harmless resend.
  ::unlink(path_of(b.batch, b.items).c_str());
}

}  // namespace mutuo::delivery
