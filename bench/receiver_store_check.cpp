// mutuo-receiver-store-check: reads a receiver store (the receiver stopped) and
// prints one JSON line: raw results and series, rollup totals, whether every
// series' minute and hour rollups count exactly its raw results, and bytes on
// disk per result. --compact first compacts everything to the bottom level
// (opening the store as its primary), as the benchmark's bytes-per-result
// figure requires. Used by the receiver's crash test and benchmark.
#include <rocksdb/db.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/cli.h"
#include "common/store_encoding.h"
#include "common/store_families.h"
#include "common/store_layout.h"
#include "common/store_rollup.h"
#include "receiver/store_writer.h"

using namespace mutuo;

int main(int argc, char** argv) {
  mutuo::cli::Command app{"mutuo-receiver-store-check: totals and consistency of a receiver store"};
  std::string dir;
  bool compact = false;
  app.option("--store", dir).required();
  app.flag("--compact", compact, "compact to the bottom level first");
  if (auto exit = app.parse(argc, argv)) return *exit;

  uint64_t sst_raw = 0, sst_all = 0;
  {
    auto w = receiver::StoreWriter::open(dir);
    if (!w) {
      std::fprintf(stderr, "%s\n", w.error().c_str());
      return 2;
    }
    if (compact && !(*w)->compact()) return 2;
    sst_raw = (*w)->property(store::kRawCf, "rocksdb.total-sst-files-size").value_or(0);
    sst_all = (*w)->sst_bytes();
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Options options;
  auto s =
      rocksdb::DB::OpenForReadOnly(options, dir, store::family_descriptors({}), &handles, &raw_db);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);

  std::map<std::string, uint64_t> raw, minute, hour;  // series key -> count
  uint64_t raw_total = 0, extra_seq = 0, bad = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[store::kRawCf]));
    std::vector<store::RawEntry> entries;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto k = store::parse_raw_key(it->key().ToStringView());
      if (!k) {
        ++bad;
        continue;
      }
      if (!k->minute) {  // store format 1: one result per key
        ++raw_total;
        if (k->seq > 0) ++extra_seq;
        ++raw[store::series_key(k->series)];
        continue;
      }
      if (!store::decode_raw_minute(it->value().ToStringView(), &entries)) {
        ++bad;
        continue;
      }
      for (const auto& e : entries) {
        ProbeResult r;
        if (e.offset_ms >= static_cast<uint64_t>(store::kMinuteMs) ||
            !store::decode_result(e.encoded, &r)) {
          ++bad;
          continue;
        }
        ++raw_total;
        if (e.seq > 0) ++extra_seq;
        ++raw[store::series_key(k->series)];
      }
    }
  }
  auto sum_rollups = [&](store::Family f, std::map<std::string, uint64_t>& into) {
    uint64_t total = 0;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[f]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto k = store::parse_rollup_key(it->key().ToStringView());
      auto r = store::Rollup::decode(it->value().ToStringView());
      if (!k || !r) {
        ++bad;
        continue;
      }
      into[store::series_key(k->series)] += r->count;
      total += r->count;
    }
    return total;
  };
  uint64_t minute_total = sum_rollups(store::kMinuteCf, minute);
  uint64_t hour_total = sum_rollups(store::kHourCf, hour);
  uint64_t mismatched = 0;
  for (const auto& [series, n] : raw) {
    if (minute[series] != n || hour[series] != n) ++mismatched;
  }
  for (const auto& [series, n] : minute) {
    if (!raw.count(series)) ++mismatched;
  }
  uint64_t latest = 0, batches = 0;
  for (auto [f, count] : {std::pair{store::kLatestCf, &latest}, {store::kBatchesCf, &batches}}) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[f]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*count;
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db.reset();

  nlohmann::json out = {
      {"raw_results", raw_total},
      {"raw_series", raw.size()},
      {"raw_extra_seq", extra_seq},
      {"minute_count", minute_total},
      {"hour_count", hour_total},
      {"series_rollup_mismatch", mismatched},
      {"undecodable", bad},
      {"latest_series", latest},
      {"ledger_batches", batches},
      {"sst_bytes_raw", sst_raw},
      {"sst_bytes_all", sst_all},
      {"raw_bytes_per_result",
       raw_total ? static_cast<double>(sst_raw) / static_cast<double>(raw_total) : 0.0},
      {"all_bytes_per_result",
       raw_total ? static_cast<double>(sst_all) / static_cast<double>(raw_total) : 0.0}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
