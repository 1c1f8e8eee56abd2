// StoreWriter: the receiver's side of the store (layout in common/store_layout.h).
// Writes are idempotent: the same result written twice lands on the same key.
//
// Threading: write() may be called from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/messages/results.h"
#include "common/result.h"
#include "common/store_layout.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace mutuo::receiver {

class StoreWriter {
 public:
  // Opens (creating if needed) the store in `dir`.
  static Result<std::unique_ptr<StoreWriter>> open(const std::string& dir);
  ~StoreWriter();  // closes the column families, then the database

  // Writes `results` observed by `observer` in one atomic write with the WAL on:
  // every raw result, and each series' latest value where the new result is not
  // older than the stored one. Returns how many results were written.
  Result<std::size_t> write(const std::string& observer, const std::vector<ProbeResult>& results);

 private:
  StoreWriter() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, raw, latest
};

}  // namespace mutuo::receiver
