#include "common/mqtt_session.h"

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mutuo {

namespace {

constexpr auto kMinBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kRefusedBackoff = std::chrono::seconds(15);

// True for CONNACK reasons that retrying soon cannot fix (bad credentials, banned).
bool is_refusal(int reason) {
  return reason == mqtt::ReasonCode::NOT_AUTHORIZED ||
         reason == mqtt::ReasonCode::BAD_USER_NAME_OR_PASSWORD ||
         reason == mqtt::ReasonCode::BANNED || reason == 5 /* v3 not authorized */ ||
         reason == 4 /* v3 bad credentials */;
}

}  // namespace

MqttSession::MqttSession(MqttConfig config) : config_(std::move(config)) {
  if (config_.username.empty()) config_.username = config_.client_id;
  client_ = std::make_unique<mqtt::async_client>(config_.server_uri, config_.client_id,
                                                 mqtt::create_options(MQTTVERSION_5));

  // Built in place, properties set last, kept alive with the client (Paho C++ #362).
  options_ = std::make_unique<mqtt::connect_options>();
  options_->set_mqtt_version(MQTTVERSION_5);
  options_->set_clean_start(config_.clean_start);
  options_->set_keep_alive_interval(config_.keepalive_s);
  options_->set_connect_timeout(10);
  options_->set_automatic_reconnect(false);  // supervise() owns reconnecting
  options_->set_user_name(config_.username);
  options_->set_password(config_.password);
  if (config_.will) {
    options_->set_will(mqtt::will_options(config_.will->topic, config_.will->payload,
                                          config_.will->qos, config_.will->retained));
  }
  if (config_.server_uri.starts_with("ssl://") || config_.server_uri.starts_with("mqtts://")) {
    mqtt::ssl_options ssl;
    if (!config_.ca_file.empty()) ssl.set_trust_store(config_.ca_file);
    // Verify the certificate chain and that it names the host we connect to,
    // unless told explicitly not to.
    ssl.set_enable_server_cert_auth(!config_.tls_insecure);
    ssl.set_verify(!config_.tls_insecure);
    ssl.set_error_handler([](const std::string& msg) { spdlog::warn("TLS: {}", msg); });
    if (config_.tls_insecure) {
      spdlog::warn(
          "TLS certificate verification is OFF for {} (--tls-insecure): anyone on the "
          "path can impersonate the broker",
          config_.server_uri);
    }
    options_->set_ssl(ssl);
  }
  mqtt::properties props;
  if (config_.session_expiry_s > 0) {
    props.add(
        {mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int32_t>(config_.session_expiry_s)});
  }
  options_->set_properties(props);
}

MqttSession::~MqttSession() { stop(); }

void MqttSession::subscribe(std::string filter, int qos) {
  subscriptions_.emplace_back(std::move(filter), qos);
}

void MqttSession::on_message(MessageHandler handler) { message_handler_ = std::move(handler); }

void MqttSession::on_connected(std::function<void()> handler) {
  connected_handler_ = std::move(handler);
}

void MqttSession::start() {
  client_->set_message_callback([this](mqtt::const_message_ptr msg) {
    if (!message_handler_) return;
    try {
      message_handler_(MqttMessage{msg->get_topic(), msg->get_payload_str(), msg->get_qos(),
                                   msg->is_retained()});
    } catch (const std::exception& e) {
      spdlog::error("message handler failed on {}: {}", msg->get_topic(), e.what());
    } catch (...) {
      spdlog::error("message handler failed on {}", msg->get_topic());
    }
  });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    connected_ = false;
    spdlog::warn("lost connection to broker {}{}{}", config_.server_uri, cause.empty() ? "" : ": ",
                 cause);
    cv_.notify_all();
  });
  client_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
    connected_ = false;
    spdlog::warn("broker disconnected us (reason {})", static_cast<int>(reason));
    cv_.notify_all();
  });
  supervisor_ = std::thread([this] { supervise(); });
}

bool MqttSession::connect_once() {
  try {
    auto tok = client_->connect(*options_);
    tok->wait();
    if (!subscriptions_.empty()) {
      for (const auto& [filter, qos] : subscriptions_) {
        auto sub = client_->subscribe(filter, qos);
        sub->wait();
        auto reasons = sub->get_subscribe_response().get_reason_codes();
        if (!reasons.empty() && reasons.front() >= 0x80) {
          spdlog::error(
              "broker refused subscription to {} (reason {:#x}); check this "
              "account's role",
              filter, static_cast<int>(reasons.front()));
        }
      }
    }
    connected_ = true;
    spdlog::info("connected to {} as {}", config_.server_uri, config_.client_id);
    if (connected_handler_) connected_handler_();
    return true;
  } catch (const mqtt::exception& e) {
    // Paho C++ 1.2 puts a v5 CONNACK refusal in the return code, not the reason code.
    int reason = is_refusal(e.get_reason_code()) ? e.get_reason_code() : e.get_return_code();
    if (is_refusal(reason)) {
      spdlog::error("broker {} refused {}: {} (check the id and token); retrying in {}s",
                    config_.server_uri, config_.client_id, mqtt::exception::reason_code_str(reason),
                    kRefusedBackoff.count());
      throw;  // the caller backs off longer
    }
    spdlog::warn("cannot connect to {}: {}", config_.server_uri, e.what());
    return false;
  }
}

void MqttSession::supervise() {
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kMinBackoff);
  while (!stopping_) {
    if (!connected_) {
      bool ok = false;
      bool refused = false;
      try {
        ok = connect_once();
      } catch (const mqtt::exception&) {
        refused = true;
      }
      if (ok) {
        backoff = kMinBackoff;
      } else {
        auto wait = refused ? std::chrono::duration_cast<std::chrono::milliseconds>(kRefusedBackoff)
                            : backoff;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, wait, [this] { return stopping_.load(); });
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
        continue;
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [this] { return stopping_.load() || !connected_.load(); });
  }
}

bool MqttSession::wait_connected(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!connected_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return connected_;
}

bool MqttSession::publish(const MqttMessage& m) {
  if (!connected_) return false;
  try {
    client_->publish(m.topic, m.payload.data(), m.payload.size(), m.qos, m.retained);
    return true;
  } catch (const mqtt::exception& e) {
    spdlog::warn("publish to {} failed: {}", m.topic, e.what());
    return false;
  }
}

void MqttSession::stop(const std::optional<MqttMessage>& final_message) {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  try {
    if (client_->is_connected()) {
      if (final_message) {
        client_
            ->publish(final_message->topic, final_message->payload.data(),
                      final_message->payload.size(), final_message->qos, final_message->retained)
            ->wait_for(std::chrono::seconds(1));
      }
      client_->disconnect()->wait_for(std::chrono::seconds(2));
    }
  } catch (const mqtt::exception& e) {
    spdlog::warn("clean disconnect failed: {}", e.what());
  }
  connected_ = false;
}

}  // namespace mutuo
