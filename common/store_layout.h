// The receiver's RocksDB layout (DESIGN.md, "Storage"), shared by the writer
// (receiver/) and readers (dashboard/ through StoreReader).
//
// Column families:
//   raw     series key, 0x00, ts (8 bytes big-endian), seq (2 bytes big-endian)
//           -> one result as JSON. Writing the same result twice writes the same key.
//   latest  series key -> the newest result of that series as JSON.
// Series key: observer, 0x00, kind ('p' peer | 'c' check), target, 0x00, probe.
// Ids never contain 0x00, and 0x00 sorts first, so all keys of one observer (or
// one series) are contiguous and a time range is one seek and a scan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages/results.h"

namespace mutuo::store {

inline constexpr const char* kRawFamily = "raw";
inline constexpr const char* kLatestFamily = "latest";

struct SeriesId {
  std::string observer;
  TargetKind kind = TargetKind::kPeer;
  std::string target;
  std::string probe;

  bool operator==(const SeriesId&) const = default;
};

std::string series_key(const SeriesId& s);
std::optional<SeriesId> parse_series_key(std::string_view key);

std::string raw_key(const SeriesId& s, int64_t ts_ms, uint16_t seq);
struct RawKey {
  SeriesId series;
  int64_t ts_ms = 0;
  uint16_t seq = 0;
};
std::optional<RawKey> parse_raw_key(std::string_view key);

void put_big_endian(std::string& out, uint64_t v, int bytes);
uint64_t get_big_endian(std::string_view in, int bytes);  // REQUIRES: in.size() >= bytes

}  // namespace mutuo::store
