// RocksDB figures worth watching, exported through the metrics registry:
// keys and table bytes per family, memtable size, pending compaction bytes,
// running compactions, L0 files, write stalls and the delayed write rate.
// Also the ingest rate over the interval between two scrapes.
#pragma once

#include "common/metrics.h"
#include "receiver/store_writer.h"

namespace mutuo::receiver {

// `store` and `results_stored` must outlive `registry`'s use of the collector.
void add_store_metrics(metrics::Registry& registry, const StoreWriter& store,
                       const metrics::Counter& results_stored);

}  // namespace mutuo::receiver
