// How the receiver's RocksDB is configured: its column families (layout in
// common/store_layout.h), the rollup merge operator and retention. The writer
// (receiver/) and the readers (StoreReader) open the store with the same
// descriptors, so a secondary instance folds rollup merge operands exactly as
// the primary does.
//
// Retention is enforced inside RocksDB by a compaction filter: a raw result, a
// minute or an hour bucket whose key timestamp is older than its tier's
// retention is dropped when compaction next rewrites its file, and
// periodic_compaction_seconds makes RocksDB rewrite every file at least once a
// day (a week for the hour tier). No scan of the data ever runs on the write
// path. The batch ledger is kept as long as raw results.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mutuo::store {

struct Retention {
  int64_t raw_ms = 7LL * 24 * 3600 * 1000;         // 7 days
  int64_t minute_ms = 90LL * 24 * 3600 * 1000;     // 90 days
  int64_t hour_ms = 2LL * 365 * 24 * 3600 * 1000;  // 2 years
};

struct FamilyConfig {
  Retention retention;
  // Wall clock in ms for retention decisions; tests pass a fake one. Called from
  // RocksDB's compaction threads.
  std::function<int64_t()> now_ms;
  // The primary (the receiver) appends raw results to an unsorted memtable
  // (sorted once, when flushed): ingest never reads raw keys back. Readers keep
  // the default sorted memtable, which range scans need.
  bool primary = false;
  // One block cache for every family. Null: family_descriptors() makes one of
  // kDefaultBlockCacheBytes for them to share (RocksDB's own default is an
  // 8 MiB cache per family, six of them per instance).
  std::shared_ptr<rocksdb::Cache> block_cache;
};

inline constexpr std::size_t kDefaultBlockCacheBytes = 8u << 20;

// Column family handles, in the order family_descriptors() lists them.
enum Family : std::size_t { kDefaultCf = 0, kRawCf, kLatestCf, kMinuteCf, kHourCf, kBatchesCf };
inline constexpr std::size_t kFamilyCount = 6;

std::vector<rocksdb::ColumnFamilyDescriptor> family_descriptors(const FamilyConfig& config);

// What an open RocksDB instance holds in memory besides its block cache, in
// bytes, summed over its column families. For a secondary instance, the
// memtables are the primary's unflushed writes replayed from its WAL.
struct ReaderMemory {
  uint64_t memtables = 0;            // active and sealed, not yet flushed
  uint64_t memtables_retired = 0;    // flushed or dropped, still pinned by readers
  uint64_t immutable_memtables = 0;  // how many sealed memtables (a count)
  uint64_t table_readers = 0;        // index and filter blocks of the open table files

  // Adds `other`'s figures (several readers in one process).
  ReaderMemory& operator+=(const ReaderMemory& other) {
    memtables += other.memtables;
    memtables_retired += other.memtables_retired;
    immutable_memtables += other.immutable_memtables;
    table_readers += other.table_readers;
    return *this;
  }
};
ReaderMemory memory_of(rocksdb::DB& db);

// Memory all column families' write buffers (memtables) may take together,
// by default: one RocksDB WriteBufferManager shared by every family, which
// flushes the oldest memtable once the total nears this. Without it each of the
// five families could grow two 64 MiB memtables.
inline constexpr std::size_t kDefaultWriteBufferBytes = std::size_t{128} << 20;

// Database-wide options for the primary (the receiver); `write_buffer_bytes`
// caps the memtables of all families together (0: no cap beyond RocksDB's
// per-family limits).
rocksdb::DBOptions primary_db_options(std::size_t write_buffer_bytes = kDefaultWriteBufferBytes);

}  // namespace mutuo::store
