// MqttSession: one MQTT 5 connection to the broker, kept up for the life of the
// program. It connects in the background, reconnects with backoff (longer when
// the broker refuses the credentials), re-subscribes after every connect, and
// hands each message to one handler. Every component uses it; none talks to
// Paho directly.
//
// Threading: subscribe(), on_message() and on_connected() must be called before
// start(). publish() may be called from any thread, including from inside the
// message handler. Handlers run on Paho's callback thread, one at a time; they
// must not block for long, and any exception they throw is caught and logged.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mqtt {
class async_client;
class connect_options;
}  // namespace mqtt

namespace mutuo {

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
};

struct MqttConfig {
  std::string server_uri = "tcp://127.0.0.1:1883";  // tcp://, ssl:// or mqtts://
  std::string client_id;                            // also the username unless set
  std::string username;
  std::string password;
  int keepalive_s = 10;
  bool clean_start = true;
  uint32_t session_expiry_s = 0;    // kept by the broker after disconnect
  std::optional<MqttMessage> will;  // last will, sent by the broker if we vanish
  std::string ca_file;              // for ssl://: verify the broker against this CA
                                    // (empty: the system's trusted CAs)
  // For ssl://: accept a broker certificate that cannot be verified (self-signed,
  // wrong host name). Development only; the session logs a warning when set.
  bool tls_insecure = false;
};

class MqttSession {
 public:
  using MessageHandler = std::function<void(const MqttMessage&)>;

  explicit MqttSession(MqttConfig config);
  ~MqttSession();  // stops if still running
  MqttSession(const MqttSession&) = delete;
  MqttSession& operator=(const MqttSession&) = delete;

  void subscribe(std::string filter, int qos = 1);
  void on_message(MessageHandler handler);
  // Runs after every successful connect, after the subscriptions are requested.
  void on_connected(std::function<void()> handler);

  // Starts connecting in the background; returns at once.
  void start();
  // Waits until connected or `timeout` passes. True when connected.
  bool wait_connected(std::chrono::milliseconds timeout);
  bool connected() const { return connected_; }

  // Queues a publish. False (and nothing sent) when not connected or the client
  // refused it; the caller decides whether to retry.
  bool publish(const MqttMessage& message);

  // Publishes `final_message` if given (waiting up to a second for it), then
  // disconnects normally, so the broker does not send the last will.
  void stop(const std::optional<MqttMessage>& final_message = std::nullopt);

 private:
  void supervise();
  bool connect_once();

  MqttConfig config_;
  std::unique_ptr<mqtt::connect_options> options_;  // must outlive client_ (Paho #362)
  std::unique_ptr<mqtt::async_client> client_;
  std::vector<std::pair<std::string, int>> subscriptions_;
  MessageHandler message_handler_;
  std::function<void()> connected_handler_;

  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;  // wakes the supervisor on loss or stop
  std::thread supervisor_;
};

}  // namespace mutuo
