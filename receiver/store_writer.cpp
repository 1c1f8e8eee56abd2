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

// One series' share of a write: its key, its newest result and its rollup
// contributions by bucket (a write spans a few buckets at most).
struct SeriesWrite {
  std::string key;
  int64_t newest_ts = std::numeric_limits<int64_t>::min();
  const ProbeResult* newest = nullptr;
  std::vector<std::pair<int64_t, store::Rollup>> minute, hour;  // bucket start -> contribution
};

void add_to_bucket(std::vector<std::pair<int64_t, store::Rollup>>& buckets, int64_t start,
                   const ProbeResult& r) {
  for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
    if (it->first == start) return it->second.add(r);
  }
  buckets.emplace_back(start, store::Rollup{}).second.add(r);
}

void append_series_key(std::string& out, const std::string& observer, const ProbeResult& r) {
  out.append(observer).push_back('\0');
  out.push_back(r.kind == TargetKind::kPeer ? 'p' : 'c');
  out.append(r.target).push_back('\0');
  out.append(r.probe);
}

}  // namespace

// Per result: one raw Put. Per series and bucket touched by the whole write: one
// minute and one hour merge operand (the results are merged in memory first),
// one latest Put per series. Merges and latest values are added in key order, so
// RocksDB inserts each into its memtable next to the previous one.
Result<std::vector<bool>> StoreWriter::write_group(const std::vector<const IncomingBatch*>& batches,
                                                   bool use_ledger) {
  std::size_t total = 0;
  for (const IncomingBatch* b : batches) total += b->results.size();
  rocksdb::WriteBatch wb(64 * total + 1024);
  std::vector<bool> fresh(batches.size(), true);
  std::set<std::pair<std::string_view, uint64_t>> in_group;
  std::unordered_map<std::string, uint32_t> series_index;  // series key -> position in `series`
  std::vector<SeriesWrite> series;
  const int64_t now = now_ms();
  std::string stamp;
  store::put_big_endian(stamp, static_cast<uint64_t>(now), 8);

  std::string key, value;
  std::vector<uint32_t> ids;       // per result of one batch: its series
  std::vector<uint16_t> seqs;      // per result of one batch: its seq in the raw key
  std::vector<uint32_t> by_key;    // results of one batch ordered by (series, ts, position)
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const IncomingBatch& b = *batches[i];
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
    const std::size_t n = b.results.size();
    ids.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      key.clear();
      append_series_key(key, b.agent, b.results[k]);
      auto [it, inserted] = series_index.try_emplace(key, static_cast<uint32_t>(series.size()));
      if (inserted) series.push_back(SeriesWrite{key, std::numeric_limits<int64_t>::min(), nullptr, {}, {}});
      ids[k] = it->second;
    }
    // Results of one batch sharing series and ts get seq 0, 1, ... in batch order.
    seqs.assign(n, 0);
    if (n > 1) {
      by_key.resize(n);
      for (std::size_t k = 0; k < n; ++k) by_key[k] = static_cast<uint32_t>(k);
      std::sort(by_key.begin(), by_key.end(), [&](uint32_t x, uint32_t y) {
        if (ids[x] != ids[y]) return ids[x] < ids[y];
        if (b.results[x].ts_ms != b.results[y].ts_ms) return b.results[x].ts_ms < b.results[y].ts_ms;
        return x < y;
      });
      for (std::size_t k = 1; k < n; ++k) {
        uint32_t prev = by_key[k - 1], cur = by_key[k];
        if (ids[prev] == ids[cur] && b.results[prev].ts_ms == b.results[cur].ts_ms) {
          seqs[cur] = static_cast<uint16_t>(seqs[prev] + 1);
        }
      }
    }
    for (std::size_t k = 0; k < n; ++k) {
      const ProbeResult& r = b.results[k];
      SeriesWrite& sw = series[ids[k]];
      key.assign(sw.key);
      key.push_back('\0');
      store::put_big_endian(key, static_cast<uint64_t>(r.ts_ms), 8);
      store::put_big_endian(key, seqs[k], 2);
      value.clear();
      store::encode_result(r, value);
      wb.Put(handles_[store::kRawCf], key, value);

      add_to_bucket(sw.minute, store::bucket_start(store::Tier::kMinute, r.ts_ms), r);
      add_to_bucket(sw.hour, store::bucket_start(store::Tier::kHour, r.ts_ms), r);
      if (sw.newest == nullptr || sw.newest_ts <= r.ts_ms) {
        sw.newest_ts = r.ts_ms;
        sw.newest = &r;
      }
    }
  }

  std::vector<SeriesWrite*> ordered;
  ordered.reserve(series.size());
  for (auto& sw : series) ordered.push_back(&sw);
  std::sort(ordered.begin(), ordered.end(),
            [](const SeriesWrite* x, const SeriesWrite* y) { return x->key < y->key; });
  auto merge_rollups = [&](store::Family family, const std::string& series_key,
                           std::vector<std::pair<int64_t, store::Rollup>>& buckets) {
    std::sort(buckets.begin(), buckets.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [start, rollup] : buckets) {
      key.assign(series_key);
      key.push_back('\0');
      store::put_big_endian(key, static_cast<uint64_t>(start), 8);
      wb.Merge(handles_[family], key, rollup.encode());
    }
  };
  for (SeriesWrite* sw : ordered) merge_rollups(store::kMinuteCf, sw->key, sw->minute);
  for (SeriesWrite* sw : ordered) merge_rollups(store::kHourCf, sw->key, sw->hour);

  std::vector<std::pair<const std::string*, int64_t>> latest_updates;
  for (SeriesWrite* sw : ordered) {
    auto stored = stored_latest_ts(sw->key);
    if (!stored) return Error{stored.error()};
    // A late result (an agent flushing its buffer) is not the latest.
    if (*stored > sw->newest_ts) continue;
    value.clear();
    store::put_big_endian(value, static_cast<uint64_t>(sw->newest_ts), 8);
    store::encode_result(*sw->newest, value);
    wb.Put(handles_[store::kLatestCf], sw->key, value);
    latest_updates.emplace_back(&sw->key, sw->newest_ts);
  }

  if (wb.Count() == 0) return fresh;
  rocksdb::WriteOptions wo;  // WAL on: a confirmed batch survives a crash of this process
  wo.sync = options_.sync_wal;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return Error{"store write failed: " + s.ToString()};
  for (const auto& [sk, ts] : latest_updates) latest_ts_[*sk] = ts;
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
