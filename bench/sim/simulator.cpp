#include "bench/sim/simulator.h"

#include <mosquitto.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/clock.h"
#include "common/messages/assign.h"
#include "common/messages/status.h"
#include "common/topics.h"

namespace mutuo::sim {

namespace {

constexpr uint64_t kMonitorTag = ~uint64_t{0};

void on_connect(mosquitto*, void* obj, int rc, int, const mosquitto_property*) {
  auto* a = static_cast<SimAgent*>(obj);
  a->owner->connected(*a, rc);
}

void on_message(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  auto* a = static_cast<SimAgent*>(obj);
  a->owner->received(*a, msg->topic, msg->payload, msg->payloadlen);
}

void on_monitor_message(mosquitto*, void* obj, const mosquitto_message* msg,
                        const mosquitto_property*) {
  static_cast<Simulator*>(obj)->monitor_received(msg->topic, msg->payloadlen);
}

// A fixed shuffle, so crash(n) picks the same agents in every run.
uint64_t rank_of(int index) {
  uint64_t x = static_cast<uint64_t>(index) + 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Simulator::Simulator(SimConfig config) : config_(std::move(config)) {
  mosquitto_lib_init();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

Simulator::~Simulator() {
  for (auto& a : agents_) {
    if (a->mosq) mosquitto_destroy(a->mosq);
  }
  if (monitor_) mosquitto_destroy(monitor_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  mosquitto_lib_cleanup();
}

uint64_t Simulator::raise_fd_limit() {
  // libmosquitto holds three descriptors per client (its socket and a wake-up
  // socket pair). Root may raise the hard limit too; others get the hard limit.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rlimit want{std::max<rlim_t>(rl.rlim_max, 1 << 16), std::max<rlim_t>(rl.rlim_max, 1 << 16)};
  if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

void Simulator::watch(mosquitto* m, void* tag, bool write) {
  int fd = mosquitto_socket(m);
  if (fd < 0) return;
  epoll_event ev{};
  ev.events = write ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.ptr = tag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0)
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Simulator::unwatch(mosquitto* m) {
  int fd = mosquitto_socket(m);
  if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

bool Simulator::start_monitor() {
  monitor_ = mosquitto_new((config_.id_prefix + "monitor").c_str(), true, this);
  mosquitto_int_option(monitor_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_username_pw_set(monitor_, config_.username.c_str(), config_.password.c_str());
  mosquitto_message_v5_callback_set(monitor_, on_monitor_message);
  if (mosquitto_connect(monitor_, config_.host.c_str(), config_.port, config_.keepalive_s) !=
      MOSQ_ERR_SUCCESS) {
    return false;
  }
  mosquitto_subscribe_v5(monitor_, nullptr, topics::kAllAssign, 1, 0, nullptr);
  mosquitto_subscribe_v5(monitor_, nullptr, topics::kAllPeers, 1, 0, nullptr);
  // Watched for writes until the CONNECT and SUBSCRIBEs are out; the state
  // must say so, or EPOLLOUT stays armed and poll() spins on a writable socket.
  monitor_want_write_ = true;
  watch(monitor_, reinterpret_cast<void*>(kMonitorTag), true);
  return true;
}

std::string Simulator::status_json(const SimAgent& a, bool online, const char* reason) const {
  Status s;
  s.agent = a.id;
  s.online = online;
  s.ts_ms = now_ms();
  s.version = "sim";
  if (online) {
    // Distinct loopback addresses: nobody probes them, but they look like a fleet.
    int i = a.index;
    s.addrs = {"127." + std::to_string(1 + (i >> 16) % 254) + "." + std::to_string((i >> 8) & 255) +
               "." + std::to_string(i & 255)};
    s.echo_port = 7777;
    s.labels = {{"site", "s" + std::to_string(i % config_.sites)},
                {"provider", "p" + std::to_string((i / config_.sites) % config_.providers)}};
    s.probes = {"udp"};
  } else {
    s.reason = reason;
  }
  return encode(s);
}

std::vector<int> Simulator::add(std::size_t count) {
  std::vector<int> out;
  for (std::size_t n = 0; n < count; ++n) {
    auto a = std::make_unique<SimAgent>();
    a->index = static_cast<int>(agents_.size());
    char id[32];
    std::snprintf(id, sizeof id, "%05d", a->index);
    a->id = config_.id_prefix + id;
    a->owner = this;
    pending_.push_back(a->index);
    out.push_back(a->index);
    agents_.push_back(std::move(a));
  }
  return out;
}

void Simulator::begin_connect(SimAgent& a) {
  if (!a.mosq) {
    a.mosq = mosquitto_new(a.id.c_str(), true, &a);
    mosquitto_int_option(a.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_username_pw_set(a.mosq, config_.username.c_str(), config_.password.c_str());
    std::string will = status_json(a, false, "lost");
    std::string topic = topics::status(a.id);
    mosquitto_will_set_v5(a.mosq, topic.c_str(), static_cast<int>(will.size()), will.data(), 1,
                          true, nullptr);
    mosquitto_connect_v5_callback_set(a.mosq, on_connect);
    mosquitto_message_v5_callback_set(a.mosq, on_message);
  }
  int rc = mosquitto_connect(a.mosq, config_.host.c_str(), config_.port, config_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++errors_;
    std::fprintf(stderr, "sim: %s: connect failed: %s\n", a.id.c_str(), mosquitto_strerror(rc));
    a.state = SimAgent::State::kDown;
    return;
  }
  a.state = SimAgent::State::kConnecting;
  ++connecting_;
  watch(a.mosq, &a, mosquitto_want_write(a.mosq));
}

void Simulator::connected(SimAgent& a, int rc) {
  if (a.state == SimAgent::State::kConnecting) --connecting_;
  if (rc != 0) {
    ++errors_;
    std::fprintf(stderr, "sim: %s: refused: %s\n", a.id.c_str(), mosquitto_reason_string(rc));
    drop(a, SimAgent::State::kDown);
    return;
  }
  a.state = SimAgent::State::kUp;
  std::string topic = topics::assign(a.id);
  mosquitto_subscribe_v5(a.mosq, nullptr, topic.c_str(), 1, 0, nullptr);
  std::string status = status_json(a, true, "");
  std::string status_topic = topics::status(a.id);
  mosquitto_publish_v5(a.mosq, nullptr, status_topic.c_str(), static_cast<int>(status.size()),
                       status.data(), 1, true, nullptr);
  a.online_at = Clock::now();
}

void Simulator::received(SimAgent& a, const char* topic, const void* payload, int len) {
  if (std::strncmp(topic, "mutuo/v1/assign/", 16) != 0) return;
  arrivals_.push_back(
      Arrival{Clock::now(), a.index, std::strlen(topic) + static_cast<size_t>(len)});
  ++a.assigns_received;
  a.assigned_at = Clock::now();
  if (len == 0) {
    a.has_assign = false;
    a.peers.clear();
    a.checks.clear();
    return;
  }
  auto decoded = decode_assign(std::string_view(static_cast<const char*>(payload), len));
  if (!decoded) {
    ++errors_;
    return;
  }
  a.has_assign = true;
  a.rev = decoded->rev;
  a.peers.clear();
  for (const auto& p : decoded->peers) a.peers.push_back(p.agent);
  a.checks.clear();
  for (const auto& c : decoded->checks) a.checks.push_back(c.check);
}

void Simulator::monitor_received(const char* topic, int len) {
  monitor_bytes_ += std::strlen(topic) + static_cast<size_t>(len);
  ++monitor_messages_;
}

void Simulator::drop(SimAgent& a, SimAgent::State state) {
  if (a.state == SimAgent::State::kConnecting) --connecting_;
  if (a.mosq) {
    unwatch(a.mosq);
    mosquitto_destroy(a.mosq);  // closes the socket; no DISCONNECT is sent
    a.mosq = nullptr;
  }
  a.state = state;
}

std::vector<int> Simulator::pick_up(std::size_t count) {
  std::vector<int> up_ids;
  for (const auto& a : agents_) {
    if (a->state == SimAgent::State::kUp) up_ids.push_back(a->index);
  }
  std::sort(up_ids.begin(), up_ids.end(), [](int x, int y) { return rank_of(x) < rank_of(y); });
  if (up_ids.size() > count) up_ids.resize(count);
  std::sort(up_ids.begin(), up_ids.end());
  return up_ids;
}

std::vector<int> Simulator::crash(std::size_t count) {
  auto victims = pick_up(count);
  for (int i : victims) {
    SimAgent& a = *agents_[i];
    int fd = mosquitto_socket(a.mosq);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);  // the broker sees the connection drop
    drop(a, SimAgent::State::kCrashed);
  }
  return victims;
}

std::vector<int> Simulator::leave(std::size_t count) {
  auto leavers = pick_up(count);
  for (int i : leavers) {
    SimAgent& a = *agents_[i];
    std::string status = status_json(a, false, "shutdown");
    std::string topic = topics::status(a.id);
    mosquitto_publish_v5(a.mosq, nullptr, topic.c_str(), static_cast<int>(status.size()),
                         status.data(), 1, true, nullptr);
    mosquitto_disconnect_v5(a.mosq, 0, nullptr);  // queued after the publish
    for (int n = 0; n < 10 && mosquitto_want_write(a.mosq); ++n) mosquitto_loop_write(a.mosq, 10);
    drop(a, SimAgent::State::kLeft);
  }
  return leavers;
}

std::vector<int> Simulator::rejoin(const std::vector<std::string>& agent_ids) {
  std::set<std::string> wanted(agent_ids.begin(), agent_ids.end());
  std::vector<int> out;
  for (auto& a : agents_) {
    if (!wanted.count(a->id)) continue;
    if (a->state != SimAgent::State::kCrashed && a->state != SimAgent::State::kLeft) continue;
    a->state = SimAgent::State::kDown;
    a->has_assign = false;
    pending_.push_back(a->index);
    out.push_back(a->index);
  }
  return out;
}

void Simulator::poll(std::chrono::milliseconds timeout, const std::function<bool()>& until) {
  const auto deadline = Clock::now() + timeout;
  std::vector<epoll_event> events(1024);
  while (true) {
    // Start connects while the window has room.
    while (!pending_.empty() && connecting_ < config_.connect_window) {
      int i = pending_.front();
      pending_.pop_front();
      begin_connect(*agents_[i]);
    }
    if (until && until()) return;
    auto now = Clock::now();
    if (now >= deadline) return;
    int wait_ms = static_cast<int>(std::min<int64_t>(
        20, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int e = 0; e < n; ++e) {
      void* tag = events[e].data.ptr;
      if (tag == reinterpret_cast<void*>(kMonitorTag)) {
        if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) mosquitto_loop_read(monitor_, 64);
        if (events[e].events & EPOLLOUT) mosquitto_loop_write(monitor_, 64);
        bool ww = mosquitto_want_write(monitor_);
        if (ww != monitor_want_write_) {
          monitor_want_write_ = ww;
          watch(monitor_, tag, ww);
        }
        continue;
      }
      auto* a = static_cast<SimAgent*>(tag);
      if (!a->mosq) continue;
      int rc = MOSQ_ERR_SUCCESS;
      if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) rc = mosquitto_loop_read(a->mosq, 16);
      if (rc == MOSQ_ERR_SUCCESS && (events[e].events & EPOLLOUT)) {
        rc = mosquitto_loop_write(a->mosq, 16);
      }
      if (rc != MOSQ_ERR_SUCCESS) {
        ++errors_;
        std::fprintf(stderr, "sim: %s: connection lost: %s\n", a->id.c_str(),
                     mosquitto_strerror(rc));
        drop(*a, SimAgent::State::kDown);
        continue;
      }
      bool ww = mosquitto_want_write(a->mosq);
      if (ww != a->want_write) {
        a->want_write = ww;
        watch(a->mosq, a, ww);
      }
    }
    // Keepalive pings and retries, and writes queued outside of a read (a
    // publish from a callback of another client, a subscribe after CONNACK).
    now = Clock::now();
    if (now - last_misc_ > std::chrono::milliseconds(500)) {
      last_misc_ = now;
      for (auto& a : agents_) {
        if (!a->mosq) continue;
        mosquitto_loop_misc(a->mosq);
        bool ww = mosquitto_want_write(a->mosq);
        if (ww != a->want_write) {
          a->want_write = ww;
          watch(a->mosq, a.get(), ww);
        }
      }
      if (monitor_) mosquitto_loop_misc(monitor_);
    }
  }
}

std::size_t Simulator::up() const {
  return std::count_if(agents_.begin(), agents_.end(),
                       [](const auto& a) { return a->state == SimAgent::State::kUp; });
}

std::size_t Simulator::with_assign() const {
  return std::count_if(agents_.begin(), agents_.end(), [](const auto& a) {
    return a->state == SimAgent::State::kUp && a->has_assign;
  });
}

std::vector<Arrival> Simulator::take_arrivals() {
  std::vector<Arrival> out;
  out.swap(arrivals_);
  return out;
}

}  // namespace mutuo::sim
