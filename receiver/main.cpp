// mutuo-receiver: stores every result batch from the bus and confirms it
// (DESIGN.md, "receiver/"; operating notes in docs/receiver.md).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <thread>

#include "common/broker_options.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/sd_notify.h"
#include "common/topics.h"
#include "common/version.h"
#include "receiver/health/health_metrics.h"
#include "receiver/health/health_options.h"
#include "receiver/health/health_service.h"
#include "receiver/receiver.h"
#include "receiver/store_metrics.h"

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  mutuo::keep_large_allocations_mapped();
  mutuo::cli::Command app{
      "mutuo-receiver: consumes agents' result batches from MQTT, validates them, "
      "stores them in RocksDB with minute and hour rollups and retention, and confirms "
      "each stored batch to its agent."};
  mutuo::MqttConfig mqtt;
  mqtt.client_id = "receiver";
  std::string token_file, store_dir, log_level = "info", metrics_listen = "127.0.0.1:9471";
  uint32_t session_expiry_s = 7 * 24 * 3600;
  int stats_every_s = 60;
  double raw_days = 7, minute_days = 90, hour_days = 730;
  int64_t max_future_s = 600;
  std::size_t queue_results = 200'000;
  bool wal_sync = true;
  std::size_t write_buffer_mb = mutuo::store::kDefaultWriteBufferBytes >> 20;
  std::size_t decode_threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
  mutuo::add_broker_options(app, mqtt, token_file);
  app.option("--store", store_dir, "RocksDB directory (created if missing)").required();
  app.option("--session-expiry-s", session_expiry_s,
             "how long the broker keeps queueing results while the receiver is away")
      .show_default();
  app.option("--retain-raw-days", raw_days,
             "keep raw results this long; results older than this are refused")
      .show_default();
  app.option("--retain-minute-days", minute_days, "keep per-minute rollups this long")
      .show_default();
  app.option("--retain-hour-days", hour_days, "keep per-hour rollups this long").show_default();
  app.option("--max-future-s", max_future_s,
             "refuse results timestamped further ahead than this (clock skew)")
      .show_default();
  app.option("--queue-results", queue_results,
             "validated results held in memory for the store writer before intake waits")
      .show_default();
  app.option("--decode-threads", decode_threads,
             "threads decoding and validating batches (default: one per core, at most 8)")
      .show_default();
  app.option("--wal-sync", wal_sync,
             "fsync the write-ahead log before confirming (false survives a receiver crash "
             "but not a power loss)")
      .show_default();
  app.option("--write-buffer-mb", write_buffer_mb,
             "memory all RocksDB write buffers (memtables) may take together; the oldest "
             "is flushed to disk beyond it (0: RocksDB's per-family limits only)")
      .show_default();
  app.option("--metrics-listen", metrics_listen,
             "serve Prometheus metrics on http://ADDR:PORT/metrics (loopback only; "
             "empty: off)")
      .show_default();
  app.option("--stats-every-s", stats_every_s, "log ingest counters this often (0: never)")
      .show_default();
  app.option("--log-level", log_level, "trace, debug, info, warn or error").show_default();
  mutuo::health::HealthOptions health_options;
  mutuo::health::add_options(app, health_options);
  app.version_flag("--version", mutuo::kVersion);
  if (auto exit = app.parse(argc, argv)) return *exit;

  mutuo::init_logging("receiver", log_level);
  auto token = mutuo::read_secret(token_file, "MUTUO_TOKEN");
  if (!token) {
    spdlog::error("{}", token.error());
    return 2;
  }
  constexpr double kDayMs = 24.0 * 3600 * 1000;
  mutuo::receiver::StoreWriterOptions store_options;
  store_options.families.retention = {static_cast<int64_t>(raw_days * kDayMs),
                                      static_cast<int64_t>(minute_days * kDayMs),
                                      static_cast<int64_t>(hour_days * kDayMs)};
  store_options.sync_wal = wal_sync;
  store_options.write_buffer_bytes = write_buffer_mb << 20;
  auto store = mutuo::receiver::StoreWriter::open(store_dir, store_options);
  if (!store) {
    spdlog::error("{}", store.error());
    return 1;
  }

  mutuo::metrics::Registry registry;
  mqtt.password = *token;
  mqtt.clean_start = false;  // a persistent session: the broker queues results while we are away
  mqtt.session_expiry_s = session_expiry_s;
  mutuo::MqttSession session(mqtt);
  mutuo::receiver::ReceiverConfig config;
  config.max_future_ms = max_future_s * 1000;
  config.max_age_ms = store_options.families.retention.raw_ms;
  config.max_queue_results = queue_results;
  config.decode_threads = std::max<std::size_t>(decode_threads, 1);
  auto receiver = std::make_unique<mutuo::receiver::Receiver>(
      config, **store, [&session](const mutuo::MqttMessage& m) { return session.publish(m); },
      registry);
  mutuo::receiver::add_store_metrics(registry, **store,
                                     registry.counter("mutuo_receiver_results_stored_total",
                                                      "Probe results written to the store"));

  std::unique_ptr<mutuo::metrics::MetricsServer> metrics_server;
  if (!metrics_listen.empty()) {
    auto started = mutuo::metrics::MetricsServer::start(metrics_listen, registry);
    if (started) {
      metrics_server = std::move(started).value();
      spdlog::info("metrics on http://{}/metrics", metrics_listen);
    } else {
      // Metrics help operators but storing results matters more: keep running.
      spdlog::error("{}; running without metrics", started.error());
    }
  }

  // Health (docs/health.md): presence and results in, retained alerts and
  // webhook notices out, on the health service's own thread.
  auto alert_history = mutuo::health::open_history(health_options, store_dir);
  if (!alert_history) {
    spdlog::error("{}", alert_history.error());
    return 1;
  }
  // Notification channels: --webhook-url ones, then those the dashboard
  // publishes on mutuo/v1/channels/+ (fed by the MQTT callback below).
  auto channels = mutuo::health::make_channels(health_options);
  auto bus_channels = mutuo::health::make_bus_channels(
      health_options, &registry.counter("mutuo_health_channels_rejected_total",
                                        "Invalid notification channel messages refused"));
  mutuo::health::BusChannels* channel_updates = bus_channels.get();
  channels.push_back(std::move(bus_channels));
  mutuo::health::HealthService health(
      mutuo::health::service_config(health_options),
      [&session](const mutuo::MqttMessage& m) { return session.publish(m); }, std::move(channels),
      [] { return mutuo::now_ms(); });
  health.set_history(alert_history.value().get());
  mutuo::health::add_health_metrics(registry, health.counters());

  session.subscribe(mutuo::topics::kAllResults, 1);
  session.subscribe(mutuo::topics::kAllStatus, 1);
  session.subscribe(mutuo::kAllSilences, 1);
  session.subscribe(mutuo::kAllChannels, 1);
  // Results reach health from the receiver once stored, decoded once there.
  receiver->set_stored_sink([&health](mutuo::ResultBatch&& b) { health.on_results(std::move(b)); });
  session.on_message([&](const mutuo::MqttMessage& m) {
    if (mutuo::channel_id_of(m.topic)) return (void)channel_updates->on_message(m);
    auto parsed = mutuo::topics::parse(m.topic);
    if (!parsed || parsed->kind != mutuo::topics::Kind::kResults) health.on_message(m);
    if (parsed && parsed->kind == mutuo::topics::Kind::kStatus) return;  // presence: health only
    if (mutuo::silence_id_of(m.topic)) return;                           // silences: health only
    receiver->handle(m);
  });
  spdlog::info("mutuo-receiver {} starting; broker {}, store {}", mutuo::kVersion, mqtt.server_uri,
               store_dir);
  session.start();
  health.start();
  mutuo::systemd::Readiness readiness(
      [&session] { return session.connected(); },
      "connected to " + mqtt.server_uri + ", storing in " + store_dir,
      "waiting for broker " + mqtt.server_uri);

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread stats_thread([&] {
    if (stats_every_s <= 0) return;
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::seconds(stats_every_s), [&] { return stopping; })) {
      auto s = receiver->stats();
      uint64_t rejected = 0;
      for (const auto& [reason, n] : s.rejected) rejected += n;
      spdlog::info("confirmed {} batches ({} resent), stored {} results; rejected {}", s.batches,
                   s.duplicates, s.results, rejected);
    }
  });

  std::string sig = mutuo::wait_for_shutdown_signal();
  readiness.stopping();
  spdlog::info("{}: stopping", sig);
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  stats_thread.join();
  receiver->close();  // writes and confirms what is queued while the session is still up
  health.stop();
  session.stop();
  return 0;
}
