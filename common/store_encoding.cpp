#include "common/store_encoding.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace mutuo::store {

namespace {

// Presence bits, in the order the fields follow.
enum : uint32_t {
  kCounts = 1 << 0,  // sent, sent - recv
  kRtt = 1 << 1,     // min, avg - min, max - avg (µs)
  kJitter = 1 << 2,  // µs
  kOkSet = 1 << 3,   // ok present ...
  kOkTrue = 1 << 4,  // ... and true
  kStatus = 1 << 5,
  kPhases = 1 << 6,  // count, then (name code | name), µs
  kBytes = 1 << 7,
  kError = 1 << 8,  // length, text
  kAnswers = 1 << 9,
  kCertDays = 1 << 10,  // zigzag, thousandths of a day
};
constexpr uint32_t kKnownBits = (1 << 11) - 1;

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Phase names the probes use, stored as one small number; others by name.
constexpr std::array<std::string_view, 6> kPhaseNames = {"dns",  "connect", "tls",
                                                         "ttfb", "total",   "send"};

bool get_bytes(std::string_view* in, std::size_t n, std::string* out) {
  if (in->size() < n) return false;
  out->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

}  // namespace

void put_varint(std::string& out, uint64_t v) {
  char buf[10];  // one append instead of a capacity check per byte
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

bool get_varint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

uint64_t ms_to_us(double ms) {
  if (!(ms > 0)) return 0;  // also NaN: the codec refuses those before they get here
  return static_cast<uint64_t>(std::llround(ms * 1000.0));
}

void encode_result(const ProbeResult& r, std::string& out) {
  uint32_t bits = 0;
  if (r.sent && r.recv) bits |= kCounts;
  if (r.rtt_ms) bits |= kRtt;
  if (r.jitter_ms) bits |= kJitter;
  if (r.ok) bits |= kOkSet | (*r.ok ? uint32_t{kOkTrue} : uint32_t{0});
  if (r.status) bits |= kStatus;
  if (!r.phase_ms.empty()) bits |= kPhases;
  if (r.bytes) bits |= kBytes;
  if (!r.error.empty()) bits |= kError;
  if (r.answers) bits |= kAnswers;
  if (r.cert_days_left) bits |= kCertDays;
  put_varint(out, bits);
  if (bits & kCounts) {
    put_varint(out, *r.sent);
    put_varint(out, *r.sent >= *r.recv ? *r.sent - *r.recv : 0);
  }
  if (bits & kRtt) {
    uint64_t mn = ms_to_us(r.rtt_ms->min), avg = ms_to_us(r.rtt_ms->avg),
             mx = ms_to_us(r.rtt_ms->max);
    avg = std::max(avg, mn);
    mx = std::max(mx, avg);
    put_varint(out, mn);
    put_varint(out, avg - mn);
    put_varint(out, mx - avg);
  }
  if (bits & kJitter) put_varint(out, ms_to_us(*r.jitter_ms));
  if (bits & kStatus) put_varint(out, static_cast<uint64_t>(std::max(0, *r.status)));
  if (bits & kPhases) {
    put_varint(out, r.phase_ms.size());
    for (const auto& [name, ms] : r.phase_ms) {
      uint64_t code = 0;
      for (std::size_t i = 0; i < kPhaseNames.size(); ++i) {
        if (kPhaseNames[i] == name) code = i + 1;
      }
      put_varint(out, code);
      if (code == 0) {
        put_varint(out, name.size());
        out.append(name);
      }
      put_varint(out, ms_to_us(ms));
    }
  }
  if (bits & kBytes) put_varint(out, *r.bytes);
  if (bits & kError) {
    put_varint(out, r.error.size());
    out.append(r.error);
  }
  if (bits & kAnswers) put_varint(out, *r.answers);
  if (bits & kCertDays) put_varint(out, zigzag(std::llround(*r.cert_days_left * 1000.0)));
}

Result<bool> decode_result(std::string_view in, ProbeResult* r) {
  const Error truncated{"stored result truncated"};
  uint64_t bits = 0, v = 0;
  if (!get_varint(&in, &bits)) return truncated;
  if (bits & ~uint64_t{kKnownBits}) return Error{"stored result has unknown fields"};
  if (bits & kCounts) {
    uint64_t lost = 0;
    if (!get_varint(&in, &v) || !get_varint(&in, &lost) || lost > v) return truncated;
    r->sent = static_cast<uint32_t>(v);
    r->recv = static_cast<uint32_t>(v - lost);
  }
  if (bits & kRtt) {
    uint64_t mn = 0, d1 = 0, d2 = 0;
    if (!get_varint(&in, &mn) || !get_varint(&in, &d1) || !get_varint(&in, &d2)) return truncated;
    r->rtt_ms = Rtt{us_to_ms(mn), us_to_ms(mn + d1), us_to_ms(mn + d1 + d2)};
  }
  if (bits & kJitter) {
    if (!get_varint(&in, &v)) return truncated;
    r->jitter_ms = us_to_ms(v);
  }
  if (bits & kOkSet) r->ok = (bits & kOkTrue) != 0;
  if (bits & kStatus) {
    if (!get_varint(&in, &v)) return truncated;
    r->status = static_cast<int>(v);
  }
  if (bits & kPhases) {
    uint64_t n = 0;
    if (!get_varint(&in, &n) || n > 64) return truncated;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t code = 0;
      std::string name;
      if (!get_varint(&in, &code) || code > kPhaseNames.size()) return truncated;
      if (code == 0) {
        uint64_t len = 0;
        if (!get_varint(&in, &len) || !get_bytes(&in, len, &name)) return truncated;
      } else {
        name = kPhaseNames[code - 1];
      }
      if (!get_varint(&in, &v)) return truncated;
      r->phase_ms[name] = us_to_ms(v);
    }
  }
  if (bits & kBytes) {
    if (!get_varint(&in, &v)) return truncated;
    r->bytes = v;
  }
  if (bits & kError) {
    uint64_t len = 0;
    if (!get_varint(&in, &len) || !get_bytes(&in, len, &r->error)) return truncated;
  }
  if (bits & kAnswers) {
    if (!get_varint(&in, &v)) return truncated;
    r->answers = static_cast<uint32_t>(v);
  }
  if (bits & kCertDays) {
    if (!get_varint(&in, &v)) return truncated;
    r->cert_days_left = static_cast<double>(unzigzag(v)) / 1000.0;
  }
  if (!in.empty()) return Error{"stored result has trailing bytes"};
  return true;
}

void append_raw_entry(std::string& out, uint64_t offset_ms, uint16_t seq,
                      std::string_view encoded) {
  put_varint(out, offset_ms);
  put_varint(out, seq);
  put_varint(out, encoded.size());
  out.append(encoded);
}

bool decode_raw_minute(std::string_view value, std::vector<RawEntry>* out) {
  out->clear();
  if (value.empty() || value.front() != kRawMinuteFormat) return false;
  value.remove_prefix(1);
  while (!value.empty()) {
    uint64_t offset = 0, seq = 0, size = 0;
    if (!get_varint(&value, &offset) || !get_varint(&value, &seq) || !get_varint(&value, &size) ||
        seq > 0xffff || size > value.size()) {
      return false;
    }
    out->push_back({offset, static_cast<uint16_t>(seq), value.substr(0, size)});
    value.remove_prefix(size);
  }
  return true;
}

bool merge_raw_minutes(const std::vector<std::string_view>& values, std::string* out) {
  struct Tagged {
    RawEntry e;
    std::size_t from;  // index in `values`: the newest wins
  };
  std::vector<Tagged> all;
  std::vector<RawEntry> entries;
  std::size_t total = 1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!decode_raw_minute(values[i], &entries)) return false;
    for (const RawEntry& e : entries) all.push_back({e, i});
    total += values[i].size();
  }
  auto before = [](const Tagged& x, const Tagged& y) {
    if (x.e.offset_ms != y.e.offset_ms) return x.e.offset_ms < y.e.offset_ms;
    if (x.e.seq != y.e.seq) return x.e.seq < y.e.seq;
    return x.from < y.from;
  };
  // Usually already in order: operands of successive writes follow in time.
  if (!std::is_sorted(all.begin(), all.end(), before)) std::sort(all.begin(), all.end(), before);
  std::string merged;
  merged.reserve(total);
  merged.push_back(kRawMinuteFormat);
  for (std::size_t k = 0; k < all.size(); ++k) {
    if (k + 1 < all.size() && all[k + 1].e.offset_ms == all[k].e.offset_ms &&
        all[k + 1].e.seq == all[k].e.seq) {
      continue;  // a newer value holds the same result
    }
    append_raw_entry(merged, all[k].e.offset_ms, all[k].e.seq, all[k].e.encoded);
  }
  *out = std::move(merged);
  return true;
}

}  // namespace mutuo::store
