#include "common/store_layout.h"

namespace mutuo::store {

void put_big_endian(std::string& out, uint64_t v, int bytes) {
  char buf[8];
  for (int i = bytes - 1; i >= 0; --i)
    buf[bytes - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(buf, static_cast<std::size_t>(bytes));
}

uint64_t get_big_endian(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string series_key(const SeriesId& s) {
  std::string k;
  k.reserve(s.observer.size() + s.target.size() + s.probe.size() + 3);
  k.append(s.observer).push_back('\0');
  k.push_back(s.kind == TargetKind::kPeer ? 'p' : 'c');
  k.append(s.target).push_back('\0');
  k.append(s.probe);
  return k;
}

std::optional<SeriesId> parse_series_key(std::string_view key) {
  auto a = key.find('\0');
  if (a == std::string_view::npos || a + 1 >= key.size()) return std::nullopt;
  auto b = key.find('\0', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  SeriesId s;
  s.observer = key.substr(0, a);
  char kind = key[a + 1];
  if (kind != 'p' && kind != 'c') return std::nullopt;
  s.kind = kind == 'p' ? TargetKind::kPeer : TargetKind::kCheck;
  s.target = key.substr(a + 2, b - a - 2);
  s.probe = key.substr(b + 1);
  if (s.probe.find('\0') != std::string::npos) return std::nullopt;
  return s;
}

std::string raw_key(const SeriesId& s, int64_t ts_ms, uint16_t seq) {
  std::string k = series_key(s);
  k.push_back('\0');
  put_big_endian(k, static_cast<uint64_t>(ts_ms), 8);
  put_big_endian(k, seq, 2);
  return k;
}

namespace {

// Where a raw key's series key ends: at its third 0x00 (ids never hold one, and
// the series key holds two). npos when there is none.
std::size_t raw_series_end(std::string_view key) {
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    at = key.find('\0', i == 0 ? 0 : at + 1);
    if (at == std::string_view::npos) return at;
  }
  return at;
}

}  // namespace

std::string raw_minute_key(const SeriesId& s, int64_t minute_start_ms) {
  return rollup_key(s, minute_start_ms);
}

std::optional<RawKey> parse_raw_key(std::string_view key) {
  const std::size_t end = raw_series_end(key);
  if (end == std::string_view::npos) return std::nullopt;
  const std::size_t tail = key.size() - end - 1;
  if (tail != 10 && tail != 8) return std::nullopt;
  auto series = parse_series_key(key.substr(0, end));
  if (!series) return std::nullopt;
  std::string_view t = key.substr(end + 1);
  RawKey k{*series, static_cast<int64_t>(get_big_endian(t, 8)), 0, tail == 8};
  if (tail == 10) k.seq = static_cast<uint16_t>(get_big_endian(t.substr(8), 2));
  return k;
}

int64_t bucket_start(Tier tier, int64_t ts_ms) {
  const int64_t width = tier == Tier::kHour ? kHourMs : kMinuteMs;
  int64_t r = ts_ms % width;
  if (r < 0) r += width;
  return ts_ms - r;
}

std::string rollup_key(const SeriesId& s, int64_t bucket_start_ms) {
  std::string k = series_key(s);
  k.push_back('\0');
  put_big_endian(k, static_cast<uint64_t>(bucket_start_ms), 8);
  return k;
}

std::optional<RollupKey> parse_rollup_key(std::string_view key) {
  constexpr std::size_t kSuffix = 1 + 8;
  if (key.size() <= kSuffix || key[key.size() - kSuffix] != '\0') return std::nullopt;
  auto series = parse_series_key(key.substr(0, key.size() - kSuffix));
  if (!series) return std::nullopt;
  return RollupKey{*series, static_cast<int64_t>(get_big_endian(key.substr(key.size() - 8), 8))};
}

std::string batch_key(std::string_view agent, uint64_t batch) {
  std::string k(agent);
  k.push_back('\0');
  put_big_endian(k, batch, 8);
  return k;
}

std::optional<int64_t> key_timestamp(std::string_view key, bool raw) {
  if (raw) {  // either form: the 8 bytes after the series key's end
    const std::size_t end = raw_series_end(key);
    if (end == std::string_view::npos || key.size() - end - 1 < 8) return std::nullopt;
    return static_cast<int64_t>(get_big_endian(key.substr(end + 1), 8));
  }
  if (key.size() < 9) return std::nullopt;
  return static_cast<int64_t>(get_big_endian(key.substr(key.size() - 8), 8));
}

}  // namespace mutuo::store
