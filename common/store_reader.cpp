#include "common/store_reader.h"

#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace mutuo::store {

Result<std::unique_ptr<StoreReader>> StoreReader::open(const std::string& primary_dir,
                                                       const std::string& secondary_dir) {
  std::error_code ec;
  std::filesystem::create_directories(secondary_dir, ec);
  rocksdb::Options options;
  options.max_open_files = -1;  // required for secondary instances
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kRawFamily, rocksdb::ColumnFamilyOptions()},
      {kLatestFamily, rocksdb::ColumnFamilyOptions()}};
  std::unique_ptr<StoreReader> reader(new StoreReader());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, primary_dir, secondary_dir, families,
                                                   &reader->handles_, &db);
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

std::vector<StoredResult> StoreReader::latest(const std::string& probe) const {
  std::vector<StoredResult> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[2]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto series = parse_series_key(it->key().ToStringView());
    if (!series || (!probe.empty() && series->probe != probe)) continue;
    auto doc = nlohmann::json::parse(it->value().ToStringView(), nullptr, false);
    if (doc.is_discarded()) continue;
    auto r = decode_probe_result(doc);
    if (r) out.push_back({std::move(*series), std::move(r).value()});
  }
  return out;
}

std::vector<ProbeResult> StoreReader::range(const SeriesId& series, int64_t from_ms,
                                            int64_t to_ms, std::size_t limit) const {
  std::vector<ProbeResult> out;
  std::string start = raw_key(series, from_ms, 0);
  std::string end = raw_key(series, to_ms, 0);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[1]));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    if (it->key().compare(end) >= 0) break;
    auto doc = nlohmann::json::parse(it->value().ToStringView(), nullptr, false);
    if (doc.is_discarded()) continue;
    auto r = decode_probe_result(doc);
    if (r) out.push_back(std::move(r).value());
  }
  return out;
}

}  // namespace mutuo::store
