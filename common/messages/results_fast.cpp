#include "common/messages/results_fast.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/ids.h"

namespace mutuo {

namespace {

// The reference decoder's limits (results.cpp, codec.h), restated where they
// are not exported.
constexpr double kMaxRttMs = 3'600'000.0;
constexpr int kMaxDepth = static_cast<int>(codec::kMaxDepth);
constexpr uint64_t kMaxBatch = uint64_t{1} << 53;
constexpr uint64_t kMaxPackets = 100000;
constexpr uint64_t kMaxStatus = 999;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
constexpr std::size_t kMaxProbeLength = 16;
constexpr std::size_t kMaxErrorLength = 256;
constexpr std::size_t kMaxPhases = 8;
constexpr std::size_t kMaxPhaseName = 16;
constexpr uint64_t kMaxAnswers = kMaxDnsAnswers;

bool known_probe(std::string_view p) {
  return p == "udp" || p == "icmp" || p == "tcp" || p == "http" || p == "dns";
}

// One pass over the payload. Every method returns false as soon as the input
// is not something it accepts outright; the caller then asks the reference.
class Parser {
 public:
  explicit Parser(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  bool batch(ResultBatch* b);

 private:
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    skip_ws();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // A string of printable ASCII without escapes (0x20-0x7f but '\\').
  bool string(std::string_view* s) {
    if (!eat('"')) return false;
    const char* start = p_;
    for (; p_ != end_; ++p_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *s = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }

  // A JSON number; `*integral` when it has no sign, fraction or exponent.
  bool number_token(std::string_view* token, bool* integral) {
    skip_ws();
    const char* start = p_;
    *integral = true;
    if (p_ != end_ && *p_ == '-') {
      *integral = false;
      ++p_;
    }
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      *integral = false;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      *integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    *token = std::string_view(start, static_cast<std::size_t>(p_ - start));
    return true;
  }

  // Digits only, at most 19 of them (so they fit in 64 bits).
  static bool digits_value(std::string_view token, uint64_t* v) {
    if (token.size() > 19) return false;
    uint64_t u = 0;
    for (char c : token) u = u * 10 + static_cast<uint64_t>(c - '0');
    *v = u;
    return true;
  }

  // An integer 0..max, as codec::get_uint reads it.
  bool uint_value(uint64_t max, uint64_t* v) {
    std::string_view token;
    bool integral = false;
    return number_token(&token, &integral) && integral && digits_value(token, v) && *v <= max;
  }

  // A finite number min..max, as codec::get_number reads it: an integer
  // converts to double (so "-0" is +0.0), anything else is parsed correctly
  // rounded (as strtod does).
  bool number_value(double min, double max, double* d) {
    std::string_view token;
    bool integral = false;
    if (!number_token(&token, &integral)) return false;
    bool negative = token.front() == '-';
    std::string_view digits = negative ? token.substr(1) : token;
    if (negative && min >= 0) return false;  // out of range, or -0: the reference's verdict
    if (digits.find_first_of(".eE") == std::string_view::npos) {
      uint64_t u = 0;
      if (!digits_value(digits, &u)) return false;
      *d = static_cast<double>(u);
      if (negative && u != 0) *d = -*d;
    } else {
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), *d);
      if (ec != std::errc() || end != token.data() + token.size()) return false;
    }
    return std::isfinite(*d) && *d >= min && *d <= max;
  }

