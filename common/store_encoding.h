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

#include "common/messages/results.h"
#include "common/result.h"

namespace mutuo::store {

// Appends the encoding of `r` (without kind, target, probe and ts) to `out`.
void encode_result(const ProbeResult& r, std::string& out);

// Decodes what encode_result() wrote into `*r`, whose kind, target, probe and ts
// the caller fills from the key. Fails on truncated or unknown input.
Result<bool> decode_result(std::string_view in, ProbeResult* r);

// Varints (LEB128), shared with the rollup encoding.
void put_varint(std::string& out, uint64_t v);
// Reads one varint from the front of `*in` and advances it; false when truncated.
bool get_varint(std::string_view* in, uint64_t* v);

// Milliseconds (non-negative) to integer microseconds and back.
uint64_t ms_to_us(double ms);
inline double us_to_ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace mutuo::store
