// mutuo-dashboard: shows agent presence (from the broker) and the mesh matrix
// (from the receiver's store) as a web page and a JSON API.
#include <civetweb.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "common/mqtt_session.h"
#include "common/process.h"
#include "common/topics.h"
#include "common/version.h"
#include "dashboard/api_router.h"
#include "dashboard/http_server.h"
#include "dashboard/presence_table.h"
#include "dashboard/store_view.h"
#include "dashboard/web_assets.h"

namespace {

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string id = "dashboard";
  std::string token_file;
  std::string store_dir;
  std::string secondary_dir;
  std::string listen = "127.0.0.1:8470";
  std::string log_level = "info";
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

  Options opt;
  CLI::App app{"mutuo dashboard: agent presence and the mesh matrix, as a web page and JSON API"};
  app.set_version_flag("--version", std::string(mutuo::kVersion));
  app.add_option("--broker", opt.broker, "MQTT broker URI (tcp://, ssl:// or mqtts://)")
      ->capture_default_str();
  app.add_option("--id", opt.id, "MQTT client id and username")->capture_default_str();
  app.add_option("--token-file", opt.token_file,
                 "file holding the MQTT password (default: env MUTUO_TOKEN)");
  app.add_option("--store", opt.store_dir,
                 "the receiver's RocksDB directory, read as a secondary instance "
                 "(without it the matrix stays empty)");
  app.add_option(
      "--secondary-dir", opt.secondary_dir,
      "where the secondary instance keeps its files (default: <store>.dashboard-secondary)");
  app.add_option("--listen", opt.listen, "HTTP listening ports, CivetWeb syntax")
      ->capture_default_str();
  app.add_option("--log-level", opt.log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

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

  mutuo::dashboard::PresenceTable presence;

  std::unique_ptr<mutuo::dashboard::StoreView> store;
  if (opt.store_dir.empty()) {
    spdlog::warn("no --store given: the mesh matrix stays empty");
  } else {
    if (opt.secondary_dir.empty()) opt.secondary_dir = default_secondary_dir(opt.store_dir);
    store = std::make_unique<mutuo::dashboard::StoreView>(opt.store_dir, opt.secondary_dir);
  }

  mutuo::MqttConfig mqtt_config;
  mqtt_config.server_uri = opt.broker;
  mqtt_config.client_id = opt.id;
  mqtt_config.password = password;
  mqtt_config.keepalive_s = 10;
  mqtt_config.clean_start = true;
  mutuo::MqttSession session(mqtt_config);
  session.subscribe(mutuo::topics::kAllStatus, 1);
  session.on_message([&presence](const mutuo::MqttMessage& m) {
    presence.apply(m.topic, m.payload, m.retained, mutuo::now_ms());
  });

  mutuo::dashboard::ApiRouter router({
      .presence = &presence,
      .store =
          [&store] { return store ? store->latest() : mutuo::dashboard::StoreView::Snapshot{}; },
      .broker_connected = [&session] { return session.connected(); },
      .now_ms = [] { return mutuo::now_ms(); },
      .index_html = mutuo::dashboard::index_html(),
  });

  mg_init_library(0);
  auto started = mutuo::dashboard::HttpServer::start(opt.listen, router);
  if (!started) {
    spdlog::error("{}", started.error());
    mg_exit_library();
    return EXIT_FAILURE;
  }
  auto server = std::move(started).value();
  spdlog::info("dashboard: {}", server->url());

  session.start();
  spdlog::info("connecting to {} as {}", opt.broker, opt.id);

  std::string signal = mutuo::wait_for_shutdown_signal();
  spdlog::info("{} received, stopping", signal);
  server->stop();
  spdlog::debug("http server stopped");
  session.stop();
  spdlog::debug("mqtt session stopped");
  mg_exit_library();
  auto counters = presence.counters();
  spdlog::info("stopped; status messages: {} applied, {} cleared, {} rejected", counters.updated,
               counters.cleared, counters.rejected);
  return EXIT_SUCCESS;
}
