// mutuo-receiver: stores every result batch from the bus and confirms it
// (DESIGN.md, "receiver/").
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

#include "common/log.h"
#include "common/process.h"
#include "common/topics.h"
#include "common/version.h"
#include "receiver/receiver.h"

int main(int argc, char** argv) {
  mutuo::block_shutdown_signals();
  CLI::App app{"mutuo-receiver: consumes agents' result batches from MQTT, validates them, "
               "stores them in RocksDB and confirms each stored batch to its agent."};
  mutuo::MqttConfig mqtt;
  mqtt.client_id = "receiver";
  std::string token_file, store_dir, log_level = "info";
  uint32_t session_expiry_s = 7 * 24 * 3600;
  int stats_every_s = 60;
  app.add_option("--broker", mqtt.server_uri, "MQTT broker URI (tcp://host:port or ssl://...)")
      ->capture_default_str();
  app.add_option("--id", mqtt.client_id, "MQTT client id and username")->capture_default_str();
  app.add_option("--token-file", token_file,
                 "file holding the MQTT password (default: env MUTUO_TOKEN)");
  app.add_option("--ca-file", mqtt.ca_file, "CA certificate to verify an ssl:// broker");
  app.add_option("--store", store_dir, "RocksDB directory (created if missing)")->required();
  app.add_option("--session-expiry-s", session_expiry_s,
                 "how long the broker keeps queueing results while the receiver is away")
      ->capture_default_str();
  app.add_option("--stats-every-s", stats_every_s, "log ingest counters this often (0: never)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  app.set_version_flag("--version", mutuo::kVersion);
  CLI11_PARSE(app, argc, argv);

  mutuo::init_logging("receiver", log_level);
  auto token = mutuo::read_secret(token_file, "MUTUO_TOKEN");
  if (!token) {
    spdlog::error("{}", token.error());
    return 2;
  }
  auto store = mutuo::receiver::StoreWriter::open(store_dir);
  if (!store) {
    spdlog::error("{}", store.error());
    return 1;
  }
  mqtt.password = *token;
  mqtt.clean_start = false;  // a persistent session: the broker queues results while we are away
  mqtt.session_expiry_s = session_expiry_s;
  mutuo::MqttSession session(mqtt);
  mutuo::receiver::Receiver receiver({}, **store, session);
  session.subscribe(mutuo::topics::kAllResults, 1);
  session.on_message([&](const mutuo::MqttMessage& m) { receiver.handle(m); });
  spdlog::info("mutuo-receiver {} starting; broker {}, store {}", mutuo::kVersion,
               mqtt.server_uri, store_dir);
  session.start();

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread stats_thread([&] {
    if (stats_every_s <= 0) return;
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::seconds(stats_every_s), [&] { return stopping; })) {
      auto s = receiver.stats();
      uint64_t rejected = 0;
      for (const auto& [reason, n] : s.rejected) rejected += n;
      spdlog::info("stored {} batches, {} results; rejected {}", s.batches, s.results, rejected);
    }
  });

  std::string sig = mutuo::wait_for_shutdown_signal();
  spdlog::info("{}: stopping", sig);
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  stats_thread.join();
  session.stop();
  return 0;
}
