#include "receiver/store_writer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/store_disk.h"
#include "common/store_encoding.h"
#include "common/store_rollup.h"

namespace mutuo::receiver {

using store::Family;

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& dir,
                                                       StoreWriterOptions options) {
  std::unique_ptr<StoreWriter> w(new StoreWriter());
  w->options_ = std::move(options);
  w->options_.families.primary = true;
  w->min_free_bytes_ = w->options_.min_free_bytes;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // RocksDB creates only the last level
  rocksdb::DB* db = nullptr;
  rocksdb::DBOptions db_options = store::primary_db_options(w->options_.write_buffer_bytes);
  store::log_to_program(db_options, "rocksdb", store::Instance::kPrimary);
  rocksdb::Status s = rocksdb::DB::Open(
      db_options, dir, store::family_descriptors(w->options_.families), &w->handles_, &db);
  if (!s.ok()) return Error{"cannot open store " + dir + ": " + s.ToString()};
  w->db_.reset(db);
  return w;
}

StoreWriter::~StoreWriter() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

Result<int64_t> StoreWriter::stored_latest_ts(const std::string& series_key) {
  if (auto it = latest_ts_.find(series_key); it != latest_ts_.end()) return it->second;
  std::string stored;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handles_[store::kLatestCf], series_key, &stored);
  if (s.IsNotFound()) return std::numeric_limits<int64_t>::min();
  if (!s.ok()) return Error{"store read failed: " + s.ToString()};
  if (stored.size() < 8) return std::numeric_limits<int64_t>::min();
  int64_t ts = static_cast<int64_t>(store::get_big_endian(stored, 8));
  latest_ts_.emplace(series_key, ts);
  return ts;
}

namespace {

void append_series_key(std::string& out, const std::string& observer, const ProbeResult& r) {
  out.append(observer).push_back('\0');
  out.push_back(r.kind == TargetKind::kPeer ? 'p' : 'c');
  out.append(r.target).push_back('\0');
  out.append(r.probe);
}

// One result's raw entry, pointing into its batch's arena.
struct RawRef {
  int64_t ts_ms;
  uint16_t seq;
  const char* value;
  uint32_t size;
};

// One series' share of a write: its key, its newest result, its results' raw
// entries and rollup contributions, folded into one raw minute value per
// minute and minute and hour rollups at the end.
struct SeriesWrite {
  std::string_view key;
  int64_t newest_ts = std::numeric_limits<int64_t>::min();
  const ProbeResult* newest = nullptr;
  std::vector<RawRef> raws;
  std::vector<store::RollupSample> samples;
};

}  // namespace

// Each result's series key and value go to the arena first; one sort of the
// results by (series key, ts, position) then groups them by series, gives each
// run of equal series and ts its seqs and orders each series' results by time.
void prepare(IncomingBatch* b) {
  PreparedBatch& p = b->prepared;
  const std::size_t n = b->results.size();
  struct Placed {
    uint32_t key_at, key_size, value_at, value_size;
  };
  std::vector<Placed> placed(n);
  p.arena.clear();
  p.arena.reserve(n * 40);
  for (std::size_t i = 0; i < n; ++i) {
    const ProbeResult& r = b->results[i];
    Placed& e = placed[i];
    e.key_at = static_cast<uint32_t>(p.arena.size());
    append_series_key(p.arena, b->agent, r);
    e.key_size = static_cast<uint32_t>(p.arena.size() - e.key_at);
    e.value_at = static_cast<uint32_t>(p.arena.size());
    store::encode_result(r, p.arena);
    e.value_size = static_cast<uint32_t>(p.arena.size() - e.value_at);
  }
  auto series_of = [&](uint32_t i) {
    return std::string_view(p.arena.data() + placed[i].key_at, placed[i].key_size);
  };
  std::vector<uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    if (int c = series_of(x).compare(series_of(y)); c != 0) return c < 0;
    if (b->results[x].ts_ms != b->results[y].ts_ms) {
      return b->results[x].ts_ms < b->results[y].ts_ms;
    }
    return x < y;
  });
  p.raw.clear();
  p.raw.reserve(n);
  p.series.clear();
  p.samples.clear();
  p.samples.reserve(n);
  uint16_t seq = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const uint32_t i = order[k];
    if (k == 0 || series_of(order[k - 1]) != series_of(i)) {
      p.series.push_back(
          {placed[i].key_at, placed[i].key_size, static_cast<uint32_t>(p.samples.size()), 0, i});
      seq = 0;
    } else if (b->results[order[k - 1]].ts_ms == b->results[i].ts_ms) {
      ++seq;  // results of one batch sharing series and ts: seq 0, 1, ... in batch order
    } else {
      seq = 0;
    }
    PreparedBatch::Series& s = p.series.back();
    ++s.samples;
    s.newest = i;
    p.raw.push_back({b->results[i].ts_ms, placed[i].value_at, placed[i].value_size, seq});
    p.samples.push_back(store::RollupSample::of(b->results[i]));
  }
  b->is_prepared = true;
}

