// The receiver's RocksDB layout (DESIGN.md, "Storage"), shared by the writer
// (receiver/) and readers (dashboard/ through StoreReader).
//
// Column families:
//   raw      store format 2 (this version writes it): series key, 0x00, minute
//            start (8 bytes big-endian) -> the series' results of that minute,
//            quantized, each with its ts and seq (common/store_encoding.h,
//            "raw minute"), maintained by RocksDB merge operands: a write adds
//            one operand per series and minute, and the merge operator keeps one
//            result per (ts, seq), the latest written, so writing the same result
//            twice stores it once.
//            Format 1 (before): series key, 0x00, ts (8 bytes big-endian), seq
//            (2 bytes big-endian) -> one result. Still read (parse_raw_key tells
//            the forms apart), never written; retention ages them out.
//   latest   series key -> ts (8 bytes big-endian) + the newest result, quantized.
//   minute   series key, 0x00, bucket start ts (8 bytes big-endian) -> a Rollup
//   hour     (common/store_rollup.h), maintained by RocksDB merge operands, so
//            late data merges into the bucket it belongs to.
//   batches  agent, 0x00, batch number (8 bytes big-endian) -> when it was stored
//            (8 bytes big-endian ms): the ledger that makes a resent batch a no-op
//            for the rollups.
// Series key: observer, 0x00, kind ('p' peer | 'c' check), target, 0x00, probe.
// Ids never contain 0x00, and 0x00 sorts first, so all keys of one observer (or
// one series) are contiguous and a time range is one seek and a scan. Every key
// of raw, minute and hour ends with its timestamp, which is how retention
// (common/store_families.h) finds a key's age without decoding the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages/results.h"

namespace mutuo::store {

inline constexpr const char* kRawFamily = "raw";
inline constexpr const char* kLatestFamily = "latest";
inline constexpr const char* kMinuteFamily = "minute";
inline constexpr const char* kHourFamily = "hour";
inline constexpr const char* kBatchesFamily = "batches";

// Rollup tiers and the width of their buckets.
enum class Tier { kRaw, kMinute, kHour };
inline constexpr int64_t kMinuteMs = 60'000;
inline constexpr int64_t kHourMs = 3'600'000;
// Start of the bucket of `tier` (kMinute or kHour) holding `ts_ms`.
int64_t bucket_start(Tier tier, int64_t ts_ms);

struct SeriesId {
  std::string observer;
  TargetKind kind = TargetKind::kPeer;
  std::string target;
  std::string probe;

  bool operator==(const SeriesId&) const = default;
};

std::string series_key(const SeriesId& s);
std::optional<SeriesId> parse_series_key(std::string_view key);

// The raw key of one series' minute (format 2; the same shape as a rollup key).
std::string raw_minute_key(const SeriesId& s, int64_t minute_start_ms);
// A format-1 raw key (one result); only tests and tools that read old stores need it.
std::string raw_key(const SeriesId& s, int64_t ts_ms, uint16_t seq);
struct RawKey {
  SeriesId series;
  int64_t ts_ms = 0;    // format 1: the result's ts; format 2: the minute's start
  uint16_t seq = 0;     // format 1 only
  bool minute = false;  // format 2: the value holds the minute's results
};
// Either form; nullopt when the key is neither.
std::optional<RawKey> parse_raw_key(std::string_view key);

// Key of one rollup bucket (minute or hour family).
std::string rollup_key(const SeriesId& s, int64_t bucket_start_ms);
struct RollupKey {
  SeriesId series;
  int64_t bucket_start_ms = 0;
};
std::optional<RollupKey> parse_rollup_key(std::string_view key);

// Key of one batch in the ledger (batches family).
std::string batch_key(std::string_view agent, uint64_t batch);

// The timestamp every raw (`raw` true: either form) or rollup key ends with;
// nullopt when the key is too short to hold one.
std::optional<int64_t> key_timestamp(std::string_view key, bool raw);

void put_big_endian(std::string& out, uint64_t v, int bytes);
uint64_t get_big_endian(std::string_view in, int bytes);  // REQUIRES: in.size() >= bytes

}  // namespace mutuo::store
