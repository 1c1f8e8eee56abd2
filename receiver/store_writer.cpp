#include "receiver/store_writer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/store_encoding.h"
#include "common/store_rollup.h"

namespace mutuo::receiver {

using store::Family;

namespace {

// Writes are refused while less than this is free on the store's filesystem
// (docs/hardening.md, "Fault drills: receiver disk full"). Debian's RocksDB 7.8
// aborts on an assertion once a write-ahead-log append has failed with ENOSPC,
// and a memtable flush needs room, so the writer stops short of a full disk: the
// batches are not confirmed (the agents keep and resend them) and writing
// resumes by itself once space returns.
constexpr uint64_t kMinFreeBytes = uint64_t{64} << 20;

// The refusal, when the filesystem holding `dir` has less than kMinFreeBytes free.
std::optional<std::string> disk_full(const std::string& dir) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (free >= kMinFreeBytes) return std::nullopt;
  return "disk full: " + std::to_string(free >> 20) + " MiB free for the store " + dir +
         ", under the " + std::to_string(kMinFreeBytes >> 20) +
         " MiB kept free; not written, not confirmed, until space returns";
}

// RocksDB's info log, forwarded to the receiver's own log (warnings and errors
// only) instead of the store's LOG file: RocksDB's file logger aborts the
// process on an assertion (Debian's 7.8 keeps them on) at its next write or at
// close once one of its writes failed with ENOSPC, i.e. after any full disk.
class ForwardingLogger : public rocksdb::Logger {
 public:
  ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    spdlog::warn("rocksdb: {}", line);
  }
};

}  // namespace

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& dir,
                                                       StoreWriterOptions options) {
  std::unique_ptr<StoreWriter> w(new StoreWriter());
  w->options_ = std::move(options);
  w->options_.families.primary = true;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // RocksDB creates only the last level
  rocksdb::DB* db = nullptr;
  rocksdb::DBOptions db_options = store::primary_db_options();
  db_options.info_log = std::make_shared<ForwardingLogger>();
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

// One series' share of a write: its key, its newest result and its results'
// rollup contributions, folded into minute and hour rollups at the end.
struct SeriesWrite {
  std::string_view key;
  int64_t newest_ts = std::numeric_limits<int64_t>::min();
  const ProbeResult* newest = nullptr;
  std::vector<store::RollupSample> samples;
};

constexpr std::size_t kRawKeySuffix = 1 + 8 + 2;  // 0x00, ts, seq

}  // namespace

// Each result's raw key (with seq 0) and value go to the arena first; one sort
// of the results by (series key, ts, position) then groups them by series,
// gives each run of equal series and ts its seqs (patched into the keys) and
// orders each series' rollup samples by time.
void prepare(IncomingBatch* b) {
  PreparedBatch& p = b->prepared;
  const std::size_t n = b->results.size();
  p.arena.clear();
  p.arena.reserve(n * 48);
  p.raw.clear();
  p.raw.reserve(n);
  for (const ProbeResult& r : b->results) {
    PreparedBatch::Raw e{};
    e.key_at = static_cast<uint32_t>(p.arena.size());
    append_series_key(p.arena, b->agent, r);
    p.arena.push_back('\0');
    store::put_big_endian(p.arena, static_cast<uint64_t>(r.ts_ms), 8);
    store::put_big_endian(p.arena, 0, 2);
    e.key_size = static_cast<uint32_t>(p.arena.size() - e.key_at);
    e.value_at = static_cast<uint32_t>(p.arena.size());
    store::encode_result(r, p.arena);
    e.value_size = static_cast<uint32_t>(p.arena.size() - e.value_at);
    p.raw.push_back(e);
  }
  auto series_of = [&](uint32_t i) {
    const PreparedBatch::Raw& e = p.raw[i];
    return std::string_view(p.arena.data() + e.key_at, e.key_size - kRawKeySuffix);
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
  p.series.clear();
  p.samples.clear();
  p.samples.reserve(n);
  uint16_t seq = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const uint32_t i = order[k];
    if (k == 0 || series_of(order[k - 1]) != series_of(i)) {
      p.series.push_back({p.raw[i].key_at, static_cast<uint32_t>(p.raw[i].key_size - kRawKeySuffix),
                          static_cast<uint32_t>(p.samples.size()), 0, i});
      seq = 0;
    } else if (b->results[order[k - 1]].ts_ms == b->results[i].ts_ms) {
      ++seq;  // results of one batch sharing series and ts: seq 0, 1, ... in batch order
      char* at = p.arena.data() + p.raw[i].key_at + p.raw[i].key_size - 2;
      at[0] = static_cast<char>(seq >> 8);
      at[1] = static_cast<char>(seq & 0xff);
    } else {
      seq = 0;
    }
    PreparedBatch::Series& s = p.series.back();
    ++s.samples;
    s.newest = i;
    p.samples.push_back(store::RollupSample::of(b->results[i]));
  }
  b->is_prepared = true;
}