// Per series and minute touched by the whole write: one raw merge operand
// holding that minute's results (raw minute, common/store_encoding.h); per
// series and bucket: one minute and one hour rollup merge operand (the
// results are folded in memory first); one latest Put per series. Merges and
// latest values are added in key order.
Result<std::unique_ptr<AssembledWrite>> StoreWriter::assemble_group(
    const std::vector<const IncomingBatch*>& batches, bool use_ledger) {
  auto w = std::make_unique<AssembledWrite>();
  {
    std::lock_guard lock(mu_);
    w->failures_seen = failures_;
  }
  if (w->failures_seen != failures_cleared_) {
    latest_ts_.clear();  // it may hold the ts of a write that failed
    failures_cleared_ = w->failures_seen;
  }
  std::size_t total = 0;
  for (const IncomingBatch* b : batches) total += b->results.size();
  w->batch = rocksdb::WriteBatch(64 * total + 1024);
  rocksdb::WriteBatch& wb = w->batch;
  w->fresh.assign(batches.size(), true);
  std::unordered_map<std::string_view, uint32_t> series_index;  // key -> position in `series`
  std::vector<SeriesWrite> series;
  const int64_t now = now_ms();
  std::string stamp;
  store::put_big_endian(stamp, static_cast<uint64_t>(now), 8);

  if (use_ledger) {
    // In flight first, then the ledger: a key not in flight now is either
    // committed (and in the ledger) or new, as only assembly adds keys.
    std::vector<std::string> keys(batches.size());
    std::vector<std::size_t> ask;  // positions to look up in the ledger
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < batches.size(); ++i) {
        keys[i] = store::batch_key(batches[i]->agent, batches[i]->batch);
        if (!in_flight_.insert(keys[i]).second) {
          w->fresh[i] = false;  // in flight, or given twice
        } else {
          ask.push_back(i);
        }
      }
    }
    std::vector<rocksdb::Slice> slices;
    slices.reserve(ask.size());
    for (std::size_t i : ask) slices.emplace_back(keys[i]);
    std::vector<rocksdb::PinnableSlice> values(ask.size());
    std::vector<rocksdb::Status> statuses(ask.size());
    if (!ask.empty()) {
      db_->MultiGet(rocksdb::ReadOptions(), handles_[store::kBatchesCf], ask.size(), slices.data(),
                    values.data(), statuses.data());
    }
    std::optional<std::string> failed;
    {
      std::lock_guard lock(mu_);
      for (std::size_t k = 0; k < ask.size(); ++k) {
        const std::size_t i = ask[k];
        if (statuses[k].ok()) {
          w->fresh[i] = false;  // stored before
        } else if (!statuses[k].IsNotFound()) {
          failed = "store read failed: " + statuses[k].ToString();
        }
        if (!w->fresh[i] || failed) {
          in_flight_.erase(keys[i]);
        }
      }
      if (failed) {
        for (std::size_t i = 0; i < batches.size(); ++i) {
          if (w->fresh[i]) in_flight_.erase(keys[i]);
        }
        return Error{*failed};
      }
    }
    for (std::size_t i = 0; i < batches.size(); ++i) {
      if (!w->fresh[i]) continue;
      wb.Put(handles_[store::kBatchesCf], keys[i], stamp);
      w->ledger_keys.push_back(std::move(keys[i]));
    }
  }

  std::vector<IncomingBatch> unprepared;  // local copies of batches given without prepare()
  for (const IncomingBatch* b : batches) {
    if (!b->is_prepared) unprepared.emplace_back(b->agent, b->batch, std::vector<ProbeResult>{});
  }
  std::size_t next_unprepared = 0;

  std::string key, value;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const IncomingBatch& b = *batches[i];
    const PreparedBatch* p = &b.prepared;
    if (!b.is_prepared) {
      IncomingBatch& local = unprepared[next_unprepared++];
      local.results = b.results;  // prepare() indexes them as the caller's
      prepare(&local);
      p = &local.prepared;
    }
    if (!w->fresh[i]) continue;
    w->results += b.results.size();
    for (const PreparedBatch::Series& s : p->series) {
      auto [it, inserted] =
          series_index.try_emplace(p->key(s), static_cast<uint32_t>(series.size()));
      if (inserted) {
        series.push_back({p->key(s), std::numeric_limits<int64_t>::min(), nullptr, {}, {}});
      }
      SeriesWrite& sw = series[it->second];
      const auto first = p->samples.begin() + s.first_sample;
      sw.samples.insert(sw.samples.end(), first, first + s.samples);
      for (uint32_t k = s.first_sample; k < s.first_sample + s.samples; ++k) {
        const PreparedBatch::Raw& e = p->raw[k];
        sw.raws.push_back({e.ts_ms, e.seq, p->arena.data() + e.value_at, e.value_size});
      }
      const ProbeResult& newest = b.results[s.newest];
      if (sw.newest == nullptr || sw.newest_ts <= newest.ts_ms) {
        sw.newest_ts = newest.ts_ms;
        sw.newest = &newest;
      }
    }
  }

  std::vector<SeriesWrite*> ordered;
  ordered.reserve(series.size());
  for (auto& sw : series) ordered.push_back(&sw);
  std::sort(ordered.begin(), ordered.end(),
            [](const SeriesWrite* x, const SeriesWrite* y) { return x->key < y->key; });
  std::vector<uint64_t> scratch;
  auto bucket_key = [&](const SeriesWrite& sw, int64_t start) {
    key.assign(sw.key);
    key.push_back('\0');
    store::put_big_endian(key, static_cast<uint64_t>(start), 8);
    return rocksdb::Slice(key);
  };
  // Per series, in key order: one raw minute value per minute, its results by
  // (ts, seq), the last of equal ones (a later batch in this write) kept.
  std::string raw_value;
  for (SeriesWrite* sw : ordered) {
    auto& rs = sw->raws;
    const auto by_id = [](const RawRef& x, const RawRef& y) {
      return x.ts_ms != y.ts_ms ? x.ts_ms < y.ts_ms : x.seq < y.seq;
    };
    if (!std::is_sorted(rs.begin(), rs.end(), by_id)) std::stable_sort(rs.begin(), rs.end(), by_id);
    for (std::size_t at = 0; at < rs.size();) {
      const int64_t start = store::bucket_start(store::Tier::kMinute, rs[at].ts_ms);
      raw_value.assign(1, store::kRawMinuteFormat);
      std::size_t end = at;
      for (; end < rs.size() && rs[end].ts_ms - start < store::kMinuteMs; ++end) {
        if (end + 1 < rs.size() && rs[end + 1].ts_ms == rs[end].ts_ms &&
            rs[end + 1].seq == rs[end].seq) {
          continue;
        }
        store::append_raw_entry(raw_value, static_cast<uint64_t>(rs[end].ts_ms - start),
                                rs[end].seq, std::string_view(rs[end].value, rs[end].size));
      }
      wb.Merge(handles_[store::kRawCf], bucket_key(*sw, start), raw_value);
      at = end;
    }
  }
  // Per series, in key order: each minute's rollup from its samples (sorted by
  // ts, so a minute is one run of them), each hour's by merging its minutes.
  for (SeriesWrite* sw : ordered) {
    auto& ss = sw->samples;
    const auto by_ts = [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; };
    if (!std::is_sorted(ss.begin(), ss.end(), by_ts)) std::stable_sort(ss.begin(), ss.end(), by_ts);
    std::optional<store::Rollup> hour;
    int64_t hour_start = 0;
    for (std::size_t at = 0; at < ss.size();) {
      const int64_t start = store::bucket_start(store::Tier::kMinute, ss[at].ts_ms);
      std::size_t end = at + 1;
      while (end < ss.size() && ss[end].ts_ms - start < store::kMinuteMs) ++end;
      store::Rollup minute = store::Rollup::of(ss.data() + at, end - at, &scratch);
      wb.Merge(handles_[store::kMinuteCf], bucket_key(*sw, start), minute.encode());
      const int64_t h = store::bucket_start(store::Tier::kHour, start);
      if (hour && h != hour_start) {
        wb.Merge(handles_[store::kHourCf], bucket_key(*sw, hour_start), hour->encode());
        hour.reset();
      }
      if (!hour) {
        hour = std::move(minute);
        hour_start = h;
      } else {
        hour->merge(minute);
      }
      at = end;
    }
    if (hour) wb.Merge(handles_[store::kHourCf], bucket_key(*sw, hour_start), hour->encode());
  }

  for (SeriesWrite* sw : ordered) {
    key.assign(sw->key);
    auto stored = stored_latest_ts(key);
    if (!stored) {
      forget_in_flight(*w, false);
      return Error{stored.error()};
    }
    // A late result (an agent flushing its buffer) is not the latest.
    if (*stored > sw->newest_ts) continue;
    value.clear();
    store::put_big_endian(value, static_cast<uint64_t>(sw->newest_ts), 8);
    store::encode_result(*sw->newest, value);
    wb.Put(handles_[store::kLatestCf], rocksdb::Slice(sw->key.data(), sw->key.size()), value);
    w->latest.emplace_back(sw->key, sw->newest_ts);
  }
  // Optimistic: the next assembly counts this write as stored; a failed commit
  // empties the cache (see failures_cleared_).
  for (const auto& [sk, ts] : w->latest) latest_ts_[sk] = ts;
  return w;
}

