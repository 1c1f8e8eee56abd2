#include "common/store_reader.h"

#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "common/store_disk.h"
#include "common/store_encoding.h"
#include "common/store_families.h"
#include "common/store_rollup.h"

namespace mutuo::store {

namespace {

SeriesPoint point_of(int64_t ts_ms, const Rollup& r) {
  SeriesPoint p;
  p.ts_ms = ts_ms;
  p.count = r.count;
  if (r.values > 0) {
    p.min_ms = us_to_ms(r.min_us);
    p.max_ms = us_to_ms(r.max_us);
    p.mean_ms = r.mean_ms();
    p.p50_ms = r.quantile_ms(0.5);
    p.p90_ms = r.quantile_ms(0.9);
    p.p99_ms = r.quantile_ms(0.99);
  }
  p.loss = r.loss();
  return p;
}

bool decode_stored(const SeriesId& series, int64_t ts_ms, std::string_view value, ProbeResult* r) {
  r->kind = series.kind;
  r->target = series.target;
  r->probe = series.probe;
  r->ts_ms = ts_ms;
  return decode_result(value, r).ok();
}

}  // namespace

Result<std::unique_ptr<StoreReader>> StoreReader::open(
    const std::string& primary_dir, const std::string& secondary_dir,
    std::shared_ptr<rocksdb::Cache> block_cache) {
  if (auto missing = no_database_yet(primary_dir)) return Error{"cannot open store: " + *missing};
  std::error_code ec;
  std::filesystem::create_directories(secondary_dir, ec);
  rocksdb::Options options;
  options.max_open_files = -1;  // required for secondary instances
  log_to_program(options, "store reader: rocksdb", Instance::kSecondary);  // no LOG file
  std::unique_ptr<StoreReader> reader(new StoreReader());
  rocksdb::DB* db = nullptr;
  FamilyConfig families;
  families.block_cache = std::move(block_cache);
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(
      options, primary_dir, secondary_dir, family_descriptors(families), &reader->handles_, &db);
  if (!s.ok()) return Error{"cannot open store " + primary_dir + ": " + s.ToString()};
  reader->db_.reset(db);
  return reader;
}

StoreReader::~StoreReader() {
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_.reset();
}

void StoreReader::catch_up() {
  rocksdb::Status s = db_->TryCatchUpWithPrimary();
  if (!s.ok()) spdlog::warn("store catch-up failed: {}", s.ToString());
}

ReaderMemory StoreReader::memory() const { return memory_of(*db_); }

std::vector<StoredResult> StoreReader::latest(const std::string& probe) const {
  std::vector<StoredResult> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[kLatestCf]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto series = parse_series_key(it->key().ToStringView());
    if (!series || (!probe.empty() && series->probe != probe)) continue;
    std::string_view v = it->value().ToStringView();
    if (v.size() < 8) continue;
    StoredResult sr{std::move(*series), {}};
    if (decode_stored(sr.series, static_cast<int64_t>(get_big_endian(v, 8)), v.substr(8),
                      &sr.result)) {
      out.push_back(std::move(sr));
    }
  }
  return out;
}

std::vector<StoredResult> StoreReader::matrix(const std::string& probe) const {
  std::vector<StoredResult> out = latest(probe);
  std::erase_if(out, [](const StoredResult& r) { return r.series.kind != TargetKind::kPeer; });
  return out;
}

std::vector<ProbeResult> StoreReader::range(const SeriesId& series, int64_t from_ms, int64_t to_ms,
                                            std::size_t limit) const {
  std::vector<ProbeResult> out;
  if (limit == 0 || from_ms >= to_ms) return out;
  // Format-2 keys (one per minute) start at the minute holding from_ms; format-1
  // keys (one per result, an older store) sort among them by their ts.
  std::string start = raw_minute_key(series, bucket_start(Tier::kMinute, from_ms));
  std::string end = raw_minute_key(series, to_ms);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kRawCf]));
  std::vector<RawEntry> entries;
  int64_t newest = std::numeric_limits<int64_t>::min();
  bool ordered = true;
  for (it->Seek(start); it->Valid(); it->Next()) {
    auto key = parse_raw_key(it->key().ToStringView());
    if (!key) continue;
    // Every later key holds results at or after its own ts: once `limit`
    // results older than that are in hand, none of them can be wanted.
    if (out.size() >= limit && key->ts_ms > newest) break;
    auto add = [&](int64_t ts, std::string_view value) {
      if (ts < from_ms || ts >= to_ms) return;
      ProbeResult r;
      if (!decode_stored(series, ts, value, &r)) return;
      if (ts < newest) ordered = false;
      newest = std::max(newest, ts);
      out.push_back(std::move(r));
    };
    if (!key->minute) {
      add(key->ts_ms, it->value().ToStringView());
    } else if (decode_raw_minute(it->value().ToStringView(), &entries)) {
      for (const RawEntry& e : entries)
        add(key->ts_ms + static_cast<int64_t>(e.offset_ms), e.encoded);
    }
  }
  if (!ordered) {
    std::stable_sort(out.begin(), out.end(),
                     [](const ProbeResult& x, const ProbeResult& y) { return x.ts_ms < y.ts_ms; });
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<SeriesPoint> StoreReader::rollups(const SeriesId& series, Tier tier, int64_t from_ms,
                                              int64_t to_ms, std::size_t limit) const {
  std::vector<SeriesPoint> out;
  if (tier == Tier::kRaw) return out;
  std::string start = rollup_key(series, from_ms);
  std::string end = rollup_key(series, to_ms);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, handles_[tier == Tier::kHour ? kHourCf : kMinuteCf]));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    auto key = parse_rollup_key(it->key().ToStringView());
    auto rollup = Rollup::decode(it->value().ToStringView());
    if (key && rollup) out.push_back(point_of(key->bucket_start_ms, *rollup));
  }
  return out;
}

Tier StoreReader::tier_for(int64_t span_ms, std::size_t max_points) {
  if (max_points == 0) max_points = 1;
  int64_t per_point = span_ms / static_cast<int64_t>(max_points);
  if (per_point < kMinuteMs) return Tier::kRaw;
  if (per_point < kHourMs) return Tier::kMinute;
  return Tier::kHour;
}

SeriesData StoreReader::series(const SeriesId& series, int64_t from_ms, int64_t to_ms,
                               std::size_t max_points) const {
  SeriesData d;
  d.tier = tier_for(to_ms - from_ms, max_points);
  if (d.tier == Tier::kRaw) {
    auto raw = range(series, from_ms, to_ms, max_points + 1);
    if (raw.size() <= max_points) {
      for (const ProbeResult& r : raw) {
        Rollup one;
        one.add(r);
        d.points.push_back(point_of(r.ts_ms, one));
      }
      return d;
    }
    d.tier = Tier::kMinute;  // more results than points: go coarser
  }
  if (d.tier == Tier::kMinute) {
    d.step_ms = kMinuteMs;
    d.points = rollups(series, d.tier, bucket_start(d.tier, from_ms), to_ms, max_points + 1);
    if (d.points.size() <= max_points) return d;
    d.tier = Tier::kHour;
  }
  d.step_ms = kHourMs;
  d.points = rollups(series, d.tier, bucket_start(d.tier, from_ms), to_ms, max_points);
  return d;
}

}  // namespace mutuo::store
