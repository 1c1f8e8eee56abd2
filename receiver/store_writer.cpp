#include "receiver/store_writer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "common/clock.h"
#include "common/store_encoding.h"
#include "common/store_rollup.h"

namespace mutuo::receiver {

using store::Family;

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& dir,
                                                       StoreWriterOptions options) {
  std::unique_ptr<StoreWriter> w(new StoreWriter());
  w->options_ = std::move(options);
  w->options_.families.primary = true;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // RocksDB creates only the last level
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(store::primary_db_options(), dir,
                        store::family_descriptors(w->options_.families), &w->handles_, &db);
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

Result<std::vector<bool>> StoreWriter::write_group(const std::vector<const IncomingBatch*>& batches,
                                                   bool use_ledger) {
  rocksdb::WriteBatch wb;
  std::vector<bool> fresh(batches.size(), true);
  std::set<std::pair<std::string_view, uint64_t>> in_group;
  std::unordered_map<std::string, store::Rollup> minute, hour;  // rollup key -> contribution
  struct Newest {
    int64_t ts;
    const ProbeResult* r;
  };
  std::unordered_map<std::string, Newest> newest;  // series key -> newest in this write
  const int64_t now = now_ms();
  std::string stamp;
  store::put_big_endian(stamp, static_cast<uint64_t>(now), 8);

  std::string key, value;
  std::map<std::string, uint16_t> seq;  // within one batch: raw key without seq -> next seq
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
    seq.clear();
    for (const ProbeResult& r : b.results) {
      store::SeriesId series{b.agent, r.kind, r.target, r.probe};
      std::string sk = store::series_key(series);
      key = sk;
      key.push_back('\0');
      store::put_big_endian(key, static_cast<uint64_t>(r.ts_ms), 8);
      uint16_t n = 0;
      if (b.results.size() > 1) n = seq[key]++;
      store::put_big_endian(key, n, 2);
      value.clear();
      store::encode_result(r, value);
      wb.Put(handles_[store::kRawCf], key, value);

      std::string mk = sk;
      mk.push_back('\0');
      store::put_big_endian(
          mk, static_cast<uint64_t>(store::bucket_start(store::Tier::kMinute, r.ts_ms)), 8);
      minute[mk].add(r);
      std::string hk = sk;
      hk.push_back('\0');
      store::put_big_endian(
          hk, static_cast<uint64_t>(store::bucket_start(store::Tier::kHour, r.ts_ms)), 8);
      hour[hk].add(r);

      auto [it, inserted] = newest.try_emplace(std::move(sk), Newest{r.ts_ms, &r});
      if (!inserted && it->second.ts <= r.ts_ms) it->second = Newest{r.ts_ms, &r};
    }
  }
  for (const auto& [k, rollup] : minute) wb.Merge(handles_[store::kMinuteCf], k, rollup.encode());
  for (const auto& [k, rollup] : hour) wb.Merge(handles_[store::kHourCf], k, rollup.encode());

  std::vector<std::pair<const std::string*, int64_t>> latest_updates;
  for (const auto& [sk, n] : newest) {
    auto stored = stored_latest_ts(sk);
    if (!stored) return Error{stored.error()};
    if (*stored > n.ts) continue;  // a late result (an agent flushing its buffer) is not the latest
    value.clear();
    store::put_big_endian(value, static_cast<uint64_t>(n.ts), 8);
    store::encode_result(*n.r, value);
    wb.Put(handles_[store::kLatestCf], sk, value);
    latest_updates.emplace_back(&sk, n.ts);
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
  return write_group(batches, true);
}

Result<std::size_t> StoreWriter::write(const std::string& observer,
                                       const std::vector<ProbeResult>& results) {
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
