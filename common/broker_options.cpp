#include "common/broker_options.h"

namespace mutuo {

void add_broker_options(cli::Command& app, MqttConfig& mqtt, std::string& token_file) {
  app.option("--broker", mqtt.server_uri, "MQTT broker URI (tcp://host:port or ssl://...)")
      .show_default();
  app.option("--id", mqtt.client_id, "MQTT client id and username").show_default();
  app.option("--token-file", token_file,
             "file holding the MQTT password (default: env MUTUO_TOKEN)");
  app.option("--ca-file", mqtt.ca_file, "CA certificate to verify an ssl:// broker");
  app.flag("--tls-insecure", mqtt.tls_insecure, "skip broker certificate checks (dev only)");
}

}  // namespace mutuo