void StoreWriter::forget_in_flight(const AssembledWrite& w, bool failed) {
  std::lock_guard lock(mu_);
  for (const auto& k : w.ledger_keys) in_flight_.erase(k);
  if (failed) ++failures_;
}

Result<std::unique_ptr<AssembledWrite>> StoreWriter::assemble(
    const std::vector<const IncomingBatch*>& batches) {
  return assemble_group(batches, true);
}

Result<std::vector<bool>> StoreWriter::commit(AssembledWrite& w) {
  std::optional<std::string> refused;
  {
    std::lock_guard lock(mu_);
    if (failures_ != w.failures_seen) {
      refused = "an earlier store write failed while this one was put together";
    }
  }
  if (!refused) {
    if (auto full = store::disk_full(db_->GetName(), min_free_bytes_.load()))
      refused = *full + "; not written, not confirmed, until space returns";
  }
  if (!refused && w.batch.Count() > 0) {
    rocksdb::WriteOptions wo;  // WAL on: a confirmed batch survives a crash of this process
    wo.sync = options_.sync_wal;
    rocksdb::Status s = db_->Write(wo, &w.batch);
    if (!s.ok()) refused = "store write failed: " + s.ToString();
  }
  // Committed: its ledger keys are now found in the store. Refused: not stored,
  // and any write assembled meanwhile is refused in turn.
  forget_in_flight(w, refused.has_value());
  if (refused) return Error{*refused};
  return w.fresh;
}

