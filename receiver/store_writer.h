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
// Pipelining: write_batches() is assemble() then commit(). The receiver calls
// them on two threads, so that the next write is put together (ledger check,
// rollups, latest values) while RocksDB appends and syncs the previous one.
// Assembly counts the batches of writes assembled but not yet committed as
// stored (they are in flight); if a commit fails, every write assembled before
// that failure and committed after it is refused too (nothing of it written,
// nothing confirmed: the agents resend), since it may have skipped batches that
// the failed write was to store.
//
// Threading: assemble() (and write_batches(), write()) from one thread at a
// time, commit() from one thread at a time (maybe another), commits in the
// order of assembly; compact() from one thread; property() from any thread.
#pragma once

#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
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
  // Writes are refused while less than this is free on the store's filesystem
  // (docs/hardening.md, "Fault drills: receiver disk full"). Debian's RocksDB
  // 7.8 aborts on an assertion once a write-ahead-log append has failed with
  // ENOSPC, and a memtable flush needs room, so the writer stops short of a full
  // disk: the batches are not confirmed (the agents keep and resend them) and
  // writing resumes by itself once space returns.
  uint64_t min_free_bytes = uint64_t{64} << 20;
  // All memtables together (store::primary_db_options); 0: RocksDB's per-family
  // limits only.
  std::size_t write_buffer_bytes = store::kDefaultWriteBufferBytes;
};

// What the store writes for one batch, computed from its results by prepare()
// on any thread, so that the single writer thread only assembles the write.
struct PreparedBatch {
  struct Raw {  // one result: its ts, seq and encoded value (an offset into `arena`)
    int64_t ts_ms;
    uint32_t value_at, value_size;
    uint16_t seq;
  };
  struct Series {
    uint32_t key_at, key_size;       // its series key (store::series_key) in `arena`
    uint32_t first_sample, samples;  // its results in `raw` and `samples`, by (ts, seq)
    uint32_t newest;                 // its newest result (the last of equal ts)
  };
  std::string arena;
  std::vector<Raw> raw;                      // grouped by series, like `samples`
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

// One atomic write put together by StoreWriter::assemble(), not yet committed.
struct AssembledWrite {
  rocksdb::WriteBatch batch;
  // Per batch given to assemble(): true when this write stores it, false when
  // it is already stored or in flight (or given twice).
  std::vector<bool> fresh;
  std::size_t results = 0;  // results of the fresh batches
 private:
  friend class StoreWriter;
  std::vector<std::string> ledger_keys;  // of the fresh batches: in flight until committed
  std::vector<std::pair<std::string, int64_t>> latest;  // latest ts written per series
  uint64_t failures_seen = 0;
};

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

  // The two halves of write_batches() (see "Pipelining" above). assemble() reads
  // the ledger but writes nothing; commit() writes `w` (WAL-synced unless
  // sync_wal is off) and returns its `fresh`; after a failed commit() nothing
  // of `w` is stored.
  Result<std::unique_ptr<AssembledWrite>> assemble(
      const std::vector<const IncomingBatch*>& batches);
  Result<std::vector<bool>> commit(AssembledWrite& w);

  // Writes `results` observed by `observer` without a ledger entry (tools and
  // tests): raw results, latest values and rollups. Returns how many were written.
  Result<std::size_t> write(const std::string& observer, const std::vector<ProbeResult>& results);

  // Compacts every column family to the bottom level now (tests, benchmarks,
  // operators): applies retention and final compression at once.
  Result<bool> compact();

  // Changes StoreWriterOptions::min_free_bytes (tests simulate a full disk). Any thread.
  void set_min_free_bytes(uint64_t bytes) { min_free_bytes_ = bytes; }

  // A RocksDB property of one family (e.g. "rocksdb.estimate-num-keys"); nullopt
  // when unknown.
  std::optional<uint64_t> property(store::Family family, const std::string& name) const;
  // StoreWriterOptions::write_buffer_bytes as opened.
  std::size_t write_buffer_limit() const { return options_.write_buffer_bytes; }
  // Bytes of table files of all families on disk.
  uint64_t sst_bytes() const;

 private:
  StoreWriter() = default;
  Result<std::unique_ptr<AssembledWrite>> assemble_group(
      const std::vector<const IncomingBatch*>& batches, bool use_ledger);
  Result<int64_t> stored_latest_ts(const std::string& series_key);
  void forget_in_flight(const AssembledWrite& w, bool failed);

  StoreWriterOptions options_;
  std::atomic<uint64_t> min_free_bytes_{0};
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by store::Family
  // Timestamp of the latest value of each series as stored or in flight (read
  // through on a miss), so updating "latest" needs no read per result. Used by
  // assemble() only; emptied after a failed commit.
  std::unordered_map<std::string, int64_t> latest_ts_;
  uint64_t failures_cleared_ = 0;  // failures_ when latest_ts_ was last emptied

  std::mutex mu_;
  std::set<std::string, std::less<>>
      in_flight_;          // guarded by mu_: ledger keys assembled, not committed
  uint64_t failures_ = 0;  // guarded by mu_: commits failed or refused
};

}  // namespace mutuo::receiver
