// mutuo-agent: runs on every peer; probes the peers and services it is assigned,
// answers other agents' probes, and delivers its results durably (DESIGN.md,
// "agent/" and "Delivery"). Operator documentation: docs/agent.md.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "agent/agent.h"
#include "agent/echo_responder.h"
#include "agent/net_addr.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/delivery/outbox.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/messages/probe_now.h"
#include "common/metrics_endpoint.h"
#include "common/process.h"
#include "common/sd_notify.h"
#include "common/topics.h"
#include "common/version.h"

namespace {

// Where unconfirmed batches live unless --buffer-dir says otherwise.
std::string default_buffer_dir(const std::string& id) {
  if (const char* state = std::getenv("STATE_DIRECTORY"); state && *state) {  // systemd
    return std::string(state) + "/" + id;
  }
  if (geteuid() == 0) return "/var/lib/mutuo-agent/" + id;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/mutuo-agent/" + id;
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena: the agent's few threads allocate little, and every extra
  // arena costs resident memory on a small box.
  mallopt(M_ARENA_MAX, 1);
  mutuo::block_shutdown_signals();
  mutuo::cli::Command app{
      "mutuo-agent: measures its assigned peers (UDP echo, ICMP) and services (TCP, HTTP/HTTPS, "
      "DNS), answers other agents' UDP echo probes, and delivers every result to the receiver "
      "through an on-disk buffer.\n"
      "Options come from the command line, then the --config file (TOML or INI, keys named as "
      "the long options, e.g. broker = \"tcp://host:1883\"), then MUTUO_* environment "
      "variables. The MQTT token is read from --token-file or MUTUO_TOKEN, never from the "
      "command line. See docs/agent.md."};
  app.config_file("--config", "read options from this TOML/INI file");
  mutuo::MqttConfig mqtt;
  std::string id, token_file, log_level = "info", echo_bind = "0.0.0.0", buffer_dir, metrics_file;
  std::vector<std::string> advertise, label_args;
  uint16_t echo_port = 7777;
  int keepalive = 10;
  bool status_only = false, buffer_fsync = true;
  uint32_t buffer_max_batches = 100000, buffer_max_mb = 64, resend_after_s = 10, workers = 2,
           max_concurrent = 256, status_interval_s = 60, udp_timeout_ms = 1000;
  mutuo::agent::ProbeOptions probes;

  app.option("--id", id, "agent id: [a-z0-9][a-z0-9-]{0,62}; also the MQTT username")
      .env("MUTUO_ID")
      .required();
  app.option("--broker", mqtt.server_uri, "MQTT broker URI (tcp://host:port or ssl://...)")
      .env("MUTUO_BROKER")
      .show_default();
  app.option("--token-file", token_file,
             "file holding this agent's token (default: env MUTUO_TOKEN)");
  app.option("--ca-file", mqtt.ca_file, "CA certificate to verify an ssl:// broker");
  app.flag("--tls-insecure", mqtt.tls_insecure, "skip broker certificate checks (dev only)");
  app.option("--echo-port", echo_port, "UDP port of the echo responder other agents probe")
      .show_default();
  app.option("--echo-bind", echo_bind, "address the echo responder binds").show_default();
  app.option("--advertise", advertise,
             "address peers should probe (repeatable; default: this host's addresses)");
  app.option("--label", label_args, "label key=value, e.g. site=fra (repeatable)");
  app.option("--buffer-dir", buffer_dir,
             "directory of unconfirmed result batches (default: $STATE_DIRECTORY/<id>, "
             "/var/lib/mutuo-agent/<id> as root, else ~/.local/state/mutuo-agent/<id>)")
      .env("MUTUO_BUFFER_DIR");
  app.option("--buffer-max-batches", buffer_max_batches,
             "most batches kept; beyond, the oldest are dropped and counted")
      .show_default()
      .range(1u, 10000000u);
  app.option("--buffer-max-mb", buffer_max_mb, "most MiB of batches kept on disk")
      .show_default()
      .range(1u, 100000u);
  app.option("--buffer-fsync", buffer_fsync,
             "fsync each batch before publishing it (false: survives a process crash, "
             "not a power cut; spares SD cards)")
      .show_default();
  app.option("--resend-after-s", resend_after_s,
             "resend a batch the receiver has not confirmed after this long (doubling "
             "per attempt, up to 2 min)")
      .show_default()
      .range(1u, 3600u);
  app.option("--udp-packets", probes.udp.packets, "UDP echo packets per peer per round")
      .show_default()
      .range(1u, 100u);
  app.option("--udp-timeout-ms", udp_timeout_ms,
             "wait for UDP and ICMP echo replies after the last send")
      .show_default()
      .range(10u, 60000u);
  app.option("--icmp-packets", probes.icmp.packets, "ICMP echo packets per target per round")
      .show_default()
      .range(1u, 100u);
  app.option("--http-ca-file", probes.http.ca_file,
             "extra CA certificates trusted by https checks (default: the system's)");
  app.option("--http-max-redirects", probes.http.max_redirects,
             "redirects an http check follows (0: the first response counts)")
      .show_default()
      .range(0, 50);
  app.option("--http-cert-warn-days", probes.http.cert_warn_days,
             "an https check fails when the certificate expires within this many days")
      .show_default()
      .range(0, 3650);
  app.option("--workers", workers, "probe rounds run at once (threads)")
      .show_default()
      .range(1u, 64u);
  app.option("--max-concurrent", max_concurrent,
             "probes in flight at once (sockets, transfers), all rounds together")
      .show_default()
      .range(1u, 65536u);
  app.option("--status-interval-s", status_interval_s, "log a status line this often (0: never)")
      .show_default();
  app.option("--metrics-file", metrics_file,
             "write Prometheus text metrics here every 10 s (node_exporter textfile "
             "format; default: <buffer-dir>/metrics.prom; \"none\" to disable)");
  std::string metrics_listen;
  app.option("--metrics-listen", metrics_listen,
             "also serve the metrics on http://ADDR:PORT/metrics, e.g. 127.0.0.1:9474 "
             "(loopback only; default: off)");
  app.flag("--status", status_only,
           "print the running agent's metrics file (same --id/--config) and exit");
  app.option("--keepalive", keepalive,
             "MQTT keepalive, seconds; the broker declares the agent lost after 1.5x")
      .show_default()
      .range(2, 600);
  app.option("--log-level", log_level, "trace, debug, info, warn or error")
      .env("MUTUO_LOG_LEVEL")
      .show_default();
  app.version_flag("--version", mutuo::kVersion);
  if (auto exit = app.parse(argc, argv)) return *exit;

  mutuo::init_logging("agent", log_level);
  if (!mutuo::valid_id(id)) {
    spdlog::error(
        "invalid --id '{}': use 1-63 of a-z, 0-9 and '-', starting with a letter or digit", id);
    return 2;
  }
  if (buffer_dir.empty()) buffer_dir = default_buffer_dir(id);
  if (metrics_file.empty()) metrics_file = buffer_dir + "/metrics.prom";
  if (metrics_file == "none") metrics_file.clear();
  if (status_only) {
    std::ifstream f(metrics_file);
    if (metrics_file.empty() || !f) {
      std::cerr << "no metrics at '" << metrics_file << "': is the agent running?\n";
      return 1;
    }
    std::cout << f.rdbuf();
    return 0;
  }
  auto token = mutuo::read_secret(token_file, "MUTUO_TOKEN");
  if (!token) {
    spdlog::error("{}", token.error());
    return 2;
  }
  mutuo::codec::Labels labels;
  for (const auto& l : label_args) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == l.size()) {
      spdlog::error("invalid --label '{}': expected key=value", l);
      return 2;
    }
    labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  if (advertise.empty()) advertise = mutuo::agent::local_addresses();
  if (advertise.empty()) {
    spdlog::warn("no non-loopback address found; advertising 127.0.0.1 (use --advertise)");
    advertise.push_back("127.0.0.1");
  }
  for (const auto& a : advertise) {
    if (!mutuo::codec::valid_addr(a)) {
      spdlog::error("invalid --advertise '{}': expected an IPv4 or IPv6 literal", a);
      return 2;
    }
  }

