#include "common/store_families.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/store_encoding.h"
#include "common/store_layout.h"
#include "common/store_rollup.h"

namespace mutuo::store {

namespace {

// Folds rollup merge operands. A value that does not decode (it never should)
// is skipped with a log line rather than failing every read of the key.
class RollupMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    auto add = Rollup::decode(value.ToStringView());
    if (!existing) {
      *new_value = value.ToString();
      return true;
    }
    auto base = Rollup::decode(existing->ToStringView());
    if (!base || !add) {
      spdlog::error("rollup merge skipped an undecodable value");
      *new_value = base ? existing->ToString() : value.ToString();
      return true;
    }
    Rollup merged = std::move(base).value();
    merged.merge(*add);
    *new_value = merged.encode();
    return true;
  }
  const char* Name() const override { return "mutuo.RollupMerge"; }
};

// Folds raw minute values (store format 2): one result per (ts, seq), the
// newest written (merge_raw_minutes). Format-1 raw keys never get operands.
class RawMinuteMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> values;
    values.reserve(in.operand_list.size() + 1);
    if (in.existing_value) values.push_back(in.existing_value->ToStringView());
    for (const auto& op : in.operand_list) values.push_back(op.ToStringView());
    if (merge_raw_minutes(values, &out->new_value)) return true;
    // A value that does not decode (it never should): keep what does, so one
    // bad operand does not fail every read of the minute.
    spdlog::error("raw minute merge skipped an undecodable value");
    std::vector<std::string_view> good;
    std::vector<RawEntry> ignored;
    for (auto v : values) {
      if (decode_raw_minute(v, &ignored)) good.push_back(v);
    }
    if (good.empty()) good.push_back(std::string_view(&kRawMinuteFormat, 1));
    return merge_raw_minutes(good, &out->new_value);
  }
  bool PartialMergeMulti(const rocksdb::Slice& /*key*/,
                         const std::deque<rocksdb::Slice>& operand_list, std::string* new_value,
                         rocksdb::Logger* /*logger*/) const override {
    std::vector<std::string_view> values;
    values.reserve(operand_list.size());
    for (const auto& op : operand_list) values.push_back(op.ToStringView());
    return merge_raw_minutes(values, new_value);  // false: RocksDB keeps the operands
  }
  const char* Name() const override { return "mutuo.RawMinuteMerge"; }
};

enum class AgeFrom { kRawKey, kRollupKey, kValue };

class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  RetentionFilter(AgeFrom from, int64_t cutoff_ms) : from_(from), cutoff_ms_(cutoff_ms) {}

  Decision FilterV2(int /*level*/, const rocksdb::Slice& key, ValueType type,
                    const rocksdb::Slice& value, std::string* /*new_value*/,
                    std::string* /*skip_until*/) const override {
    if (type != kValue && type != kMergeOperand) return Decision::kKeep;
    std::optional<int64_t> ts;
    if (from_ == AgeFrom::kValue) {
      if (value.size() >= 8) ts = static_cast<int64_t>(get_big_endian(value.ToStringView(), 8));
    } else {
      ts = key_timestamp(key.ToStringView(), from_ == AgeFrom::kRawKey);
    }
    return ts && *ts < cutoff_ms_ ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "mutuo.Retention"; }

 private:
  const AgeFrom from_;
  const int64_t cutoff_ms_;
};

class RetentionFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  RetentionFilterFactory(AgeFrom from, int64_t keep_ms, std::function<int64_t()> now)
      : from_(from), keep_ms_(keep_ms), now_(std::move(now)) {}

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    // One cutoff per compaction: cheap per key, and exact enough for days.
    return std::make_unique<RetentionFilter>(from_, now_() - keep_ms_);
  }
  const char* Name() const override { return "mutuo.RetentionFactory"; }

 private:
  const AgeFrom from_;
  const int64_t keep_ms_;
  const std::function<int64_t()> now_;
};

rocksdb::ColumnFamilyOptions family_options(const std::shared_ptr<rocksdb::Cache>& cache,
                                            std::size_t block_size, bool bloom) {
  rocksdb::ColumnFamilyOptions o;
  // Fast compression where data is rewritten often, zstd where it settles.
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.bottommost_compression_opts.enabled = true;
  o.bottommost_compression_opts.level = 6;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = block_size;
  if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

std::vector<rocksdb::ColumnFamilyDescriptor> family_descriptors(const FamilyConfig& config) {
  auto now = config.now_ms ? config.now_ms : std::function<int64_t()>(now_ms);
  constexpr uint64_t kDay = 24 * 3600;
  auto cache =
      config.block_cache ? config.block_cache : rocksdb::NewLRUCache(kDefaultBlockCacheBytes);

  auto raw = family_options(cache, 32 * 1024, false);
  raw.compaction_filter_factory =
      std::make_shared<RetentionFilterFactory>(AgeFrom::kRawKey, config.retention.raw_ms, now);
  raw.periodic_compaction_seconds = kDay;
  raw.merge_operator = std::make_shared<RawMinuteMergeOperator>();
  if (config.primary) raw.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();

  auto latest = family_options(cache, 4 * 1024, true);

  auto merge = std::make_shared<RollupMergeOperator>();
  auto minute = family_options(cache, 16 * 1024, false);
  minute.merge_operator = merge;
  minute.compaction_filter_factory = std::make_shared<RetentionFilterFactory>(
      AgeFrom::kRollupKey, config.retention.minute_ms, now);
  minute.periodic_compaction_seconds = kDay;

  auto hour = family_options(cache, 16 * 1024, false);
  hour.merge_operator = merge;
  hour.compaction_filter_factory =
      std::make_shared<RetentionFilterFactory>(AgeFrom::kRollupKey, config.retention.hour_ms, now);
  hour.periodic_compaction_seconds = 7 * kDay;

  auto batches = family_options(cache, 4 * 1024, true);
  batches.compaction_filter_factory =
      std::make_shared<RetentionFilterFactory>(AgeFrom::kValue, config.retention.raw_ms, now);
  batches.periodic_compaction_seconds = kDay;

  // The default family holds nothing; it shares the cache all the same.
  return {{rocksdb::kDefaultColumnFamilyName, family_options(cache, 4 * 1024, false)},
          {kRawFamily, raw},
          {kLatestFamily, latest},
          {kMinuteFamily, minute},
          {kHourFamily, hour},
          {kBatchesFamily, batches}};
}

ReaderMemory memory_of(rocksdb::DB& db) {
  ReaderMemory m;
  uint64_t v = 0;
  if (db.GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
    m.memtables = v;
  }
  if (db.GetAggregatedIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &v) &&
      v > m.memtables) {
    m.memtables_retired = v - m.memtables;
  }
  if (db.GetAggregatedIntProperty(rocksdb::DB::Properties::kNumImmutableMemTable, &v)) {
    m.immutable_memtables = v;
  }
  if (db.GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &v)) {
    m.table_readers = v;
  }
  return m;
}

rocksdb::DBOptions primary_db_options(std::size_t write_buffer_bytes) {
  rocksdb::DBOptions o;
  if (write_buffer_bytes > 0) {
    o.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(write_buffer_bytes);
  }
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.max_open_files = -1;  // lets dashboards open this store as secondaries
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.allow_concurrent_memtable_write = false;  // one writer thread; the raw memtable needs it
  return o;
}

}  // namespace mutuo::store
