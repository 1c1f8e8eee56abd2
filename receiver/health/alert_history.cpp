#include "receiver/health/alert_history.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/store_disk.h"
#include "common/store_families.h"
#include "common/store_layout.h"

namespace mutuo::health {

namespace {

using nlohmann::json;

constexpr char kByTime = 't';
constexpr char kBySubject = 's';

std::string stamp(int64_t ts_ms, uint32_t seq) {
  std::string out;
  store::put_big_endian(out, static_cast<uint64_t>(ts_ms), 8);
  store::put_big_endian(out, seq, 4);
  return out;
}

std::string time_key(int64_t ts_ms, uint32_t seq) { return kByTime + stamp(ts_ms, seq); }

std::string subject_prefix(const std::string& subject) {
  std::string k(1, kBySubject);
  k += subject;
  k += '\0';
  return k;
}

std::string subject_key(const std::string& subject, int64_t ts_ms, uint32_t seq) {
  return subject_prefix(subject) + stamp(ts_ms, seq);
}

// Newest first within [prefix + from, prefix + to), at most q.limit; records
// that do not decode (never written by us) are skipped.
std::vector<HistoryEntry> scan(rocksdb::DB* db, const HistoryQuery& q) {
  std::string prefix = q.subject.empty() ? std::string(1, kByTime) : subject_prefix(q.subject);
  std::string lower = prefix + stamp(std::max<int64_t>(q.from_ms, 0), 0);
  std::string upper = q.to_ms == INT64_MAX ? prefix + std::string(12, '\xff')
                                           : prefix + stamp(std::max<int64_t>(q.to_ms, 0), 0);
  std::vector<HistoryEntry> out;
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower_slice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  it->SeekForPrev(upper);
  if (it->Valid() && it->key().ToString() == upper) it->Prev();  // `to` is excluded
  for (; it->Valid() && out.size() < q.limit; it->Prev()) {
    auto e = decode_history_entry(it->value().ToStringView());
    if (e) out.push_back(std::move(e).value());
  }
  return out;  // the iterator closes here, before any caller can close the DB
}

}  // namespace

std::string encode_history_entry(const HistoryEntry& e) {
  json j = {{"ts", e.ts_ms}, {"kind", e.kind}, {"alert", json(e.alert)}};
  if (!e.held_back.empty()) j["held_back"] = e.held_back;
  return j.dump();
}

Result<HistoryEntry> decode_history_entry(std::string_view record) {
  json j = json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"malformed history record"};
  auto ts = j.find("ts");
  auto kind = j.find("kind");
  auto alert = j.find("alert");
  if (ts == j.end() || !ts->is_number_integer() || kind == j.end() || !kind->is_string() ||
      alert == j.end() || !alert->is_object()) {
    return Error{"incomplete history record"};
  }
  auto a = decode_alert(alert->dump());
  if (!a) return Error{"history record: " + a.error()};
  HistoryEntry e;
  e.ts_ms = ts->get<int64_t>();
  e.kind = kind->get<std::string>();
  auto held = j.find("held_back");
  if (held != j.end() && held->is_string()) e.held_back = held->get<std::string>();
  e.alert = std::move(a).value();
  return e;
}

Result<std::unique_ptr<AlertHistory>> AlertHistory::open(const std::string& dir, int64_t keep_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"alert history: cannot create " + dir + ": " + ec.message()};
  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 2;
  options.max_open_files = -1;  // lets secondary readers follow the primary
  store::log_to_program(options, "alert history: rocksdb", store::Instance::kPrimary);
  // Alerts are rare: a small memtable, so the write-ahead log RocksDB
  // preallocates (about 1.1 times this) stays far below kMinFreeBytes.
  options.write_buffer_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return Error{"alert history: cannot open " + dir + ": " + s.ToString()};
  std::unique_ptr<AlertHistory> h(new AlertHistory());
  h->db_.reset(raw);
  h->dir_ = dir;
  h->keep_ms_ = keep_ms;
  // Continue the sequence after the newest entry, so a restart within the same
  // millisecond never overwrites one.
  {
    std::unique_ptr<rocksdb::Iterator> it(h->db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekForPrev(std::string(1, kByTime) + std::string(12, '\xff'));
    if (it->Valid() && it->key().size() == 13 && it->key()[0] == kByTime) {
      h->seq_ =
          static_cast<uint32_t>(store::get_big_endian(it->key().ToStringView().substr(9), 4)) + 1;
    }
  }
  return h;
}

AlertHistory::~AlertHistory() {
  if (!db_) return;
  if (!held_.empty()) {
    spdlog::error("alert history: {} entries held back by a full disk are lost at exit",
                  held_.size());
  }
  db_->Close();
}