// Per result: one raw Put (prepared by prepare()). Per series and bucket
// touched by the whole write: one minute and one hour merge operand (the
// results are folded in memory first), and one latest Put per series. Merges
// and latest values are added in key order.
Result<std::vector<bool>> StoreWriter::write_group(const std::vector<const IncomingBatch*>& batches,
                                                   bool use_ledger) {
  std::size_t total = 0;
  for (const IncomingBatch* b : batches) total += b->results.size();
  rocksdb::WriteBatch wb(64 * total + 1024);
  std::vector<bool> fresh(batches.size(), true);
  std::set<std::pair<std::string_view, uint64_t>> in_group;
  std::unordered_map<std::string_view, uint32_t> series_index;  // key -> position in `series`
  std::vector<SeriesWrite> series;
  const int64_t now = now_ms();
  std::string stamp;
  store::put_big_endian(stamp, static_cast<uint64_t>(now), 8);

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
    if (use_ledger) {
      if (!in_group.emplace(b.agent, b.batch).second) {
        fresh[i] = false;
        continue;
      }
      std::string lk = store::batch_key(b.agent, b.batch);
      std::string ignored;
      rocksdb::Status s =
          db_->Get(rocksdb::ReadOptions(), handles_[store::kBatchesCf], lk, &ignored);
      if (s.ok()) {
        fresh[i] = false;
        continue;
      }
      if (!s.IsNotFound()) return Error{"store read failed: " + s.ToString()};
      wb.Put(handles_[store::kBatchesCf], lk, stamp);
    }
    for (const PreparedBatch::Raw& e : p->raw) {
      wb.Put(handles_[store::kRawCf], rocksdb::Slice(p->arena.data() + e.key_at, e.key_size),
             rocksdb::Slice(p->arena.data() + e.value_at, e.value_size));
    }
    for (const PreparedBatch::Series& s : p->series) {
      auto [it, inserted] =
          series_index.try_emplace(p->key(s), static_cast<uint32_t>(series.size()));
      if (inserted) series.push_back({p->key(s), std::numeric_limits<int64_t>::min(), nullptr, {}});
      SeriesWrite& sw = series[it->second];
      const auto first = p->samples.begin() + s.first_sample;
      sw.samples.insert(sw.samples.end(), first, first + s.samples);
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
  auto merge_rollups = [&](store::Family family, store::Tier tier, const SeriesWrite& sw) {
    // samples are sorted by ts: each bucket is one run of them
    const auto& ss = sw.samples;
    for (std::size_t at = 0; at < ss.size();) {
      const int64_t start = store::bucket_start(tier, ss[at].ts_ms);
      std::size_t end = at + 1;
      while (end < ss.size() && store::bucket_start(tier, ss[end].ts_ms) == start) ++end;
      key.assign(sw.key);
      key.push_back('\0');
      store::put_big_endian(key, static_cast<uint64_t>(start), 8);
      wb.Merge(handles_[family], key,
               store::Rollup::of(ss.data() + at, end - at, &scratch).encode());
      at = end;
    }
  };
  for (SeriesWrite* sw : ordered) {
    std::stable_sort(sw->samples.begin(), sw->samples.end(),
                     [](const auto& x, const auto& y) { return x.ts_ms < y.ts_ms; });
  }
  for (SeriesWrite* sw : ordered) merge_rollups(store::kMinuteCf, store::Tier::kMinute, *sw);
  for (SeriesWrite* sw : ordered) merge_rollups(store::kHourCf, store::Tier::kHour, *sw);

  std::vector<std::pair<std::string_view, int64_t>> latest_updates;
  for (SeriesWrite* sw : ordered) {
    key.assign(sw->key);
    auto stored = stored_latest_ts(key);
    if (!stored) return Error{stored.error()};
    // A late result (an agent flushing its buffer) is not the latest.
    if (*stored > sw->newest_ts) continue;
    value.clear();
    store::put_big_endian(value, static_cast<uint64_t>(sw->newest_ts), 8);
    store::encode_result(*sw->newest, value);
    wb.Put(handles_[store::kLatestCf], rocksdb::Slice(sw->key.data(), sw->key.size()), value);
    latest_updates.emplace_back(sw->key, sw->newest_ts);
  }

  if (wb.Count() == 0) return fresh;
  rocksdb::WriteOptions wo;  // WAL on: a confirmed batch survives a crash of this process
  wo.sync = options_.sync_wal;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return Error{"store write failed: " + s.ToString()};
  for (const auto& [sk, ts] : latest_updates) latest_ts_[std::string(sk)] = ts;
  return fresh;
}

Result<std::vector<bool>> StoreWriter::write_batches(
    const std::vector<const IncomingBatch*>& batches) {
  if (auto full = disk_full(db_->GetName())) return Error{*full};
  return write_group(batches, true);
}

Result<std::size_t> StoreWriter::write(const std::string& observer,
                                       const std::vector<ProbeResult>& results) {
  if (auto full = disk_full(db_->GetName())) return Error{*full};
  IncomingBatch b{observer, 0, results};
  auto done = write_group({&b}, false);
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
