// Compact encoding of one probe result as the store keeps it (DESIGN.md,
// "Storage"): what the key already says (observer, target, probe, timestamp) is
// left out, times are quantized to integer microseconds and every number is a
// varint. RocksDB compresses the blocks with zstd on the bottom level, which is
// where the ~10 bytes per result on disk come from (docs/receiver.md).
//
// Quantization: every time in ms is rounded to the nearest microsecond, so a
// value with at most three decimals (11.2, 0.125) reads back exactly; finer
// values come back rounded. Counts, flags, status, bytes, DNS answers and the
// error text are kept exactly; certificate days to a thousandth of a day.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/results.h"
#include "common/result.h"

namespace mutuo::store {

// Appends the encoding of `r` (without kind, target, probe and ts) to `out`.
void encode_result(const ProbeResult& r, std::string& out);

// Decodes what encode_result() wrote into `*r`, whose kind, target, probe and ts
// the caller fills from the key. Fails on truncated or unknown input.
Result<bool> decode_result(std::string_view in, ProbeResult* r);

// A raw minute (store format 2, common/store_layout.h): one series' results of
// one minute in one value: the byte 0x02, then per result, ordered by (ts, seq)
// and unique: varint ms since the minute's start, varint seq, varint size, and
// the encode_result() bytes. The key holds the series and the minute.
struct RawEntry {
  uint64_t offset_ms = 0;  // ts - the minute's start
  uint16_t seq = 0;        // results of one batch sharing series and ts: 0, 1, ...
  std::string_view encoded;
};
inline constexpr char kRawMinuteFormat = 2;
// Appends one entry to a value begun with kRawMinuteFormat (callers append in
// (ts, seq) order).
void append_raw_entry(std::string& out, uint64_t offset_ms, uint16_t seq, std::string_view encoded);
// The entries of a raw minute value, in stored order; false when it is malformed.
bool decode_raw_minute(std::string_view value, std::vector<RawEntry>* out);
// The union of raw minute values given oldest first, as one value: ordered by
// (ts, seq), and where several hold the same (ts, seq) the newest one's result.
// What RocksDB's merge operator computes; false (and *out untouched) when one
// of them is malformed.
bool merge_raw_minutes(const std::vector<std::string_view>& values, std::string* out);

// Varints (LEB128), shared with the rollup encoding.
void put_varint(std::string& out, uint64_t v);
// Reads one varint from the front of `*in` and advances it; false when truncated.
bool get_varint(std::string_view* in, uint64_t* v);

// Milliseconds (non-negative) to integer microseconds and back.
uint64_t ms_to_us(double ms);
inline double us_to_ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace mutuo::store
