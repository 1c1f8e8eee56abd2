#include "common/metrics.h"

#include <civetweb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mutuo::metrics {

namespace {

void atomic_add(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

std::string label_text(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + escape_label(v) + "\"";
  }
  return out + "}";
}

}  // namespace

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string sample(const std::string& name, const Labels& labels, double value) {
  return name + label_text(labels) + " " + number(value) + "\n";
}

void Gauge::add(double d) { atomic_add(v_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double v) {
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                    bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const char* type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = family(name, help, "counter");
  auto& slot = f.counters[labels];
  if (!slot) slot = &counter_store_.emplace_back();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = family(name, help, "gauge");
  auto& slot = f.gauges[labels];
  if (!slot) slot = &gauge_store_.emplace_back();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = family(name, help, "histogram");
  auto& slot = f.histograms[labels];
  if (!slot) slot = &histogram_store_.emplace_back(std::move(bounds));
  return *slot;
}

void Registry::add_collector(std::function<void(std::string&)> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::render() const {
  std::string out;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) {
      out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
      for (const auto& [labels, c] : f.counters)
        out += sample(name, labels, static_cast<double>(c->value()));
      for (const auto& [labels, g] : f.gauges) out += sample(name, labels, g->value());
      for (const auto& [labels, h] : f.histograms) {
        auto cum = h->cumulative();
        for (std::size_t i = 0; i < cum.size(); ++i) {
          Labels l = labels;
          l["le"] = i < h->bounds().size() ? number(h->bounds()[i]) : "+Inf";
          out += sample(name + "_bucket", l, static_cast<double>(cum[i]));
        }
        out += sample(name + "_sum", labels, h->sum());
        out += sample(name + "_count", labels, static_cast<double>(cum.back()));
      }
    }
    collectors = collectors_;
  }
  for (const auto& c : collectors) c(out);
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen,
                                                            const Registry& registry) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Error{"--metrics-listen wants host:port, got " + listen};
  std::string host = listen.substr(0, colon);
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && !host.starts_with("127.")) {
    return Error{"metrics are served on loopback only, not " + host};
  }
  if (host == "localhost") host = "127.0.0.1";
  std::string ports = host + ":" + listen.substr(colon + 1);
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->registry_ = &registry;
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "1", nullptr};
  mg_callbacks callbacks{};
  s->ctx_ = mg_start(&callbacks, nullptr, options);
  if (s->ctx_ == nullptr) return Error{"cannot serve metrics on " + listen};
  mg_set_request_handler(s->ctx_, "/metrics", &MetricsServer::handle, s.get());
  mg_server_port port{};
  if (mg_get_server_ports(s->ctx_, 1, &port) > 0) s->port_ = port.port;
  return s;
}

MetricsServer::~MetricsServer() {
  if (ctx_) mg_stop(ctx_);
}

int MetricsServer::handle(mg_connection* conn, void* self) {
  const auto* server = static_cast<const MetricsServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  if (std::string(info->request_method) != "GET") {
    mg_send_http_error(conn, 405, "%s", "GET only");
    return 405;
  }
  std::string body = server->registry_->render();
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            body.size());
  mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace mutuo::metrics
