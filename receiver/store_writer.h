// StoreWriter: the receiver's side of the store (layout in common/store_layout.h,
// configuration and retention in common/store_families.h).
//
// One call to write_batches() is one atomic RocksDB write with the WAL on: the
// raw results, each series' latest value, the minute and hour rollup merge
// operands, and the ledger entries of the batches. Either all of it survives a
// crash or none does, so a batch is confirmed only once everything it implies
// is durable.
//
// Idempotence: a result always lands on the same raw key, and a batch already
// in the ledger (a resend after a lost confirmation) is skipped whole, so its
// results are not merged into the rollups twice.
//
// Threading: the write methods and compact() may be called from one thread at
// a time; property() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/messages/results.h"
#include "common/result.h"
#include "common/store_families.h"
#include "common/store_layout.h"
#include "common/store_rollup.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace mutuo::receiver {

struct StoreWriterOptions {
  store::FamilyConfig families;  // retention and its clock
  // fsync the WAL before a write returns (survives power loss, not only a crash
  // of this process). Off only in benchmarks that say so.
  bool sync_wal = true;
};

// What the store writes for one batch, computed from its results by prepare()
// on any thread, so that the single writer thread only assembles the write.
struct PreparedBatch {
  struct Raw {  // one raw key and its value, as offsets into `arena`
    uint32_t key_at, key_size, value_at, value_size;
  };
  struct Series {
    uint32_t key_at, key_size;       // its series key (store::series_key) in `arena`
    uint32_t first_sample, samples;  // its results' rollup contributions, by ts
    uint32_t newest;                 // its newest result (the last of equal ts)
  };
  std::string arena;
  std::vector<Raw> raw;                      // one per result, in batch order
  std::vector<Series> series;                // one per series in the batch, by key
  std::vector<store::RollupSample> samples;  // grouped by series
  std::string_view key(const Series& s) const { return {arena.data() + s.key_at, s.key_size}; }
};

// One batch from one agent, as the receiver accepted it.
struct IncomingBatch {
  IncomingBatch() = default;
  IncomingBatch(std::string a, uint64_t n, std::vector<ProbeResult> r)
      : agent(std::move(a)), batch(n), results(std::move(r)) {}

  std::string agent;
  uint64_t batch = 0;
  std::vector<ProbeResult> results;
  // Filled by prepare(); write_batches() prepares what is not.
  bool is_prepared = false;
  PreparedBatch prepared;
};

// Computes `b->prepared` from its agent and results. Any thread.
void prepare(IncomingBatch* b);

class StoreWriter {
 public:
  // Opens (creating if needed) the store in `dir`.
  static Result<std::unique_ptr<StoreWriter>> open(const std::string& dir,
                                                   StoreWriterOptions options = {});
  ~StoreWriter();  // closes the column families, then the database

  // Writes every batch in `batches` not already in the ledger, in one atomic
  // write. On success, element i of the result is true when batch i was newly
  // stored and false when it was already there (a resend, or a duplicate within
  // `batches`). Either way it is now safe to confirm.
  Result<std::vector<bool>> write_batches(const std::vector<const IncomingBatch*>& batches);

  // Writes `results` observed by `observer` without a ledger entry (tools and
  // tests): raw results, latest values and rollups. Returns how many were written.
  Result<std::size_t> write(const std::string& observer, const std::vector<ProbeResult>& results);

  // Compacts every column family to the bottom level now (tests, benchmarks,
  // operators): applies retention and final compression at once.
  Result<bool> compact();

  // A RocksDB property of one family (e.g. "rocksdb.estimate-num-keys"); nullopt
  // when unknown.
  std::optional<uint64_t> property(store::Family family, const std::string& name) const;
  // Bytes of table files of all families on disk.
  uint64_t sst_bytes() const;

 private:
  StoreWriter() = default;
  struct Pending;
  Result<std::vector<bool>> write_group(const std::vector<const IncomingBatch*>& batches,
                                        bool use_ledger);
  Result<int64_t> stored_latest_ts(const std::string& series_key);

  StoreWriterOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by store::Family
  // Timestamp of the latest value of each series as stored (read through on a
  // miss), so updating "latest" needs no read per result.
  std::unordered_map<std::string, int64_t> latest_ts_;
};

}  // namespace mutuo::receiver