Result<std::vector<bool>> StoreWriter::write_batches(
    const std::vector<const IncomingBatch*>& batches) {
  auto w = assemble_group(batches, true);
  if (!w) return Error{w.error()};
  return commit(*w.value());
}

Result<std::size_t> StoreWriter::write(const std::string& observer,
                                       const std::vector<ProbeResult>& results) {
  IncomingBatch b{observer, 0, results};
  auto w = assemble_group({&b}, false);
  if (!w) return Error{w.error()};
  auto done = commit(*w.value());
  if (!done) return Error{done.error()};
  return results.size();
}

Result<bool> StoreWriter::compact() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_) {
    rocksdb::Status s = db_->CompactRange(o, h, nullptr, nullptr);
    if (!s.ok()) return Error{"compaction failed: " + s.ToString()};
  }
  return true;
}

std::optional<uint64_t> StoreWriter::property(store::Family family, const std::string& name) const {
  uint64_t v = 0;
  if (!db_->GetIntProperty(handles_[family], name, &v)) return std::nullopt;
  return v;
}

uint64_t StoreWriter::sst_bytes() const {
  uint64_t total = 0;
  for (std::size_t f = 0; f < handles_.size(); ++f) {
    total += property(static_cast<Family>(f), "rocksdb.total-sst-files-size").value_or(0);
  }
  return total;
}

}  // namespace mutuo::receiver
