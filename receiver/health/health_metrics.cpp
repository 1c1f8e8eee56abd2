#include "receiver/health/health_metrics.h"

namespace mutuo::health {

namespace {

void counter(std::string& out, const char* name, const char* help, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  out += metrics::sample(name, {}, static_cast<double>(value));
}

}  // namespace

void add_health_metrics(metrics::Registry& registry,
                        std::shared_ptr<const HealthCounters> counters) {
  registry.add_collector([counters](std::string& out) {
    counter(out, "mutuo_health_inputs_dropped_total",
            "Presence and result messages the health service dropped (queue full)",
            counters->dropped);
    counter(out, "mutuo_health_alerts_published_total", "Retained alerts published",
            counters->published);
    counter(out, "mutuo_health_silences_rejected_total", "Invalid silences refused",
            counters->rejected_silences);
    counter(out, "mutuo_health_history_errors_total", "Failed alert history writes or prunes",
            counters->history_errors);
    counter(out, "mutuo_health_probe_requests_total",
            "Second-opinion requests published (mutuo/v1/probe-requests/{subject})",
            counters->probe_requests);
    counter(out, "mutuo_health_probe_requests_limited_total",
            "Second-opinion requests skipped by the overall rate limit",
            counters->probe_requests_limited);
    const char* name = "mutuo_health_notices_total";
    out += std::string("# HELP ") + name +
           " Notices per channel by outcome (rate_limited: pumps that waited for a token)\n" +
           "# TYPE " + name + " counter\n";
    for (const auto& [channel, s] : counters->channels()) {
      for (const auto& [outcome, v] : {std::pair<const char*, uint64_t>{"delivered", s.delivered},
                                       {"retried", s.retried},
                                       {"failed", s.failed},
                                       {"dropped", s.dropped},
                                       {"rate_limited", s.rate_limited}}) {
        out += metrics::sample(name, {{"channel", channel}, {"outcome", outcome}},
                               static_cast<double>(v));
      }
    }
  });
}

}  // namespace mutuo::health
