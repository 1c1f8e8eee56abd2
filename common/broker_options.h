// The command-line options through which a service (the tracker, the receiver)
// reaches the broker: --broker, --id, --token-file, --ca-file and
// --tls-insecure, in that order and with the same help in every program that
// adds them. The agent and the dashboard word theirs for their own users.
//
// Threading: main only, before any thread starts (common/cli.h).
#pragma once

#include <string>

#include "common/cli.h"
#include "common/mqtt_session.h"

namespace mutuo {

// Adds the options to `app`. When app parses they land in `mqtt` (server_uri,
// client_id, ca_file, tls_insecure; --help shows the values these hold now as
// the defaults) and `token_file`, the file read_secret() (common/process.h)
// reads the password from. Both must outlive app.parse().
void add_broker_options(cli::Command& app, MqttConfig& mqtt, std::string& token_file);

}  // namespace mutuo
