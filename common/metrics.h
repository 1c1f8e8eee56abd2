// Metrics in the Prometheus text format (version 0.0.4): a small registry of
// counters, gauges and histograms, and a loopback HTTP endpoint serving it on
// GET /metrics (CivetWeb; programs that start a MetricsServer link civetweb).
//
// Counters, gauges and histograms are lock-free to update and live as long as
// their Registry; the references the registry hands out stay valid. Series with
// labels (e.g. rejections by reason) are created on first use; keep label
// values to a small fixed set, as Prometheus advises.
//
// Threading: everything may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

struct mg_context;
struct mg_connection;

namespace mutuo::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (and +Inf last), and the sum.
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  // Returns the metric `name` with `labels`, creating it on first use. `help`
  // is taken from the first call for a name. A name is one kind only.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       const Labels& labels = {});

  // Adds a function that appends whole metric families (with # HELP and # TYPE
  // lines) at render time, for values read from elsewhere (RocksDB properties).
  void add_collector(std::function<void(std::string& out)> collect);

  // The exposition text of every metric.
  std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::map<Labels, Counter*> counters;
    std::map<Labels, Gauge*> gauges;
    std::map<Labels, Histogram*> histograms;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::deque<Counter> counter_store_;
  std::deque<Gauge> gauge_store_;
  std::deque<Histogram> histogram_store_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// Formats one sample line: name{labels} value.
std::string sample(const std::string& name, const Labels& labels, double value);
// Label values escaped as the text format requires (\\, \", \n).
std::string escape_label(const std::string& v);

// Serves GET /metrics from `registry` on `listen` ("127.0.0.1:9471"; port 0
// picks a free one). Only loopback addresses are accepted: metrics say much
// about a deployment and have no authentication.
class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen,
                                                      const Registry& registry);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  mg_context* ctx_ = nullptr;
  const Registry* registry_ = nullptr;
  int port_ = 0;
  static int handle(mg_connection* conn, void* self);
};

}  // namespace mutuo::metrics
