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
// Readers: AlertHistory::query() on the writer itself, and AlertHistoryReader
// for other processes (the dashboard, tools: `mutuo-alert-history`), a RocksDB
// secondary instance that catches up with the receiver's primary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/messages/alert.h"
#include "common/result.h"

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
  // Opens (creating if needed) the history in `dir`. Entries older than
  // keep_ms (behind the `now_ms` given to prune()) are dropped by prune().
  static Result<std::unique_ptr<AlertHistory>> open(const std::string& dir, int64_t keep_ms);
  ~AlertHistory();

  // Appends entries in one synced write. One thread at a time (the health thread).
  Result<bool> append(const std::vector<HistoryEntry>& entries);
  // Drops entries older than now_ms - keep_ms; returns how many.
  Result<std::size_t> prune(int64_t now_ms);
  // Newest first. Any thread.
  std::vector<HistoryEntry> query(const HistoryQuery& q) const;

 private:
  AlertHistory() = default;
  std::unique_ptr<rocksdb::DB> db_;
  int64_t keep_ms_ = 0;
  uint32_t seq_ = 0;  // next sequence number (breaks ties of one millisecond)
};

// The dashboard's (or a tool's) view: opens `primary_dir` as a secondary
// instance keeping its own files in `secondary_dir`. Threading: query() from
// any thread, catch_up() from one at a time.
class AlertHistoryReader {
 public:
  static Result<std::unique_ptr<AlertHistoryReader>> open(const std::string& primary_dir,
                                                          const std::string& secondary_dir);
  ~AlertHistoryReader();
  // Reads what the receiver wrote since open() or the last catch_up().
  Result<bool> catch_up();
  // Newest first, as of the last catch_up() or open().
  std::vector<HistoryEntry> query(const HistoryQuery& q) const;

 private:
  AlertHistoryReader() = default;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace mutuo::health
