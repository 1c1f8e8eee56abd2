// mutuo-dashboard: shows agent presence (from the broker) and the mesh matrix
// (from the receiver's store) as a web page and a JSON API; registers agents
// (dynamic-security clients and roles, through the broker) for logged-in admins.
#include <civetweb.h>
#include <rocksdb/cache.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/mqtt_session.h"
#include "common/process.h"
#include "common/sd_notify.h"
#include "common/topics.h"
#include "common/version.h"
#include "dashboard/accounts.h"
#include "dashboard/alert_history_view.h"
#include "dashboard/api_admin_routes.h"
#include "dashboard/api_router.h"
#include "dashboard/bus_listener.h"
#include "dashboard/dashboard_store.h"
#include "dashboard/dynsec_admin.h"
#include "dashboard/http_server.h"
#include "dashboard/live_feed.h"
#include "dashboard/login_limiter.h"
#include "dashboard/presence_table.h"
#include "dashboard/random_token.h"
#include "dashboard/registrar.h"
#include "dashboard/retained_table.h"
#include "dashboard/session_store.h"
#include "dashboard/store_view.h"
#include "dashboard/web_assets.h"

namespace {

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string id = "dashboard";
  std::string token_file;
  std::string store_dir;
  std::string secondary_dir;
  std::string alert_history_dir;
  std::string listen = "127.0.0.1:8470";
  std::string log_level = "info";
  std::string ca_file;
  bool tls_insecure = false;
  std::string data_dir = "dashboard-data";
  std::string admin_user = "admin";
  std::string admin_password_file;
  std::string agent_broker;
  std::string agent_ca_file;
  bool secure_cookies = false;
  double session_hours = 12;
  double cache_mb = 16;
};

