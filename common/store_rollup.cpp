#include "common/store_rollup.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "common/store_encoding.h"

namespace mutuo::store {

namespace {
constexpr int kSubBits = 4;  // 16 buckets per power of two
constexpr int kSub = 1 << kSubBits;
constexpr int kMaxBucket = kSub + (64 - kSubBits) * kSub;
}  // namespace

int LogHistogram::bucket_of(uint64_t v) {
  if (v < kSub) return static_cast<int>(v);
  int e = 63 - std::countl_zero(v);  // v in [2^e, 2^(e+1)), e >= kSubBits
  int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  return kSub + (e - kSubBits) * kSub + sub;
}

uint64_t LogHistogram::bucket_low(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int e = (bucket - kSub) / kSub + kSubBits;
  int sub = (bucket - kSub) % kSub;
  return (static_cast<uint64_t>(kSub + sub)) << (e - kSubBits);
}

uint64_t LogHistogram::bucket_high(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int e = (bucket - kSub) / kSub + kSubBits;
  return bucket_low(bucket) + (uint64_t{1} << (e - kSubBits)) - 1;
}

void LogHistogram::add(uint64_t v, uint64_t n) {
  const int b = bucket_of(v);
  auto it = std::lower_bound(counts_.begin(), counts_.end(), b,
                             [](const std::pair<int, uint64_t>& e, int x) { return e.first < x; });
  if (it != counts_.end() && it->first == b) {
    it->second += n;
  } else {
    counts_.insert(it, {b, n});
  }
  total_ += n;
}

void LogHistogram::merge(const LogHistogram& other) {
  if (other.counts_.empty()) return;
  std::vector<std::pair<int, uint64_t>> merged;
  merged.reserve(counts_.size() + other.counts_.size());
  auto a = counts_.cbegin(), b = other.counts_.cbegin();
  while (a != counts_.cend() || b != other.counts_.cend()) {
    if (b == other.counts_.cend() || (a != counts_.cend() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == counts_.cend() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a, ++b;
    }
  }
  counts_ = std::move(merged);
  total_ += other.total_;
}

void LogHistogram::add_sorted(const std::vector<uint64_t>& sorted) {
  if (sorted.empty()) return;
  LogHistogram more;
  for (uint64_t v : sorted) {
    const int b = bucket_of(v);  // non-decreasing, as the values are
    if (!more.counts_.empty() && more.counts_.back().first == b) {
      ++more.counts_.back().second;
    } else {
      more.counts_.emplace_back(b, 1);
    }
  }
  more.total_ = sorted.size();
  if (counts_.empty()) {
    *this = std::move(more);
  } else {
    merge(more);
  }
}

void LogHistogram::add_unsorted(std::vector<uint64_t>* values) {
  if (values->size() < 48) {  // a sort beats a sweep over the buckets
    std::sort(values->begin(), values->end());
    add_sorted(*values);
    return;
  }
  // One count per bucket in a dense table, then one sweep from the lowest to
  // the highest bucket seen (a minute's values span a few dozen buckets).
  thread_local std::array<uint32_t, kMaxBucket + 1> dense{};
  int lo = kMaxBucket, hi = 0;
  for (uint64_t v : *values) {
    const int b = bucket_of(v);
    ++dense[static_cast<std::size_t>(b)];
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  LogHistogram more;
  for (int b = lo; b <= hi; ++b) {
    uint32_t& n = dense[static_cast<std::size_t>(b)];
    if (n == 0) continue;
    more.counts_.emplace_back(b, n);
    n = 0;
  }
  more.total_ = values->size();
  if (counts_.empty()) {
    *this = std::move(more);
  } else {
    merge(more);
  }
}

uint64_t LogHistogram::quantile(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted value, 1-based: the smallest rank covering q.
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
  rank = std::clamp<uint64_t>(rank, 1, total_);
  uint64_t seen = 0;
  for (const auto& [b, n] : counts_) {
    seen += n;
    if (seen >= rank) return (bucket_low(b) + bucket_high(b)) / 2;
  }
  return bucket_high(counts_.rbegin()->first);
}

void LogHistogram::encode(std::string& out) const {
  put_varint(out, counts_.size());
  int prev = 0;
  for (const auto& [b, n] : counts_) {
    put_varint(out, static_cast<uint64_t>(b - prev));
    put_varint(out, n);
    prev = b;
  }
}

bool LogHistogram::decode(std::string_view* in) {
  counts_.clear();
  total_ = 0;
  uint64_t entries = 0;
  if (!get_varint(in, &entries) || entries > kMaxBucket) return false;
  counts_.reserve(entries);
  uint64_t bucket = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t delta = 0, n = 0;
    if (!get_varint(in, &delta) || !get_varint(in, &n)) return false;
    bucket += delta;
    if (bucket > kMaxBucket || (i > 0 && delta == 0)) return false;
    counts_.emplace_back(static_cast<int>(bucket), n);  // strictly increasing, checked above
    total_ += n;
  }
  return true;
}

std::optional<uint64_t> rollup_value_us(const ProbeResult& r) {
  if (r.rtt_ms) return ms_to_us(r.rtt_ms->avg);
  if (auto it = r.phase_ms.find("total"); it != r.phase_ms.end()) return ms_to_us(it->second);
  return std::nullopt;
}

void Rollup::add(const ProbeResult& r) {
  ++count;
  if (auto v = rollup_value_us(r)) {
    min_us = values == 0 ? *v : std::min(min_us, *v);
    max_us = values == 0 ? *v : std::max(max_us, *v);
    ++values;
    sum_us += *v;
    histogram.add(*v);
  }
  if (r.sent && r.recv) {
    sent += *r.sent;
    recv += *r.recv;
  }
  if ((r.ok && !*r.ok) || !r.error.empty()) ++failed;
}

RollupSample RollupSample::of(const ProbeResult& r) {
  RollupSample s;
  s.ts_ms = r.ts_ms;
  if (auto v = rollup_value_us(r)) {
    s.has_value = true;
    s.value_us = *v;
  }
  if (r.sent && r.recv) {
    s.sent = *r.sent;
    s.recv = *r.recv;
  }
  s.failed = (r.ok && !*r.ok) || !r.error.empty();
  return s;
}

Rollup Rollup::of(const RollupSample* samples, std::size_t n, std::vector<uint64_t>* scratch) {
  Rollup r;
  scratch->clear();
  for (std::size_t i = 0; i < n; ++i) {
    const RollupSample& s = samples[i];
    ++r.count;
    if (s.has_value) {
      r.min_us = r.values == 0 ? s.value_us : std::min(r.min_us, s.value_us);
      r.max_us = r.values == 0 ? s.value_us : std::max(r.max_us, s.value_us);
      ++r.values;
      r.sum_us += s.value_us;
      scratch->push_back(s.value_us);
    }
    r.sent += s.sent;
    r.recv += s.recv;
    if (s.failed) ++r.failed;
  }
  r.histogram.add_unsorted(scratch);
  return r;
}

void Rollup::merge(const Rollup& o) {
  if (o.values > 0) {
    min_us = values == 0 ? o.min_us : std::min(min_us, o.min_us);
    max_us = values == 0 ? o.max_us : std::max(max_us, o.max_us);
  }
  count += o.count;
  values += o.values;
  sum_us += o.sum_us;
  sent += o.sent;
  recv += o.recv;
  failed += o.failed;
  histogram.merge(o.histogram);
}

std::optional<double> Rollup::mean_ms() const {
  if (values == 0) return std::nullopt;
  return static_cast<double>(sum_us) / static_cast<double>(values) / 1000.0;
}

std::optional<double> Rollup::loss() const {
  if (sent > 0) return 1.0 - static_cast<double>(recv) / static_cast<double>(sent);
  if (count > 0) return static_cast<double>(failed) / static_cast<double>(count);
  return std::nullopt;
}

std::optional<double> Rollup::quantile_ms(double q) const {
  if (values == 0) return std::nullopt;
  uint64_t v = std::clamp(histogram.quantile(q), min_us, max_us);
  return us_to_ms(v);
}

std::string Rollup::encode() const {
  std::string out;
  out.push_back(1);  // format version
  put_varint(out, count);
  put_varint(out, values);
  put_varint(out, sum_us);
  put_varint(out, min_us);
  put_varint(out, max_us);
  put_varint(out, sent);
  put_varint(out, recv);
  put_varint(out, failed);
  histogram.encode(out);
  return out;
}

Result<Rollup> Rollup::decode(std::string_view in) {
  Rollup r;
  if (in.empty() || in.front() != 1) return Error{"unknown rollup format"};
  in.remove_prefix(1);
  for (uint64_t* f :
       {&r.count, &r.values, &r.sum_us, &r.min_us, &r.max_us, &r.sent, &r.recv, &r.failed}) {
    if (!get_varint(&in, f)) return Error{"rollup truncated"};
  }
  if (!r.histogram.decode(&in) || !in.empty()) return Error{"rollup histogram invalid"};
  return r;
}

}  // namespace mutuo::store