Result<bool> AlertHistory::writable() {
  if (auto full = store::disk_full(dir_, kMinFreeBytes)) return Error{"alert history: " + *full};
  // A background error (say, a flush that failed for lack of space) makes
  // RocksDB refuse writes until cleared; there is room again, so clear it
  // (without a background error Resume() returns at once).
  if (rocksdb::Status r = db_->Resume(); !r.ok()) {
    return Error{"alert history: cannot resume after an error: " + r.ToString()};
  }
  return true;
}

Result<bool> AlertHistory::append(const std::vector<HistoryEntry>& entries) {
  if (entries.empty() && held_.empty()) return true;
  for (const HistoryEntry& e : entries) held_.push_back(e);
  while (held_.size() > kMaxHeld) {
    held_.pop_front();
    ++dropped_;
  }
  auto ok = writable();
  rocksdb::Status s;
  if (ok) {
    rocksdb::WriteBatch batch;
    uint32_t seq = seq_;
    for (const HistoryEntry& e : held_) {
      std::string record = encode_history_entry(e);
      batch.Put(time_key(e.ts_ms, seq), record);
      batch.Put(subject_key(e.alert.subject, e.ts_ms, seq), record);
      ++seq;
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;  // rare writes: each one durable
    s = db_->Write(wo, &batch);
    if (s.ok()) {
      seq_ = seq;
      if (refusing_) {
        spdlog::info("alert history: writing again in {}; {} held entries written{}", dir_,
                     held_.size(),
                     dropped_ > 0 ? ", " + std::to_string(dropped_) + " dropped in total" : "");
      }
      refusing_ = false;
      held_.clear();
      return true;
    }
    ok = Error{"alert history: " + s.ToString()};
  }
  refusing_ = true;
  return Error{ok.error() + "; " + std::to_string(held_.size()) +
               " entries held in memory until it can write" +
               (dropped_ > 0 ? " (" + std::to_string(dropped_) + " dropped, over " +
                                   std::to_string(kMaxHeld) + ")"
                             : "")};
}

Result<std::size_t> AlertHistory::prune(int64_t now_ms) {
  int64_t cutoff = now_ms - keep_ms_;
  if (cutoff <= 0) return std::size_t{0};
  if (auto full = store::disk_full(dir_, kMinFreeBytes))
    return Error{"alert history: not pruned: " + *full};
  rocksdb::WriteBatch batch;
  std::size_t n = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    std::string end = time_key(cutoff, 0);
    for (it->Seek(std::string(1, kByTime)); it->Valid() && it->key().ToString() < end; it->Next()) {
      std::string_view key = it->key().ToStringView();
      if (key.size() != 13) continue;
      auto e = decode_history_entry(it->value().ToStringView());
      if (e) {
        batch.Delete(subject_prefix(e->alert.subject) + std::string(key.substr(1)));
      }
      batch.Delete(it->key());
      ++n;
    }
  }
  if (n == 0) return n;
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return Error{"alert history: " + s.ToString()};
  return n;
}

std::vector<HistoryEntry> AlertHistory::query(const HistoryQuery& q) const {
  return scan(db_.get(), q);
}

Result<std::unique_ptr<AlertHistoryReader>> AlertHistoryReader::open(
    const std::string& primary_dir, const std::string& secondary_dir,
    std::shared_ptr<rocksdb::Cache> block_cache) {
  if (auto missing = store::no_database_yet(primary_dir))
    return Error{"alert history: " + *missing};
  std::error_code ec;
  std::filesystem::create_directories(secondary_dir, ec);
  if (ec) return Error{"alert history: cannot create " + secondary_dir + ": " + ec.message()};
  rocksdb::Options options;
  options.max_open_files = -1;  // required for secondary instances
  store::log_to_program(options, "alert history reader: rocksdb",
                        store::Instance::kSecondary);  // no LOG file
  rocksdb::BlockBasedTableOptions table;
  table.block_cache =
      block_cache ? std::move(block_cache) : rocksdb::NewLRUCache(store::kDefaultBlockCacheBytes);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, primary_dir, secondary_dir, &raw);
  if (!s.ok()) return Error{"alert history: cannot open " + primary_dir + ": " + s.ToString()};
  std::unique_ptr<AlertHistoryReader> r(new AlertHistoryReader());
  r->db_.reset(raw);
  return r;
}

AlertHistoryReader::~AlertHistoryReader() {
  if (db_) db_->Close();
}

Result<bool> AlertHistoryReader::catch_up() {
  rocksdb::Status s = db_->TryCatchUpWithPrimary();
  if (!s.ok()) return Error{"alert history: " + s.ToString()};
  return true;
}

std::vector<HistoryEntry> AlertHistoryReader::query(const HistoryQuery& q) const {
  return scan(db_.get(), q);
}

}  // namespace mutuo::health