  bool literal(const char* word) {
    skip_ws();
    std::size_t n = std::strlen(word);
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  bool bool_value(bool* v) {
    skip_ws();
    if (p_ != end_ && *p_ == 't') {
      *v = true;
      return literal("true");
    }
    *v = false;
    return literal("false");
  }

  // An object at nesting level `depth` (the payload's object is 1): `field(key)`
  // reads each member's value.
  template <class Field>
  bool object(int depth, Field&& field) {
    if (depth > kMaxDepth || !eat('{')) return false;
    if (eat('}')) return true;
    for (;;) {
      std::string_view key;
      if (!string(&key) || !eat(':') || !field(key)) return false;
      if (eat(',')) continue;
      return eat('}');
    }
  }

  // Keys of the members of one object that the decoder does not read: the
  // reference refuses a payload naming any member twice ("duplicate key"), so
  // a repeated one is left to it, as are objects with very many of them.
  class OtherKeys {
   public:
    bool first(std::string_view key) {
      if (n_ == kMax) return false;
      for (std::size_t i = 0; i < n_; ++i) {
        if (keys_[i] == key) return false;
      }
      keys_[n_++] = key;
      return true;
    }

   private:
    static constexpr std::size_t kMax = 8;
    std::string_view keys_[kMax];
    std::size_t n_ = 0;
  };

  // A member the decoder does not read, ignored as the reference ignores it.
  bool skip_member(std::string_view key, int depth, OtherKeys* seen) {
    return seen->first(key) && skip_value(depth);
  }

  // Any JSON value.
  bool skip_value(int depth) {
    skip_ws();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        std::string_view s;
        return string(&s);
      }
      case '{': {
        OtherKeys seen;
        return object(depth,
                      [&](std::string_view key) { return skip_member(key, depth + 1, &seen); });
      }
      case '[': {
        if (depth > kMaxDepth) return false;
        ++p_;
        if (eat(']')) return true;
        for (;;) {
          if (!skip_value(depth + 1)) return false;
          if (eat(',')) continue;
          return eat(']');
        }
      }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default: {
        std::string_view token;
        bool integral = false;
        if (!number_token(&token, &integral)) return false;
        if (integral) return true;
        // nlohmann refuses a number that overflows a double; let it say so.
        double d = 0;
        auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
        return ec == std::errc() && end == token.data() + token.size() && std::isfinite(d);
      }
    }
  }

  bool rtt(int depth, Rtt* t) {
    unsigned seen = 0;
    OtherKeys others;
    bool ok = object(depth, [&](std::string_view key) {
      double* into = nullptr;
      unsigned bit = 0;
      if (key == "min") {
        into = &t->min, bit = 1;
      } else if (key == "avg") {
        into = &t->avg, bit = 2;
      } else if (key == "max") {
        into = &t->max, bit = 4;
      } else {
        return skip_member(key, depth + 1, &others);
      }
      if (seen & bit) return false;  // a duplicate key: the reference keeps the last one
      seen |= bit;
      return number_value(0, kMaxRttMs, into);
    });
    return ok && seen == 7 && t->min <= t->avg && t->avg <= t->max;
  }

  bool phases(int depth, std::map<std::string, double>* out) {
    return object(depth, [&](std::string_view key) {
      if (key.empty() || key.size() > kMaxPhaseName || !valid_id(key)) return false;
      if (out->size() >= kMaxPhases) return false;
      double ms = 0;
      if (!number_value(0, kMaxRttMs, &ms)) return false;
      return out->emplace(key, ms).second;  // a duplicate key: left to the reference
    });
  }

  bool result(int depth, ProbeResult* r);

