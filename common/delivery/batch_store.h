// BatchStore: the on-disk half of durable delivery (DESIGN.md, "Delivery"). A
// directory holding one file per unconfirmed result batch, plus the persistent
// batch counter, so that batches and their numbers survive a restart.
//
// Layout of `dir`:
//   lock                         flock()ed while open: one process per directory
//   next-batch                   decimal: no batch number below it was ever issued
//                                by an earlier run (numbers are reserved in blocks
//                                of kNumberBlock, so the file is written rarely)
//   <batch:020>-<items>.json     one batch: exactly the payload to publish
//   *.tmp                        a write that did not finish; removed on open
//
// Durability (BatchStoreConfig::fsync):
//   true   (default) each batch file is written to a .tmp file, fsync()ed, renamed
//          into place and the directory fsync()ed before put() returns: a batch
//          put() accepted survives a crash of the process and of the machine.
//   false  same files and renames, no fsync: survives a crash or restart of the
//          process (the kernel still has the data), not a power cut. For SD cards
//          that should not be written through every second, and for simulators.
// The counter file is always written with fsync, whatever the setting.
//
// Numbers only grow: a new directory starts at the wall clock in ms (so even a
// wiped directory does not reuse the numbers of an earlier install), and a
// restart continues above every number issued before.
//
// Threading: not thread-safe; the owner (Outbox) serialises calls. read() is the
// exception: it touches no member state but the directory path, so it may run
// concurrently with anything else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mutuo::delivery {

struct BatchStoreConfig {
  std::string dir;    // created (with parents) if missing
  bool fsync = true;  // see "Durability" above
};

struct StoredBatch {
  uint64_t batch = 0;
  uint64_t bytes = 0;      // payload size
  uint32_t items = 0;      // results in the batch, as given to put(); for loss counts
  int64_t created_ms = 0;  // wall clock when written (file mtime after a restart)
};

class BatchStore {
 public:
  static constexpr uint64_t kNumberBlock = 1024;

  // Opens (creating if needed) `config.dir`, takes its lock, removes unfinished
  // .tmp files and ignores files it does not recognise. Fails when the directory
  // cannot be created or is locked by another process.
  static Result<std::unique_ptr<BatchStore>> open(const BatchStoreConfig& config);
  ~BatchStore();
  BatchStore(const BatchStore&) = delete;
  BatchStore& operator=(const BatchStore&) = delete;

  // The batches found on disk by open(), oldest (lowest number) first. Hands
  // them over once; later calls return nothing.
  std::vector<StoredBatch> take_found() { return std::move(found_); }

  // A new batch number, higher than any issued before by this or an earlier run
  // on this directory. Fails only when the counter file cannot be written.
  Result<uint64_t> next_number();

  // Writes one batch durably (see the config). Returns what was stored.
  Result<StoredBatch> put(uint64_t batch, uint32_t items, std::string_view payload);

  // The payload of a stored batch; an error when it is gone or unreadable.
  Result<std::string> read(const StoredBatch& batch) const;

  // Removes a stored batch (confirmed or dropped). Missing files are fine.
  void remove(const StoredBatch& batch);

  const std::string& dir() const { return config_.dir; }

 private:
  explicit BatchStore(BatchStoreConfig config) : config_(std::move(config)) {}
  std::string path_of(uint64_t batch, uint32_t items) const;
  Result<bool> write_counter(uint64_t value);

  BatchStoreConfig config_;
  int lock_fd_ = -1;
  int dir_fd_ = -1;
  uint64_t next_ = 0;      // next number to hand out
  uint64_t reserved_ = 0;  // the counter file says this; next_ < reserved_
  std::vector<StoredBatch> found_;
};

}  // namespace mutuo::delivery
