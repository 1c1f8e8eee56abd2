// mutuo-sim: thousands of simulated mutuo agents in one process, driven by
// commands on stdin, answering with one JSON object per line on stdout (see
// docs/tracker.md, "Load simulator"). For load tests only: it logs in with the
// broker's `simulator` account (broker-config/mutuo-broker add-service ... simulator).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench/sim/simulator.h"
#include "common/cli.h"
#include "common/process.h"
#include "common/version.h"

using nlohmann::json;
using namespace mutuo::sim;
using std::chrono::milliseconds;

namespace {

void emit(const json& j) {
  std::string s = j.dump();
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// steady_clock is CLOCK_MONOTONIC on Linux: comparable across processes, so
// several simulators on one host can merge their timings.
int64_t mono_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::vector<std::string> ids(const Simulator& sim, const std::vector<int>& idx) {
  std::vector<std::string> out;
  for (int i : idx) out.push_back(sim.agents()[i]->id);
  return out;
}

// Lines from stdin, read on their own thread so the event loop never blocks on them.
class Commands {
 public:
  Commands() : reader_([this] { read(); }) { reader_.detach(); }
  bool next(std::string* line) {
    std::lock_guard lock(mu_);
    if (lines_.empty()) return false;
    *line = std::move(lines_.front());
    lines_.pop_front();
    return true;
  }
  bool closed() const { return closed_; }

 private:
  void read() {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::lock_guard lock(mu_);
      lines_.push_back(line);
    }
    closed_ = true;
  }
  std::mutex mu_;
  std::deque<std::string> lines_;
  std::atomic<bool> closed_{false};
  std::thread reader_;
};

void measure_joins(Simulator& sim, int count, int quiet_ms, int timeout_ms) {
  std::vector<double> join_ms, arrival_ms, bytes, messages, affected_counts, observed_by;
  int incomplete = 0;
  for (int j = 0; j < count; ++j) {
    sim.poll(milliseconds(quiet_ms));  // let the previous round settle
    sim.take_arrivals();
    uint64_t bytes0 = sim.monitor_bytes(), msgs0 = sim.monitor_messages();
    int idx = sim.add(1).front();
    const SimAgent& agent = *sim.agents()[idx];
    sim.poll(milliseconds(timeout_ms), [&] { return agent.state == SimAgent::State::kUp; });
    if (agent.state != SimAgent::State::kUp) {
      ++incomplete;
      continue;
    }
    const auto t0 = agent.online_at;
    auto last = t0;
    bool own = false;
    std::set<int> affected;
    std::vector<double> these;
    while (true) {
      sim.poll(milliseconds(20));
      for (const Arrival& a : sim.take_arrivals()) {
        if (a.at < t0) continue;
        last = std::max(last, a.at);
        own |= a.agent == idx;
        affected.insert(a.agent);
        these.push_back(ms_between(t0, a.at));
      }
      auto now = Clock::now();
      if (own && ms_between(last, now) >= quiet_ms) break;
      if (ms_between(t0, now) > timeout_ms) break;
    }
    if (!own) ++incomplete;
    int observers = 0;
    for (const auto& a : sim.agents()) {
      if (a->state == SimAgent::State::kUp &&
          std::find(a->peers.begin(), a->peers.end(), agent.id) != a->peers.end()) {
        ++observers;
      }
    }
    double took = ms_between(t0, last);
    join_ms.push_back(took);
    arrival_ms.insert(arrival_ms.end(), these.begin(), these.end());
    bytes.push_back(static_cast<double>(sim.monitor_bytes() - bytes0));
    messages.push_back(static_cast<double>(sim.monitor_messages() - msgs0));
    affected_counts.push_back(static_cast<double>(affected.size()));
    observed_by.push_back(observers);
    emit({{"event", "join"},
          {"agent", agent.id},
          {"t0_ns", mono_ns(t0)},
          {"last_ns", mono_ns(last)},
          {"ms", took},
          {"affected", affected.size()},
          {"arrivals_ms", these},
          {"own_assignment", own},
          {"observers", observers},
          {"bytes", sim.monitor_bytes() - bytes0},
          {"messages", sim.monitor_messages() - msgs0}});
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  emit({{"event", "joins"},
        {"count", join_ms.size()},
        {"incomplete", incomplete},
        {"up", sim.up()},
        {"join_ms_p50", percentile(join_ms, 50)},
        {"join_ms_p99", percentile(join_ms, 99)},
        {"join_ms_max", percentile(join_ms, 100)},
        {"arrival_ms_p50", percentile(arrival_ms, 50)},
        {"arrival_ms_p99", percentile(arrival_ms, 99)},
        {"affected_mean", mean(affected_counts)},
        {"observers_mean", mean(observed_by)},
        {"bytes_per_join", mean(bytes)},
        {"messages_per_join", mean(messages)}});
}

}  // namespace

int main(int argc, char** argv) {
  mutuo::cli::Command app{
      "mutuo-sim: N simulated mutuo agents (real MQTT clients, one thread) for load "
      "tests. Reads commands on stdin, one per line, and answers in JSON lines:\n"
      "  start N | wait-assigned MS | crash N | leave N | rejoin ID... | snapshot | counters |\n"
      "  measure-joins COUNT QUIET_MS TIMEOUT_MS | arrivals | idle MS | quit"};
  SimConfig config;
  std::string password_file;
  bool no_monitor = false;
  app.option("--host", config.host, "broker host").show_default();
  app.option("--port", config.port, "broker port").show_default();
  app.option("--username", config.username, "the load-test account").show_default();
  app.option("--token-file", password_file, "file holding its password").required();
  app.option("--id-prefix", config.id_prefix, "agent ids are PREFIX00000, ...").show_default();
  app.option("--sites", config.sites, "distinct site labels").show_default();
  app.option("--providers", config.providers, "distinct provider labels").show_default();
  app.option("--keepalive", config.keepalive_s, "MQTT keepalive, seconds").show_default();
  app.option("--connect-window", config.connect_window, "at most this many connects in flight")
      .show_default();
  app.flag("--no-monitor", no_monitor,
           "do not count the tracker's publishes (when another simulator does)");
  app.version_flag("--version", mutuo::kVersion);
  if (auto exit = app.parse(argc, argv)) return *exit;

  auto token = mutuo::read_secret(password_file, "MUTUO_TOKEN");
  if (!token) {
    std::fprintf(stderr, "mutuo-sim: %s\n", token.error().c_str());
    return 2;
  }
  config.password = *token;
  uint64_t fds = Simulator::raise_fd_limit();
  Simulator sim(config);
  if (!no_monitor && !sim.start_monitor()) {
    std::fprintf(stderr, "mutuo-sim: cannot connect to %s:%d\n", config.host.c_str(), config.port);
    return 1;
  }
  emit({{"event", "ready"}, {"fd_limit", fds}});

  Commands commands;
  std::string line;
  while (true) {
    if (!commands.next(&line)) {
      if (commands.closed()) break;
      sim.poll(milliseconds(50));
      continue;
    }
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    auto t0 = Clock::now();
    if (cmd == "start") {
      std::size_t n = 0;
      in >> n;
      sim.add(n);
      sim.poll(milliseconds(300000), [&] { return sim.connects_done(); });
      emit({{"event", "started"},
            {"up", sim.up()},
            {"errors", sim.errors()},
            {"ms", ms_between(t0, Clock::now())}});
    } else if (cmd == "wait-assigned") {
      int ms = 60000;
      in >> ms;
      sim.poll(milliseconds(ms), [&] { return sim.with_assign() == sim.up(); });
      emit({{"event", "assigned"},
            {"up", sim.up()},
            {"with_assign", sim.with_assign()},
            {"ms", ms_between(t0, Clock::now())}});
    } else if (cmd == "crash" || cmd == "leave") {
      std::size_t n = 0;
      in >> n;
      auto idx = cmd == "crash" ? sim.crash(n) : sim.leave(n);
      emit({{"event", cmd == "crash" ? "crashed" : "left"}, {"agents", ids(sim, idx)}});
    } else if (cmd == "rejoin") {
      std::vector<std::string> wanted;
      for (std::string id; in >> id;) wanted.push_back(id);
      auto idx = sim.rejoin(wanted);
      sim.poll(milliseconds(10000), [&] { return sim.connects_done(); });
      emit({{"event", "rejoined"}, {"agents", ids(sim, idx)}, {"up", sim.up()}});
    } else if (cmd == "snapshot") {
      json agents = json::object();
      json down = json::array();
      for (const auto& a : sim.agents()) {
        if (a->state != SimAgent::State::kUp) {
          down.push_back(a->id);
          continue;
        }
        agents[a->id] = {{"rev", a->rev},
                         {"has_assign", a->has_assign},
                         {"peers", a->peers},
                         {"checks", a->checks}};
      }
      emit({{"event", "snapshot"}, {"agents", agents}, {"down", down}});
    } else if (cmd == "counters") {
      uint64_t received = 0;
      for (const auto& a : sim.agents()) received += a->assigns_received;
      emit({{"event", "counters"},
            {"assigns_received", received},
            {"monitor_bytes", sim.monitor_bytes()},
            {"monitor_messages", sim.monitor_messages()},
            {"up", sim.up()},
            {"errors", sim.errors()}});
    } else if (cmd == "measure-joins") {
      int count = 10, quiet = 1000, timeout = 10000;
      in >> count >> quiet >> timeout;
      measure_joins(sim, count, quiet, timeout);
    } else if (cmd == "arrivals") {
      // Assign arrivals since the last "arrivals": for merging with another
      // simulator's join timings (bench/tracker_bench.py).
      json at = json::array(), bytes = json::array();
      for (const Arrival& a : sim.take_arrivals()) {
        at.push_back(mono_ns(a.at));
        bytes.push_back(a.bytes);
      }
      emit({{"event", "arrivals"}, {"at_ns", at}, {"bytes", bytes}});
    } else if (cmd == "idle") {
      int ms = 1000;
      in >> ms;
      sim.poll(milliseconds(ms));
      emit({{"event", "idle"}});
    } else if (cmd == "quit") {
      break;
    } else if (!cmd.empty()) {
      emit({{"event", "error"}, {"reason", "unknown command '" + cmd + "'"}});
    }
  }
  emit({{"event", "bye"}});
  std::fflush(stdout);
  std::_Exit(0);  // skip tearing down thousands of clients one by one
}