  mutuo::agent::EchoResponder responder;
  auto bound = responder.start(echo_bind, echo_port);
  if (!bound) {
    spdlog::error("echo responder: {}", bound.error());
    return 1;
  }

  mutuo::Status online;
  online.agent = id;
  online.online = true;
  online.version = mutuo::kVersion;
  online.addrs = advertise;
  online.echo_port = *bound;
  online.labels = labels;
  mutuo::Status lost;
  lost.agent = id;
  lost.online = false;
  lost.reason = "lost";
  lost.version = mutuo::kVersion;
  lost.ts_ms = mutuo::now_ms();

  mqtt.client_id = id;
  mqtt.password = *token;
  mqtt.keepalive_s = keepalive;
  mqtt.clean_start = false;  // keep our subscriptions and queued acks across blips
  mqtt.session_expiry_s = 3600;
  mqtt.will = mutuo::MqttMessage{mutuo::topics::status(id), mutuo::encode(lost), 1, true};
  mutuo::MqttSession session(mqtt);

  mutuo::delivery::OutboxConfig delivery;
  delivery.store = {buffer_dir, buffer_fsync};
  delivery.max_batches = buffer_max_batches;
  delivery.max_bytes = uint64_t{buffer_max_mb} * 1024 * 1024;
  delivery.resend_after = std::chrono::seconds(resend_after_s);
  auto outbox = mutuo::delivery::Outbox::open(
      delivery, [&session, results = mutuo::topics::results(id)](uint64_t, const std::string& p) {
        return session.publish({results, p, 1, false});
      });
  if (!outbox) {
    spdlog::error("result buffer: {}", outbox.error());
    return 1;
  }
  auto pending = outbox.value()->stats();
  spdlog::info("result buffer {}: {} unconfirmed batch(es) from before ({} bytes){}", buffer_dir,
               pending.pending, pending.pending_bytes,
               pending.dropped_batches
                   ? fmt::format(", {} dropped to fit the limits", pending.dropped_batches)
                   : "");