  const char* p_;
  const char* const end_;
};

enum ResultField : unsigned {
  kPeer = 1 << 0,
  kCheck = 1 << 1,
  kProbe = 1 << 2,
  kTs = 1 << 3,
  kSent = 1 << 4,
  kRecv = 1 << 5,
  kRtt = 1 << 6,
  kJitter = 1 << 7,
  kOk = 1 << 8,
  kStatus = 1 << 9,
  kMs = 1 << 10,
  kBytes = 1 << 11,
  kError = 1 << 12,
  kAnswers = 1 << 13,
  kCertDays = 1 << 14,
};

bool Parser::result(int depth, ProbeResult* r) {
  unsigned seen = 0;
  OtherKeys others;
  auto first = [&](unsigned bit) {
    if (seen & bit) return false;  // a duplicate key: the reference keeps the last one
    seen |= bit;
    return true;
  };
  bool ok = object(depth, [&](std::string_view key) {
    std::string_view s;
    uint64_t u = 0;
    if (key == "peer" || key == "check") {
      bool peer = key == "peer";
      if (!first(peer ? kPeer : kCheck) || !string(&s) || !valid_id(s)) return false;
      r->kind = peer ? TargetKind::kPeer : TargetKind::kCheck;
      r->target.assign(s);
      return true;
    }
    if (key == "probe") {
      if (!first(kProbe) || !string(&s) || s.size() > kMaxProbeLength || !known_probe(s)) {
        return false;
      }
      r->probe.assign(s);
      return true;
    }
    if (key == "ts") {
      if (!first(kTs) || !uint_value(static_cast<uint64_t>(codec::kMaxTimestampMs), &u) || u == 0) {
        return false;
      }
      r->ts_ms = static_cast<int64_t>(u);
      return true;
    }
    if (key == "sent" || key == "recv") {
      bool sent = key == "sent";
      if (!first(sent ? kSent : kRecv) || !uint_value(kMaxPackets, &u)) return false;
      (sent ? r->sent : r->recv) = static_cast<uint32_t>(u);
      return true;
    }
    if (key == "rtt_ms") {
      Rtt t;
      if (!first(kRtt) || !rtt(depth + 1, &t)) return false;
      r->rtt_ms = t;
      return true;
    }
    if (key == "jitter_ms") {
      double d = 0;
      if (!first(kJitter) || !number_value(0, kMaxRttMs, &d)) return false;
      r->jitter_ms = d;
      return true;
    }
    if (key == "ok") {
      bool b = false;
      if (!first(kOk) || !bool_value(&b)) return false;
      r->ok = b;
      return true;
    }
    if (key == "status") {
      if (!first(kStatus) || !uint_value(kMaxStatus, &u)) return false;
      r->status = static_cast<int>(u);
      return true;
    }
    if (key == "ms") return first(kMs) && phases(depth + 1, &r->phase_ms);
    if (key == "bytes") {
      if (!first(kBytes) || !uint_value(kMaxBytes, &u)) return false;
      r->bytes = u;
      return true;
    }
    if (key == "answers") {
      if (!first(kAnswers) || !uint_value(kMaxAnswers, &u)) return false;
      r->answers = static_cast<uint32_t>(u);
      return true;
    }
    if (key == "cert_days_left") {
      double d = 0;
      if (!first(kCertDays) || !number_value(-kMaxCertDays, kMaxCertDays, &d)) return false;
      r->cert_days_left = d;
      return true;
    }
    if (key == "error") {
      if (!first(kError) || !string(&s) || s.size() > kMaxErrorLength ||
          s.find('\x7f') != std::string_view::npos) {
        return false;
      }
      r->error.assign(s);
      return true;
    }
    return skip_member(key, depth + 1, &others);
  });
  if (!ok) return false;
  if (((seen & kPeer) != 0) == ((seen & kCheck) != 0)) return false;
  if ((seen & (kProbe | kTs)) != (kProbe | kTs)) return false;
  if (r->sent.has_value() != r->recv.has_value()) return false;
  return !r->sent || *r->recv <= *r->sent;
}

bool Parser::batch(ResultBatch* b) {
  enum : unsigned { kV = 1, kAgent = 2, kBatch = 4, kResults = 8 };
  unsigned seen = 0;
  OtherKeys others;
  auto first = [&](unsigned bit) {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  };
  bool ok = object(1, [&](std::string_view key) {
    if (key == "results") {
      if (!first(kResults) || !eat('[')) return false;
      if (eat(']')) return true;
      for (;;) {
        if (b->results.size() >= kMaxResultsPerBatch) return false;
        if (!result(3, &b->results.emplace_back())) return false;
        if (eat(',')) continue;
        return eat(']');
      }
    }
    if (key == "v") {
      uint64_t v = 0;
      constexpr auto kVersion = static_cast<uint64_t>(codec::kVersion);
      return first(kV) && uint_value(kVersion, &v) && v == kVersion;
    }
    if (key == "agent") {
      std::string_view s;
      if (!first(kAgent) || !string(&s) || !valid_id(s)) return false;
      b->agent.assign(s);
      return true;
    }
    if (key == "batch") return first(kBatch) && uint_value(kMaxBatch, &b->batch);
    return skip_member(key, 2, &others);
  });
  skip_ws();
  return ok && p_ == end_ && seen == (kV | kAgent | kBatch | kResults);
}

}  // namespace

bool try_decode_results_fast(std::string_view payload, ResultBatch* out) {
  if (payload.size() > kMaxResultsPayload) return false;
  *out = ResultBatch{};
  out->results.reserve(64);
  return Parser(payload).batch(out);
}

Result<ResultBatch> decode_results_fast(std::string_view payload) {
  ResultBatch b;
  if (try_decode_results_fast(payload, &b)) return b;
  return decode_results(payload);
}

}  // namespace mutuo
