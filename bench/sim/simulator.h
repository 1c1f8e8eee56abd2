// Simulator: many simulated mutuo agents in one process, for load tests of the
// tracker (and later the receiver). Each agent is a real MQTT 5 client with its
// own client id: it publishes its retained online status (labels, address, echo
// port), registers its "offline, lost" status as last will, and subscribes to its
// own assign/{agent}. Agents can join, leave cleanly, or crash (the connection
// drops without DISCONNECT, so the broker publishes the will).
//
// All clients share one thread and one epoll set (libmosquitto's non-threaded
// interface), so ten thousand agents cost ten thousand sockets and no threads.
// A "monitor" client subscribed to assign/+ and peers/+ counts what the tracker
// publishes.
//
// Not thread-safe: one thread calls everything, poll() included.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

struct mosquitto;
struct mosquitto_message;

namespace mutuo::sim {

struct SimConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string username = "simulator";
  std::string password;
  std::string id_prefix = "sim-";
  int keepalive_s = 60;
  int sites = 8;                     // label site = s0..s(sites-1)
  int providers = 3;                 // label provider = p0..p(providers-1)
  std::size_t connect_window = 200;  // at most this many connects waiting for CONNACK
};

using Clock = std::chrono::steady_clock;

struct SimAgent {
  enum class State { kDown, kConnecting, kUp, kCrashed, kLeft };
  std::string id;
  int index = 0;
  mosquitto* mosq = nullptr;
  State state = State::kDown;
  bool want_write = false;
  Clock::time_point online_at{};    // when it published its online status
  Clock::time_point assigned_at{};  // arrival of its latest assignment
  uint64_t rev = 0;
  bool has_assign = false;
  std::vector<std::string> peers;  // its latest assignment's targets
  std::vector<std::string> checks;
  uint64_t assigns_received = 0;
  class Simulator* owner = nullptr;
};

// One assign/{agent} arrival, as seen by the agent it is for.
struct Arrival {
  Clock::time_point at;
  int agent;  // index
  std::size_t bytes;
};

class Simulator {
 public:
  explicit Simulator(SimConfig config);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit.
  static uint64_t raise_fd_limit();

  // Starts the monitor; false when it cannot connect.
  bool start_monitor();
  // Adds `count` new agents and starts connecting them (paced by connect_window).
  std::vector<int> add(std::size_t count);
  // Crashes `count` up agents (lowest rank by a fixed shuffle): sockets closed
  // without DISCONNECT. Returns their indexes.
  std::vector<int> crash(std::size_t count);
  // Leaves cleanly: offline status "shutdown", then DISCONNECT.
  std::vector<int> leave(std::size_t count);
  // Brings back these crashed or departed agents (other ids are ignored).
  std::vector<int> rejoin(const std::vector<std::string>& agent_ids);

  // Runs the event loop for up to `timeout` (returns earlier when `until` holds).
  void poll(std::chrono::milliseconds timeout, const std::function<bool()>& until = nullptr);

  const std::vector<std::unique_ptr<SimAgent>>& agents() const { return agents_; }
  std::size_t up() const;
  std::size_t connecting() const { return connecting_; }
  // No connect waiting for a slot or for its CONNACK.
  bool connects_done() const { return pending_.empty() && connecting_ == 0; }
  std::size_t with_assign() const;

  // Arrivals of assign messages since the last take_arrivals().
  std::vector<Arrival> take_arrivals();
  // Bytes (topic + payload) and messages seen by the monitor on assign/+ and peers/+.
  uint64_t monitor_bytes() const { return monitor_bytes_; }
  uint64_t monitor_messages() const { return monitor_messages_; }
  uint64_t errors() const { return errors_; }

  // Called from libmosquitto's callbacks (inside poll()).
  void connected(SimAgent& a, int rc);
  void received(SimAgent& a, const char* topic, const void* payload, int len);
  void monitor_received(const char* topic, int len);

 private:
  void begin_connect(SimAgent& a);
  void watch(mosquitto* m, void* tag, bool write);
  void unwatch(mosquitto* m);
  void drop(SimAgent& a, SimAgent::State state);
  std::string status_json(const SimAgent& a, bool online, const char* reason) const;
  std::vector<int> pick_up(std::size_t count);

  const SimConfig config_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<SimAgent>> agents_;
  std::deque<int> pending_;  // indexes waiting for a connect slot
  std::size_t connecting_ = 0;
  mosquitto* monitor_ = nullptr;
  bool monitor_want_write_ = false;
  std::vector<Arrival> arrivals_;
  uint64_t monitor_bytes_ = 0, monitor_messages_ = 0, errors_ = 0;
  Clock::time_point last_misc_{};
};

}  // namespace mutuo::sim