// <store>.dashboard-secondary, next to the store (a trailing '/' ignored).
std::string default_secondary_dir(const std::string& store_dir) {
  std::filesystem::path p(store_dir);
  if (!p.has_filename()) p = p.parent_path();
  return p.string() + ".dashboard-secondary";
}

}  // namespace

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  mutuo::cap_malloc_arenas(2);
  mutuo::keep_large_allocations_mapped();

  Options opt;
  mutuo::cli::Command app{
      "mutuo dashboard: agent presence and the mesh matrix, users and agent registration, as a "
      "web page and JSON API"};
  app.version_flag("--version", mutuo::kVersion);
  app.option("--broker", opt.broker, "MQTT broker URI (tcp://, ssl:// or mqtts://)").show_default();
  app.option("--id", opt.id, "MQTT client id and username").show_default();
  app.option("--token-file", opt.token_file,
             "file holding the MQTT password (default: env MUTUO_TOKEN)");
  app.option("--store", opt.store_dir,
             "the receiver's RocksDB directory, read as a secondary instance "
             "(without it the matrix stays empty)");
  app.option("--secondary-dir", opt.secondary_dir,
             "where the secondary instance keeps its files (default: <store>.dashboard-secondary)");
  app.option("--alert-history", opt.alert_history_dir,
             "the receiver's alert history, read as a secondary instance (default: "
             "<store>/alert-history)");
  app.option("--listen", opt.listen, "HTTP listening ports, CivetWeb syntax").show_default();
  app.option("--log-level", opt.log_level, "trace, debug, info, warn or error").show_default();
  app.option("--ca-file", opt.ca_file, "CA certificate to verify an ssl:// broker");
  app.flag("--tls-insecure", opt.tls_insecure,
           "accept an ssl:// broker whose certificate cannot be verified (development only)");
  app.option("--data-dir", opt.data_dir,
             "the dashboard's own RocksDB: users and agent registrations (created if missing)")
      .show_default();
  app.option("--admin-user", opt.admin_user,
             "name of the first admin, created on the first start only")
      .show_default();
  app.option("--admin-password-file", opt.admin_password_file,
             "file holding the first admin's password (default: env MUTUO_ADMIN_PASSWORD); "
             "without either, the first start logs a one-time setup link instead");
  app.option("--agent-broker", opt.agent_broker,
             "broker URI shown in new agents' command lines (default: --broker)");
  app.option("--agent-ca-file", opt.agent_ca_file,
             "CA file path shown in new agents' command lines (for an ssl:// --agent-broker)");
  app.flag("--secure-cookies", opt.secure_cookies,
           "mark the session cookie Secure (when users reach the dashboard through HTTPS)");
  app.option("--session-hours", opt.session_hours, "how long a login lasts")
      .show_default()
      .range(0.01, 24.0 * 30);
  app.option("--cache-mb", opt.cache_mb,
             "block cache shared by the store and alert-history readers, in MiB")
      .show_default()
      .range(1.0, 65536.0);
  std::string metrics_listen = "127.0.0.1:9473";
  app.option("--metrics-listen", metrics_listen,
             "serve Prometheus metrics on http://ADDR:PORT/metrics (loopback only; empty: off)")
      .show_default();
  if (auto exit = app.parse(argc, argv)) return *exit;

  mutuo::init_logging("dashboard", opt.log_level);
  spdlog::info("mutuo-dashboard {} starting", mutuo::kVersion);

  std::string password;
  if (auto token = mutuo::read_secret(opt.token_file, "MUTUO_TOKEN")) {
    password = std::move(token).value();
  } else if (!opt.token_file.empty()) {
    spdlog::error("{}", token.error());
    return EXIT_FAILURE;
  } else {
    spdlog::warn("{}; connecting without a password (works only where the broker allows it)",
                 token.error());
  }

  auto opened = mutuo::dashboard::DashboardStore::open(opt.data_dir);
  if (!opened) {
    spdlog::error("{}", opened.error());
    return EXIT_FAILURE;
  }
  auto data = std::move(opened).value();
  spdlog::info("dashboard data (users, registrations) in {}",
               std::filesystem::absolute(opt.data_dir).string());
  mutuo::dashboard::Accounts accounts(data.get());
  std::string setup_token;
  if (accounts.empty()) {
    if (auto pw = mutuo::read_secret(opt.admin_password_file, "MUTUO_ADMIN_PASSWORD")) {
      auto admin = accounts.create_first_admin(opt.admin_user, pw.value(), mutuo::now_ms());
      if (!admin) {
        spdlog::error("cannot create the first admin '{}': {}", opt.admin_user, admin.error());
        return EXIT_FAILURE;
      }
      spdlog::info("created the first admin '{}'", opt.admin_user);
    } else if (!opt.admin_password_file.empty()) {
      spdlog::error("{}", pw.error());
      return EXIT_FAILURE;
    } else {
      setup_token = mutuo::dashboard::random_token();
    }
  }
  mutuo::forget_env_secret("MUTUO_ADMIN_PASSWORD");  // also when a file gave the password
  mutuo::dashboard::SetupToken setup(setup_token);
  mutuo::dashboard::ApiTokens api_tokens(data.get());
  mutuo::dashboard::SessionStore sessions(static_cast<int64_t>(opt.session_hours * 3600 * 1000));
  mutuo::dashboard::LoginLimiter login_limiter;

  mutuo::dashboard::PresenceTable presence;

  // One block cache for both secondary instances: what they keep of the
  // receiver's files stays within --cache-mb however long the dashboard runs.
  std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(static_cast<std::size_t>(opt.cache_mb * 1024 * 1024));

  std::unique_ptr<mutuo::dashboard::StoreView> store;
  if (opt.store_dir.empty()) {
    spdlog::warn("no --store given: the mesh matrix stays empty");
  } else {
    if (opt.secondary_dir.empty()) opt.secondary_dir = default_secondary_dir(opt.store_dir);
    store = std::make_unique<mutuo::dashboard::StoreView>(opt.store_dir, opt.secondary_dir,
                                                          block_cache);
  }

  // The alert history (GET /api/alerts/history), kept by the receiver.
  std::unique_ptr<mutuo::dashboard::AlertHistoryView> alert_history;
  if (opt.alert_history_dir.empty() && !opt.store_dir.empty()) {
    opt.alert_history_dir = opt.store_dir + "/alert-history";
  }
  if (!opt.alert_history_dir.empty()) {
    // Beside the store's secondary (the receiver's store directory is not ours).
    alert_history = std::make_unique<mutuo::dashboard::AlertHistoryView>(
        opt.alert_history_dir,
        (opt.secondary_dir.empty() ? default_secondary_dir(opt.alert_history_dir)
                                   : opt.secondary_dir) +
            "-alert-history",
        block_cache);
  }

  mutuo::MqttConfig mqtt_config;
  mqtt_config.server_uri = opt.broker;
  mqtt_config.client_id = opt.id;
  mqtt_config.password = password;
  mqtt_config.keepalive_s = 10;
  mqtt_config.clean_start = true;
  mqtt_config.ca_file = opt.ca_file;
  mqtt_config.tls_insecure = opt.tls_insecure;
  mutuo::MqttSession session(mqtt_config);
  auto publish = [&session](const mutuo::MqttMessage& m) { return session.publish(m); };
  mutuo::dashboard::DynsecAdmin dynsec(publish);
  mutuo::dashboard::Registrar registrar(data.get(), &dynsec, publish,
                                        [] { return mutuo::now_ms(); });
  mutuo::dashboard::RetainedTable<mutuo::Alert> alerts;
  mutuo::dashboard::RetainedTable<mutuo::Check> checks;
  mutuo::dashboard::LiveFeed feed;
  mutuo::dashboard::BusListener bus(&presence, &alerts, &checks, &feed,
                                    [] { return mutuo::now_ms(); });
  for (const char* filter : mutuo::dashboard::kBusTopics) session.subscribe(filter, 1);
  session.subscribe(mutuo::dashboard::kDynsecResponseTopic, 1);
  // Silences and notification channels (api_admin_routes.h).
  mutuo::dashboard::AdminRoutes admin_routes({
      .publish = publish,
      .broker_connected = [&session] { return session.connected(); },
      .now_ms = [] { return mutuo::now_ms(); },
      .history = alert_history.get(),
      .registrar = &registrar,
  });
  for (const char* filter : mutuo::dashboard::kAdminTopics) session.subscribe(filter, 1);
  session.on_message([&bus, &dynsec, &admin_routes](const mutuo::MqttMessage& m) {
    if (m.topic == mutuo::dashboard::kDynsecResponseTopic) {
      dynsec.on_response(m.payload);
    } else if (admin_routes.on_message(m)) {
      // a silence or a channel
    } else {
      bus.on_message(m);
    }
  });
  session.on_connected([&registrar] { registrar.republish_all(); });

  mutuo::dashboard::ApiRouter router({
      .presence = &presence,
      .store =
          [&store] { return store ? store->latest() : mutuo::dashboard::StoreView::Snapshot{}; },
      .broker_connected = [&session] { return session.connected(); },
      .data_version = [&bus] { return bus.version(); },
      .now_ms = [] { return mutuo::now_ms(); },
      .index_html = mutuo::dashboard::index_html(),
      .uplot_js = mutuo::dashboard::uplot_js(),
      .uplot_css = mutuo::dashboard::uplot_css(),
      .series = [&store](const mutuo::store::SeriesId& id, int64_t from, int64_t to,
                         std::size_t points) -> std::optional<mutuo::store::SeriesData> {
        if (!store) return std::nullopt;
        return store->series(id, from, to, points);
      },
      .minute_medians =
          [&store](const std::vector<mutuo::store::StoredResult>& cells) {
            if (!store) return std::vector<std::optional<double>>(cells.size());
            return store->minute_medians(cells, mutuo::now_ms());
          },
      .matrix_in_background = true,
      .accounts = &accounts,
      .sessions = &sessions,
      .login_limiter = &login_limiter,
      .registrar = &registrar,
      .tokens = &api_tokens,
      .setup = &setup,
      .data = data.get(),
      .status_html = mutuo::dashboard::status_html(),
      .alerts = &alerts,
      .checks = &checks,
      .publish = publish,
      .secure_cookies = opt.secure_cookies,
      .agent_broker_uri = opt.agent_broker.empty() ? opt.broker : opt.agent_broker,
      .agent_ca_file = opt.agent_ca_file,
      .admin = &admin_routes,
  });

  mg_init_library(0);
  auto started = mutuo::dashboard::HttpServer::start(opt.listen, router, &feed);
  if (!started) {
    spdlog::error("{}", started.error());
    mg_exit_library();
    return EXIT_FAILURE;
  }
  auto server = std::move(started).value();
  spdlog::info("dashboard: {}", server->url());
  // Prometheus metrics (docs/operating.md, "Metrics"), read at scrape time.
  mutuo::metrics::Registry registry;
  registry.add_collector([&presence, &router, &session, &store, &alert_history,
                          &block_cache](std::string& out) {
    using mutuo::metrics::sample;
    auto family = [&out](const char* name, const char* type, const char* help) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    };
    int online = 0, offline = 0;
    for (const auto& a : presence.snapshot()) ++(a.online ? online : offline);
    family("mutuo_dashboard_agents", "gauge", "Agents known from presence, by state");
    out += sample("mutuo_dashboard_agents", {{"state", "online"}}, online);
    out += sample("mutuo_dashboard_agents", {{"state", "offline"}}, offline);
    family("mutuo_dashboard_broker_connected", "gauge", "1 while connected to the broker");
    out += sample("mutuo_dashboard_broker_connected", {}, session.connected() ? 1 : 0);
    family("mutuo_dashboard_status_rejected_total", "counter", "Status messages refused");
    out += sample("mutuo_dashboard_status_rejected_total", {}, presence.counters().rejected);
    auto r = router.counters();
    family("mutuo_dashboard_http_refused_total", "counter", "HTTP requests refused, by reason");
    for (const auto& [reason, n] : {std::pair{"failed_login", r.failed_logins},
                                    {"rate_limited", r.rate_limited},
                                    {"unauthenticated", r.unauthenticated},
                                    {"csrf", r.csrf_refused},
                                    {"role", r.role_refused}})
      out += sample("mutuo_dashboard_http_refused_total", {{"reason", reason}}, n);
    mutuo::store::ReaderMemory mem;
    for (auto m : {store ? store->memory() : mutuo::store::ReaderMemory{},
                   alert_history ? alert_history->memory() : mutuo::store::ReaderMemory{}})
      mem += m;
    family("mutuo_dashboard_store_memory_bytes", "gauge",
           "Memory of the store and alert-history readers, by part");
    out += sample("mutuo_dashboard_store_memory_bytes", {{"part", "block_cache"}},
                  static_cast<double>(block_cache->GetUsage()));
    out += sample("mutuo_dashboard_store_memory_bytes", {{"part", "memtables"}},
                  static_cast<double>(mem.memtables));
    out += sample("mutuo_dashboard_store_memory_bytes", {{"part", "memtables_retired"}},
                  static_cast<double>(mem.memtables_retired));
    out += sample("mutuo_dashboard_store_memory_bytes", {{"part", "table_readers"}},
                  static_cast<double>(mem.table_readers));
    family("mutuo_dashboard_store_immutable_memtables", "gauge",
           "Sealed memtables the store readers hold, replayed from the receiver's log");
    out += sample("mutuo_dashboard_store_immutable_memtables", {},
                  static_cast<double>(mem.immutable_memtables));
    family("mutuo_dashboard_store_catch_ups_total", "counter",
           "Catch-ups with the receiver's writes (its write-ahead log replayed), by database");
    family("mutuo_dashboard_store_catch_up_seconds_total", "counter",
           "Time spent catching up with the receiver's writes, by database");
    auto catch_ups = [&out](const char* db, auto stats) {
      out += sample("mutuo_dashboard_store_catch_ups_total", {{"db", db}},
                    static_cast<double>(stats.count));
      out += sample("mutuo_dashboard_store_catch_up_seconds_total", {{"db", db}}, stats.seconds);
    };
    if (store) catch_ups("store", store->catch_ups());
    if (alert_history) catch_ups("alert_history", alert_history->catch_ups());
    mutuo::MallocStats heap = mutuo::malloc_stats();
    family("mutuo_dashboard_malloc_bytes", "gauge",
           "Heap memory: in use by the dashboard, or freed and kept by malloc");
    out += sample("mutuo_dashboard_malloc_bytes", {{"state", "in_use"}},
                  static_cast<double>(heap.in_use));
    out += sample("mutuo_dashboard_malloc_bytes", {{"state", "free"}},
                  static_cast<double>(heap.free_held));
  });
  std::unique_ptr<mutuo::metrics::MetricsServer> metrics_server;
  if (!metrics_listen.empty()) {
    auto metrics_started = mutuo::metrics::MetricsServer::start(metrics_listen, registry);
    if (metrics_started) metrics_server = std::move(metrics_started).value();
    if (!metrics_started) spdlog::error("{}; running without metrics", metrics_started.error());
  }
  if (setup.active()) {
    // Shown once: whoever reads this log may create the first admin.
    spdlog::warn("no user yet: open {}#setup={} to create the first admin (one-time link)",
                 server->url(), setup_token);
  }

  session.start();
  spdlog::info("connecting to {} as {}", opt.broker, opt.id);
  mutuo::systemd::Readiness readiness([&session] { return session.connected(); },
                                      "serving " + server->url() + ", connected to " + opt.broker,
                                      "serving " + server->url() + ", waiting for " + opt.broker);

  // Once connected, bring agent roles made by older versions up to date (rights
  // added since); on its own thread because it waits for the broker's answers.
  std::jthread role_upgrade([&session, &registrar](std::stop_token stop) {
    for (int i = 0; i < 3000 && !stop.stop_requested() && !session.connected(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // at most 5 minutes
    if (stop.stop_requested() || !session.connected()) return;
    auto upgraded = registrar.upgrade_agent_roles();
    if (!upgraded) spdlog::warn("agent roles not checked for new rights: {}", upgraded.error());
  });

  // Housekeeping: once a minute, hand freed memory back (memtables the store's
  // secondary replayed and dropped when the receiver flushed, charts built).
  std::jthread housekeeping([](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    // wait_for returns the predicate: true once a stop is requested.
    while (!cv.wait_for(lock, stop, std::chrono::seconds(60),
                        [&stop] { return stop.stop_requested(); })) {
      mutuo::release_free_memory();
    }
  });

  std::string signal = mutuo::wait_for_shutdown_signal();
  housekeeping.request_stop();
  role_upgrade.request_stop();
  readiness.stopping();
  spdlog::info("{} received, stopping", signal);
  server->stop();
  metrics_server.reset();  // before mg_exit_library
  spdlog::debug("http server stopped");
  session.stop();
  spdlog::debug("mqtt session stopped");
  mg_exit_library();
  auto refused = router.counters();
  spdlog::info(
      "http refusals: {} failed logins, {} rate-limited, {} without session, {} CSRF or "
      "origin, {} not admin",
      refused.failed_logins, refused.rate_limited, refused.unauthenticated, refused.csrf_refused,
      refused.role_refused);
  auto live = feed.counters();
  spdlog::info(
      "live feed: {} clients accepted, {} refused (full), {} dropped (slow), {} dropped "
      "(session ended), {} events, {} frames",
      live.accepted, live.refused_full, live.dropped_slow, live.dropped_auth, live.events,
      live.frames_sent);
  auto bus_counters = bus.counters();
  spdlog::info("bus: {} result batches, {} alerts, {} checks, {} rejected", bus_counters.results,
               bus_counters.alerts, bus_counters.checks, bus_counters.rejected);
  auto counters = presence.counters();
  spdlog::info("stopped; status messages: {} applied, {} cleared, {} rejected", counters.updated,
               counters.cleared, counters.rejected);
  return EXIT_SUCCESS;
}
