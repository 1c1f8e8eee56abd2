#include "receiver/store_metrics.h"

#include <chrono>
#include <memory>
#include <mutex>

namespace mutuo::receiver {

namespace {

struct FamilyName {
  store::Family family;
  const char* name;
};
constexpr FamilyName kFamilies[] = {{store::kRawCf, "raw"},
                                    {store::kLatestCf, "latest"},
                                    {store::kMinuteCf, "minute"},
                                    {store::kHourCf, "hour"},
                                    {store::kBatchesCf, "batches"}};

void family_metric(std::string& out, const StoreWriter& store, const std::string& name,
                   const char* help, const char* type, const std::string& property) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const auto& f : kFamilies) {
    if (auto v = store.property(f.family, property)) {
      out += metrics::sample(name, {{"family", f.name}}, static_cast<double>(*v));
    }
  }
}

}  // namespace

void add_store_metrics(metrics::Registry& registry, const StoreWriter& store,
                       const metrics::Counter& results_stored) {
  struct RateState {
    std::mutex mu;
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
    uint64_t count = 0;
  };
  auto state = std::make_shared<RateState>();
  registry.add_collector([&store, &results_stored, state](std::string& out) {
    {
      std::lock_guard lock(state->mu);
      auto now = std::chrono::steady_clock::now();
      uint64_t count = results_stored.value();
      double dt = std::chrono::duration<double>(now - state->at).count();
      double rate = dt > 0 ? static_cast<double>(count - state->count) / dt : 0;
      state->at = now;
      state->count = count;
      out +=
          "# HELP mutuo_receiver_ingest_results_per_second Results stored per second since "
          "the previous scrape\n# TYPE mutuo_receiver_ingest_results_per_second gauge\n";
      out += metrics::sample("mutuo_receiver_ingest_results_per_second", {}, rate);
    }
    family_metric(out, store, "mutuo_store_keys", "Estimated keys per column family", "gauge",
                  "rocksdb.estimate-num-keys");
    family_metric(out, store, "mutuo_store_sst_bytes", "Table file bytes per column family",
                  "gauge", "rocksdb.total-sst-files-size");
    family_metric(out, store, "mutuo_store_memtable_bytes", "Memtable bytes per column family",
                  "gauge", "rocksdb.cur-size-all-mem-tables");
    family_metric(out, store, "mutuo_store_pending_compaction_bytes",
                  "Estimated bytes compaction still has to rewrite", "gauge",
                  "rocksdb.estimate-pending-compaction-bytes");
    family_metric(out, store, "mutuo_store_l0_files",
                  "Table files at level 0 (write stalls "
                  "start at 20)",
                  "gauge", "rocksdb.num-files-at-level0");
    auto db_metric = [&](const std::string& name, const char* help, const std::string& property) {
      if (auto v = store.property(store::kRawCf, property)) {
        out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
        out += metrics::sample(name, {}, static_cast<double>(*v));
      }
    };
    if (store.write_buffer_limit() > 0) {
      out +=
          "# HELP mutuo_store_write_buffer_limit_bytes Memtable bytes all families may take "
          "together (--write-buffer-mb)\n# TYPE mutuo_store_write_buffer_limit_bytes gauge\n";
      out += metrics::sample("mutuo_store_write_buffer_limit_bytes", {},
                             static_cast<double>(store.write_buffer_limit()));
    }
    db_metric("mutuo_store_running_compactions", "Compactions running now",
              "rocksdb.num-running-compactions");
    db_metric("mutuo_store_write_stopped",
              "1 while RocksDB stops writes (too many L0 files or "
              "pending compaction)",
              "rocksdb.is-write-stopped");
    db_metric("mutuo_store_delayed_write_rate",
              "Bytes/s RocksDB throttles writes to (0: not "
              "throttled)",
              "rocksdb.actual-delayed-write-rate");
  });
}

}  // namespace mutuo::receiver
