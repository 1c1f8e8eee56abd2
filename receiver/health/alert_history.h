// The alert history: every committed state change and every notice (sent or
// held back by a silence or flap damping) the receiver's health service decided,
// in a small RocksDB of its own (by default <store>/alert-history, beside the
// results store's files, so one directory holds all the receiver keeps).
//
// Layout (default column family), both keys pointing at the same JSON record:
//   't' ts (8 bytes big-endian) seq (4 bytes big-endian)              all, by time
//   's' subject 0x00 ts (8 bytes big-endian) seq (4 bytes big-endian) by subject
// Record: {"ts":..,"kind":"change"|"alert"|"reminder"|"recovery",
//          "held_back":"silenced:{id}"|"flapping" (absent when sent or no notice),
//          "alert":{..the alert message as published..}}
// Alerts are rare (state changes, not results), so entries older than
// keep_ms are pruned by a short scan on the health thread, never near ingest.
//
// A full disk (docs/hardening.md, "Fault drills"): appends are refused with a
// clear error ("alert history: disk full: ...") while less than kMinFreeBytes is
// free on the history's filesystem, before RocksDB's write-ahead log could hit
// ENOSPC (Debian's RocksDB 7.8 aborts on an assertion after that). The refused
// entries are held in memory (at most kMaxHeld, the oldest dropped and counted
// beyond) and written first by the next append() once space returns, so a
// transient full disk loses no history; RocksDB's own log goes to the
// receiver's log (warnings and errors), never to a LOG file on that disk, and a
// background error (a failed flush) is cleared with Resume() once space returns.
//
// Readers: AlertHistory::query() on the writer itself, and AlertHistoryReader
// for other processes (the dashboard, tools: `mutuo-alert-history`), a RocksDB
// secondary instance that catches up with the receiver's primary.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/messages/alert.h"
#include "common/result.h"
#include "common/store_families.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace mutuo::health {

struct HistoryEntry {
  int64_t ts_ms = 0;      // when it was decided
  std::string kind;       // "change" (published, no notice), "alert", "reminder", "recovery"
  std::string held_back;  // "" (sent, or no notice), "silenced:{id}" or "flapping"
  Alert alert;            // as published (or, for a reminder, as sent)

  bool operator==(const HistoryEntry&) const = default;
};

struct HistoryQuery {
  std::string subject;  // one subject exactly, or "" for every subject
  int64_t from_ms = 0;  // [from, to) on ts_ms
  int64_t to_ms = INT64_MAX;
  std::size_t limit = 1000;  // newest first, at most this many
};

// A record's JSON (see above), and back; nullopt-like Error on a bad record.
std::string encode_history_entry(const HistoryEntry& e);
Result<HistoryEntry> decode_history_entry(std::string_view record);

class AlertHistory {
 public:
  static constexpr uint64_t kMinFreeBytes = uint64_t{16} << 20;
  static constexpr std::size_t kMaxHeld = 10'000;

  // Opens (creating if needed) the history in `dir`. Entries older than
  // keep_ms (behind the `now_ms` given to prune()) are dropped by prune().
  static Result<std::unique_ptr<AlertHistory>> open(const std::string& dir, int64_t keep_ms);
  ~AlertHistory();

  // Appends entries (after any held back by a full disk) in one synced write.
  // On a full disk: an Error, and the entries are held for the next call (an
  // empty `entries` retries them). One thread at a time (the health thread).
  Result<bool> append(const std::vector<HistoryEntry>& entries);
  // Entries waiting for space (see above), and those dropped beyond kMaxHeld.
  std::size_t held() const { return held_.size(); }
  uint64_t dropped() const { return dropped_; }
  // Drops entries older than now_ms - keep_ms; returns how many.
  Result<std::size_t> prune(int64_t now_ms);
  // Newest first. Any thread.
  std::vector<HistoryEntry> query(const HistoryQuery& q) const;

 private:
  AlertHistory() = default;
  Result<bool> writable();  // an Error while the disk is full; clears a background error
  std::unique_ptr<rocksdb::DB> db_;
  std::string dir_;
  int64_t keep_ms_ = 0;
  uint32_t seq_ = 0;               // next sequence number (breaks ties of one millisecond)
  std::deque<HistoryEntry> held_;  // refused by a full disk, written first next time
  uint64_t dropped_ = 0;
  bool refusing_ = false;  // the last write was refused (logs once when writing again)
};

// The dashboard's (or a tool's) view: opens `primary_dir` as a secondary
// instance keeping its own files in `secondary_dir`. Threading: query() from
// any thread, catch_up() from one at a time.
class AlertHistoryReader {
 public:
  // Reads through `block_cache` (null: one of store::kDefaultBlockCacheBytes).
  static Result<std::unique_ptr<AlertHistoryReader>> open(
      const std::string& primary_dir, const std::string& secondary_dir,
      std::shared_ptr<rocksdb::Cache> block_cache = nullptr);
  ~AlertHistoryReader();
  // Memtables and table readers (common/store_families.h).
  store::ReaderMemory memory() const { return store::memory_of(*db_); }
  // Reads what the receiver wrote since open() or the last catch_up().
  Result<bool> catch_up();
  // Newest first, as of the last catch_up() or open().
  std::vector<HistoryEntry> query(const HistoryQuery& q) const;

 private:
  AlertHistoryReader() = default;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace mutuo::health
