// mutuo-tracker: tells every agent whom to probe (DESIGN.md, "tracker/";
// operating notes in docs/tracker.md).
#include <spdlog/spdlog.h>

#include <thread>

#include "common/broker_options.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/sd_notify.h"
#include "common/version.h"
#include "tracker/tracker.h"

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  mutuo::cli::Command app{
      "mutuo-tracker: builds the live peer set from agents' presence and publishes "
      "each agent's probe assignment (peers and service checks) as retained MQTT "
      "messages. Run two for a standby: only the leader publishes."};
  mutuo::MqttConfig mqtt;
  mqtt.client_id = "tracker";
  mutuo::tracker::TrackerConfig config;
  std::string token_file, log_level = "info", spread = "site,provider";
  uint32_t interval_s = 10;
  int settle_ms = 1500, debounce_ms = 200;
  mutuo::add_broker_options(app, mqtt, token_file);
  app.option("--interval-s", interval_s, "probe round interval handed to agents, seconds")
      .show_default()
      .range(1, 3600);
  app.option("--full-mesh-max", config.assignment.full_mesh_max,
             "up to this many live peers every agent probes every other")
      .show_default()
      .range(1, 4096);
  app.option("--k", config.assignment.k, "beyond the full mesh: observers per peer")
      .show_default()
      .range(1, 1024);
  app.option("--spread-labels", spread,
             "comma-separated label keys whose values observers are spread across")
      .show_default();
  app.option("--flap-window-ms", config.flap.window_ms,
             "a rejoin this soon after a leave counts as flapping")
      .show_default()
      .range(int64_t{0}, int64_t{86400000});
  app.option("--flap-hold-ms", config.flap.hold_ms,
             "a flapping agent is left out until it has stayed up this long (0: off)")
      .show_default()
      .range(int64_t{0}, int64_t{3600000});
  app.option("--settle-ms", settle_ms,
             "after connecting, wait this long for retained state before publishing")
      .show_default()
      .range(0, 120000);
  app.option("--debounce-ms", debounce_ms,
             "gather changes arriving within this long into one round of publishes")
      .show_default()
      .range(0, 10000);
  auto& so = config.second_opinions;
  app.option("--probe-now-rounds", so.rounds,
             "second opinions: extra rounds each picked agent runs at once ...")
      .show_default()
      .range(1u, mutuo::kMaxProbeNowRounds);
  app.option("--probe-now-every-ms", so.every_ms, "... this many milliseconds apart")
      .show_default()
      .range(100u, 60000u);
  int64_t per_subject_s = so.per_subject_ms / 1000;
  app.option("--second-opinion-every-s", per_subject_s,
             "answer at most one probe request per subject this often")
      .show_default()
      .range(int64_t{1}, int64_t{3600});
  app.option("--probe-now-per-agent", so.per_agent_per_minute,
             "ask one agent for second opinions at most this many times a minute")
      .show_default()
      .range(std::size_t{1}, std::size_t{600});
  std::string metrics_listen = "127.0.0.1:9472";
  app.option("--metrics-listen", metrics_listen,
             "serve Prometheus metrics on http://ADDR:PORT/metrics (loopback only; empty: off)")
      .show_default();
  app.option("--log-level", log_level, "trace, debug, info, warn or error").show_default();
  app.version_flag("--version", mutuo::kVersion);
  if (auto exit = app.parse(argc, argv)) return *exit;

  mutuo::init_logging("tracker", log_level);
  auto token = mutuo::read_secret(token_file, "MUTUO_TOKEN");
  if (!token) {
    spdlog::error("{}", token.error());
    return 2;
  }
  config.assignment.spread_labels.clear();
  for (size_t start = 0; start <= spread.size();) {
    size_t end = spread.find(',', start);
    if (end == std::string::npos) end = spread.size();
    if (end > start) config.assignment.spread_labels.push_back(spread.substr(start, end - start));
    start = end + 1;
  }
  config.assignment.interval_s = interval_s;
  config.settle = std::chrono::milliseconds(settle_ms);
  config.debounce = std::chrono::milliseconds(debounce_ms);
  config.id = mqtt.client_id;
  so.per_subject_ms = per_subject_s * 1000;

  mqtt.password = *token;
  mqtt.keepalive_s = 5;
  mqtt.clean_start = true;                           // all state is rebuilt from retained topics
  mqtt.will = mutuo::tracker::Leadership::vacate();  // our death frees the lead

  mutuo::MqttSession session(mqtt);
  mutuo::tracker::Tracker tracker(config, session);
  // Prometheus metrics (docs/operating.md, "Metrics"), read from the stats at scrape time.
  mutuo::metrics::Registry registry;
  registry.add_collector([&tracker](std::string& out) {
    auto s = tracker.stats();
    auto one = [&out](const std::string& name, const char* type, const char* help, double v) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
      out += mutuo::metrics::sample(name, {}, v);
    };
    one("mutuo_tracker_leader", "gauge", "1 while this tracker leads and publishes", s.leader);
    one("mutuo_tracker_live_agents", "gauge", "Agents online and in the live set", s.live);
    one("mutuo_tracker_held_agents", "gauge", "Flapping agents held out of the live set", s.held);
    one("mutuo_tracker_plans_total", "counter", "Rounds that published changes", s.plans);
    one("mutuo_tracker_published_messages_total", "counter",
        "Assignment revisions and peer entries published", s.published);
    one("mutuo_tracker_published_bytes_total", "counter", "Bytes published", s.published_bytes);
    one("mutuo_tracker_probe_requests_total", "counter",
        "Second-opinion requests received from the receiver", s.probe_requests);
    one("mutuo_tracker_probe_now_sent_total", "counter",
        "probe-now messages published (one per agent asked)", s.probe_now_sent);
    out +=
        "# HELP mutuo_tracker_probe_requests_unanswered_total Probe requests not answered, "
        "by reason\n# TYPE mutuo_tracker_probe_requests_unanswered_total counter\n";
    for (const auto& [reason, n] : s.probe_requests_unanswered)
      out += mutuo::metrics::sample("mutuo_tracker_probe_requests_unanswered_total",
                                    {{"reason", reason}}, n);
    out +=
        "# HELP mutuo_tracker_rejected_total Input refused, by reason\n"
        "# TYPE mutuo_tracker_rejected_total counter\n";
    for (const auto& [reason, n] : s.rejected)
      out += mutuo::metrics::sample("mutuo_tracker_rejected_total", {{"reason", reason}}, n);
  });
  std::unique_ptr<mutuo::metrics::MetricsServer> metrics_server;
  if (!metrics_listen.empty()) {
    auto started = mutuo::metrics::MetricsServer::start(metrics_listen, registry);
    if (started) metrics_server = std::move(started).value();
    if (!started) spdlog::error("{}; running without metrics", started.error());  // not fatal
  }
  for (const auto& t : mutuo::tracker::Tracker::topics()) session.subscribe(t, 1);
  session.on_message([&](const mutuo::MqttMessage& m) { tracker.handle(m); });
  session.on_connected([&] { tracker.on_connected(); });
  spdlog::info("mutuo-tracker {} starting as {}; broker {}; full mesh up to {} peers, then k={}",
               mutuo::kVersion, mqtt.client_id, mqtt.server_uri, config.assignment.full_mesh_max,
               config.assignment.k);
  session.start();
  mutuo::systemd::Readiness readiness([&session] { return session.connected(); },
                                      "connected to " + mqtt.server_uri,
                                      "waiting for broker " + mqtt.server_uri);
  std::thread worker([&] { tracker.run(); });

  std::string sig = mutuo::wait_for_shutdown_signal();
  readiness.stopping();
  spdlog::info("{}: stopping", sig);
  tracker.stop();
  worker.join();
  auto stats = tracker.stats();
  spdlog::info("published {} message(s), {} bytes, in {} round(s); rejected {} kind(s) of input",
               stats.published, stats.published_bytes, stats.plans, stats.rejected.size());
  session.stop(tracker.final_message());
  return 0;
}
