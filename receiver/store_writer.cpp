#include "receiver/store_writer.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <nlohmann/json.hpp>

namespace mutuo::receiver {

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = -1;  // lets dashboards open this store as secondaries
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {store::kRawFamily, rocksdb::ColumnFamilyOptions()},
      {store::kLatestFamily, rocksdb::ColumnFamilyOptions()}};
  std::unique_ptr<StoreWriter> w(new StoreWriter());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, families, &w->handles_, &db);
  if (!s.ok()) return Error{"cannot open store " + dir + ": " + s.ToString()};
  w->db_.reset(db);
  return w;
}

StoreWriter::~StoreWriter() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

Result<std::size_t> StoreWriter::write(const std::string& observer,
                                       const std::vector<ProbeResult>& results) {
  rocksdb::WriteBatch batch;
  std::map<std::string, uint16_t> seq;                // raw key without seq -> next seq
  std::map<std::string, const ProbeResult*> newest;  // series key -> newest in this batch
  for (const ProbeResult& r : results) {
    store::SeriesId series{observer, r.kind, r.target, r.probe};
    std::string key = store::raw_key(series, r.ts_ms, 0);
    uint16_t& n = seq[key];
    if (n > 0) key = store::raw_key(series, r.ts_ms, n);
    ++n;
    std::string value = nlohmann::json(r).dump();
    batch.Put(handles_[1], key, value);
    auto& best = newest[store::series_key(series)];
    if (best == nullptr || best->ts_ms <= r.ts_ms) best = &r;
  }
  for (const auto& [series_key, r] : newest) {
    std::string stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[2], series_key, &stored);
    if (s.ok()) {
      auto doc = nlohmann::json::parse(stored, nullptr, false);
      if (!doc.is_discarded() && doc.contains("ts") && doc["ts"].is_number_integer() &&
          doc["ts"].get<int64_t>() > r->ts_ms) {
        continue;  // a late result (an agent flushing its buffer) is not the latest
      }
    } else if (!s.IsNotFound()) {
      return Error{"store read failed: " + s.ToString()};
    }
    batch.Put(handles_[2], series_key, nlohmann::json(*r).dump());
  }
  rocksdb::WriteOptions wo;  // WAL on: a confirmed batch survives a crash of this process
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return Error{"store write failed: " + s.ToString()};
  return results.size();
}

}  // namespace mutuo::receiver
