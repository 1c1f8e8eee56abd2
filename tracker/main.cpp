// mutuo-tracker: tells every agent whom to probe (DESIGN.md, "tracker/").
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/log.h"
#include "common/process.h"
#include "common/topics.h"
#include "common/version.h"
#include "tracker/tracker.h"

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  CLI::App app{"mutuo-tracker: builds the live peer set from agents' presence and publishes "
               "each agent's probe assignment as retained MQTT messages."};
  mutuo::MqttConfig mqtt;
  mqtt.client_id = "tracker";
  std::string token_file, log_level = "info";
  uint32_t interval_s = 10;
  int settle_ms = 1500;
  app.add_option("--broker", mqtt.server_uri, "MQTT broker URI (tcp://host:port or ssl://...)")
      ->capture_default_str();
  app.add_option("--id", mqtt.client_id, "MQTT client id and username")->capture_default_str();
  app.add_option("--token-file", token_file,
                 "file holding the MQTT password (default: env MUTUO_TOKEN)");
  app.add_option("--ca-file", mqtt.ca_file, "CA certificate to verify an ssl:// broker");
  app.add_option("--interval-s", interval_s, "probe round interval handed to agents, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--settle-ms", settle_ms,
                 "after connecting, wait this long for retained state before publishing")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  app.set_version_flag("--version", mutuo::kVersion);
  CLI11_PARSE(app, argc, argv);

  mutuo::init_logging("tracker", log_level);
  auto token = mutuo::read_secret(token_file, "MUTUO_TOKEN");
  if (!token) {
    spdlog::error("{}", token.error());
    return 2;
  }
  mqtt.password = *token;
  mqtt.keepalive_s = 10;
  mqtt.clean_start = true;  // all state is rebuilt from retained topics

  mutuo::MqttSession session(mqtt);
  mutuo::tracker::TrackerConfig config;
  config.assignment.interval_s = interval_s;
  config.settle = std::chrono::milliseconds(settle_ms);
  mutuo::tracker::Tracker tracker(config, session);
  session.subscribe(mutuo::topics::kAllStatus, 1);
  session.subscribe(mutuo::topics::kAllPeers, 1);
  session.subscribe(mutuo::topics::kAllAssign, 1);
  session.on_message([&](const mutuo::MqttMessage& m) { tracker.handle(m); });
  session.on_connected([&] { tracker.on_connected(); });
  spdlog::info("mutuo-tracker {} starting; broker {}", mutuo::kVersion, mqtt.server_uri);
  session.start();
  std::thread worker([&] { tracker.run(); });

  std::string sig = mutuo::wait_for_shutdown_signal();
  spdlog::info("{}: stopping", sig);
  tracker.stop();
  worker.join();
  session.stop();
  return 0;
}