  probes.udp.timeout = std::chrono::milliseconds(udp_timeout_ms);
  probes.icmp.timeout = std::chrono::milliseconds(udp_timeout_ms);
  probes.http.user_agent = std::string("mutuo-agent/") + mutuo::kVersion;
  mutuo::agent::AgentConfig config;
  config.id = id;
  config.online_status = online;
  config.probes = probes;
  config.workers = workers;
  config.max_concurrent = max_concurrent;
  config.status_interval = std::chrono::seconds(status_interval_s);
  config.metrics_file = metrics_file;
  config.assignment_file = buffer_dir + "/assignment.json";
  mutuo::agent::Agent agent(config, session, *outbox.value());
  std::unique_ptr<mutuo::metrics::TextEndpoint> metrics_http;  // docs/operating.md, "Metrics"
  if (!metrics_listen.empty()) {
    auto started = mutuo::metrics::TextEndpoint::start(metrics_listen,
                                                       [&agent] { return agent.metrics_text(); });
    if (started) metrics_http = std::move(started).value();
    if (!started) spdlog::error("{}; metrics only in {}", started.error(), metrics_file);
  }
  agent.load_saved_assignment();
  session.subscribe(mutuo::topics::assign(id), 1);
  session.subscribe(mutuo::topics::acks(id), 1);
  // Second opinions (docs/agent.md): agents registered before this topic existed
  // lack the right to read it; the broker refuses the subscription and the agent
  // probes its assignment as before.
  session.subscribe(mutuo::probe_now_topic(id), 1);
  session.on_message([&](const mutuo::MqttMessage& m) { agent.handle(m); });
  session.on_connected([&] { agent.on_connected(); });
  spdlog::info(
      "mutuo-agent {} '{}' starting; broker {}, echo on udp {}:{}, advertising {}, "
      "probes {}",
      mutuo::kVersion, id, mqtt.server_uri, echo_bind, *bound, fmt::join(advertise, ","),
      fmt::join(agent.probe_names(), ","));
  session.start();
  mutuo::systemd::Readiness readiness([&session] { return session.connected(); },
                                      "connected to " + mqtt.server_uri,
                                      "buffering results until " + mqtt.server_uri + " answers");
  std::thread runner([&] { agent.run(); });

  std::string sig = mutuo::wait_for_shutdown_signal();
  readiness.stopping();
  spdlog::info("{}: stopping", sig);
  agent.stop();
  runner.join();
  spdlog::info("{}", agent.status_line());
  mutuo::Status offline = lost;
  offline.reason = "shutdown";
  offline.ts_ms = mutuo::now_ms();
  session.stop(mutuo::MqttMessage{mutuo::topics::status(id), mutuo::encode(offline), 1, true});
  responder.stop();
  return 0;
}
