// StoreReader: read access to the receiver's RocksDB for other processes (the
// dashboard), as a RocksDB secondary instance that catches up with the primary.
//
// Threading: all methods may be called from several threads at once.
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

namespace mutuo::store {

struct StoredResult {
  SeriesId series;
  ProbeResult result;
};

class StoreReader {
 public:
  // Opens `primary_dir` (the receiver's store) as a secondary instance whose own
  // files go to `secondary_dir` (created if missing). Fails when the primary has
  // never been created.
  static Result<std::unique_ptr<StoreReader>> open(const std::string& primary_dir,
                                                   const std::string& secondary_dir);
  ~StoreReader();

  // Replays what the primary wrote since the last call. Cheap when nothing changed.
  void catch_up();

  // The newest result of every series (optionally only `probe`).
  std::vector<StoredResult> latest(const std::string& probe = "") const;

  // Raw results of one series with from_ms <= ts < to_ms, oldest first, at most `limit`.
  std::vector<ProbeResult> range(const SeriesId& series, int64_t from_ms, int64_t to_ms,
                                 std::size_t limit) const;

 private:
  StoreReader() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, raw, latest
};

}  // namespace mutuo::store
