// The health service's counters on the receiver's metrics endpoint:
//   mutuo_health_inputs_dropped_total        presence/results dropped, queue full
//   mutuo_health_alerts_published_total      retained alerts published
//   mutuo_health_silences_rejected_total     invalid silences refused
//   mutuo_health_history_errors_total        failed alert history writes
//   mutuo_health_notices_total{channel,outcome}  delivered, retried, failed,
//                                            dropped, rate_limited per channel
#pragma once

#include <memory>

#include "common/metrics.h"
#include "receiver/health/health_service.h"

namespace mutuo::health {

// Adds a collector reading `counters` (kept alive by the collector) at each scrape.
void add_health_metrics(metrics::Registry& registry,
                        std::shared_ptr<const HealthCounters> counters);

}  // namespace mutuo::health
