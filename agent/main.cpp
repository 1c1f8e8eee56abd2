// mutuo-agent: runs on every peer; probes the peers and services it is assigned
// and answers other agents' probes (DESIGN.md, "agent/").
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "agent/agent.h"
#include "agent/echo_responder.h"
#include "agent/net_addr.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/process.h"
#include "common/topics.h"
#include "common/version.h"

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  CLI::App app{"mutuo-agent: measures latency, loss and jitter to its assigned peers over "
               "MQTT-coordinated UDP echo, and answers their probes.\n"
               "The MQTT token is read from --token-file or the MUTUO_TOKEN environment "
               "variable, never from the command line."};
  mutuo::MqttConfig mqtt;
  std::string id, token_file, log_level = "info", echo_bind = "0.0.0.0";
  std::vector<std::string> advertise, label_args;
  uint16_t echo_port = 7777;
  uint32_t packets = 10;
  int keepalive = 10;
  app.add_option("--id", id, "agent id: [a-z0-9][a-z0-9-]{0,62}; also the MQTT username")
      ->required();
  app.add_option("--broker", mqtt.server_uri, "MQTT broker URI (tcp://host:port or ssl://...)")
      ->capture_default_str();
  app.add_option("--token-file", token_file,
                 "file holding this agent's token (default: env MUTUO_TOKEN)");
  app.add_option("--ca-file", mqtt.ca_file, "CA certificate to verify an ssl:// broker");
  app.add_option("--echo-port", echo_port, "UDP port of the echo responder other agents probe")
      ->capture_default_str();
  app.add_option("--echo-bind", echo_bind, "address the echo responder binds")
      ->capture_default_str();
  app.add_option("--advertise", advertise,
                 "address peers should probe (repeatable; default: this host's addresses)");
  app.add_option("--label", label_args, "label key=value, e.g. site=fra (repeatable)");
  app.add_option("--udp-packets", packets, "UDP echo packets per peer per round")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--keepalive", keepalive,
                 "MQTT keepalive, seconds; the broker declares the agent lost after 1.5x")
      ->capture_default_str()
      ->check(CLI::Range(2, 600));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  app.set_version_flag("--version", mutuo::kVersion);
  CLI11_PARSE(app, argc, argv);

  mutuo::init_logging("agent", log_level);
  if (!mutuo::valid_id(id)) {
    spdlog::error("invalid --id '{}': use 1-63 of a-z, 0-9 and '-', starting with a letter or digit",
                  id);
    return 2;
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
  online.probes = {"udp"};
  mutuo::Status lost;
  lost.agent = id;
  lost.online = false;
  lost.reason = "lost";
  lost.version = mutuo::kVersion;
  lost.ts_ms = mutuo::now_ms();

  mqtt.client_id = id;
  mqtt.password = *token;
  mqtt.keepalive_s = keepalive;
  mqtt.clean_start = false;        // keep our subscriptions and queued acks across blips
  mqtt.session_expiry_s = 3600;
  mqtt.will = mutuo::MqttMessage{mutuo::topics::status(id), mutuo::encode(lost), 1, true};
  mutuo::MqttSession session(mqtt);

  mutuo::agent::AgentConfig config;
  config.id = id;
  config.udp.packets = packets;
  config.online_status = online;
  mutuo::agent::Agent agent(config, session);
  session.subscribe(mutuo::topics::assign(id), 1);
  session.subscribe(mutuo::topics::acks(id), 1);
  session.on_message([&](const mutuo::MqttMessage& m) { agent.handle(m); });
  session.on_connected([&] { agent.on_connected(); });
  spdlog::info("mutuo-agent {} '{}' starting; broker {}, echo on udp {}:{}, advertising {}",
               mutuo::kVersion, id, mqtt.server_uri, echo_bind, *bound,
               fmt::join(advertise, ","));
  session.start();
  std::thread prober([&] { agent.run(); });

  std::string sig = mutuo::wait_for_shutdown_signal();
  spdlog::info("{}: stopping ({} batches published, {} dropped)", sig, agent.batches_published(),
               agent.batches_dropped());
  agent.stop();
  prober.join();
  mutuo::Status offline = lost;
  offline.reason = "shutdown";
  offline.ts_ms = mutuo::now_ms();
  session.stop(mutuo::MqttMessage{mutuo::topics::status(id), mutuo::encode(offline), 1, true});
  responder.stop();
  return 0;
}
