#include "agent/agent.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "common/messages/ack.h"
#include "common/messages/probe_now.h"
#include "common/messages/results.h"
#include "common/topics.h"

namespace mutuo::agent {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeliveryTick = std::chrono::milliseconds(250);
constexpr auto kMetricsEvery = std::chrono::seconds(10);

uint64_t resident_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

Agent::Agent(AgentConfig config, MqttSession& session, delivery::Outbox& outbox)
    : config_(std::move(config)),
      session_(session),
      outbox_(outbox),
      probes_(make_probes(config_.probes)),
      scheduler_(std::random_device{}()) {
  if (config_.workers == 0) config_.workers = 1;
  if (config_.max_concurrent < config_.workers) config_.max_concurrent = config_.workers;
  config_.online_status.probes = probe_names();
}

Agent::~Agent() { stop(); }

std::vector<std::string> Agent::probe_names() const {
  std::vector<std::string> names;
  for (const ProbeType& t : probe_types()) {
    if (probes_.at(t.name)->supported()) names.push_back(t.name);
  }
  return names;
}

void Agent::on_connected() {
  Status s = config_.online_status;
  s.ts_ms = now_ms();
  session_.publish({topics::status(config_.id), encode(s), 1, true});
  outbox_.on_connected();
  cv_.notify_all();  // resend at once rather than at the next tick
}

void Agent::load_saved_assignment() {
  if (config_.assignment_file.empty()) return;
  std::ifstream f(config_.assignment_file);
  if (!f) return;
  std::stringstream text;
  text << f.rdbuf();
  spdlog::info("following the assignment saved in {} until the broker sends one",
               config_.assignment_file);
  apply_assignment(text.str(), false);
}

void Agent::apply_assignment(const std::string& payload, bool from_broker) {
  std::lock_guard lock(mu_);
  if (payload.empty()) {
    scheduler_.set_rounds({}, Clock::now());
    rev_.reset();
    stats_.groups = stats_.targets = 0;
    if (!config_.assignment_file.empty()) std::remove(config_.assignment_file.c_str());
    spdlog::info("assignment cleared: nothing to probe");
    cv_.notify_all();
    return;
  }
  auto a = decode_assign(payload);
  if (!a || a->agent != config_.id) {
    ++stats_.assign_rejected;
    uint64_t suppressed = 0;
    if (log_limiter_.allow(&suppressed)) {
      spdlog::warn("ignoring invalid assignment: {}", a ? "addressed to " + a->agent : a.error());
    }
    return;
  }
  if (from_broker && rev_ && a->rev < *rev_) return;  // an older revision
  std::set<std::string> known;
  for (const auto& [name, probe] : probes_) known.insert(name);
  uint64_t unknown = 0;
  auto rounds = rounds_of(*a, known, config_.probes.udp.timeout, &unknown);
  stats_.unknown_probes += unknown;
  scheduler_.set_rounds(std::move(rounds), Clock::now());
  // A saved assignment sets no floor: after a tracker reset, revisions may restart.
  if (from_broker) rev_ = a->rev;
  stats_.assign_rev = a->rev;
  stats_.groups = scheduler_.groups();
  stats_.targets = scheduler_.targets();
  spdlog::info("assignment rev {}: {} peer(s), {} check(s) -> {} round(s) over {} target(s){}",
               a->rev, a->peers.size(), a->checks.size(), stats_.groups, stats_.targets,
               unknown ? fmt::format(" ({} of unknown probe types skipped)", unknown) : "");
  if (from_broker && !config_.assignment_file.empty()) {
    std::string tmp = config_.assignment_file + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << payload;
    std::rename(tmp.c_str(), config_.assignment_file.c_str());
  }
  cv_.notify_all();
}

// A second opinion (docs/agent.md, "Second opinions"): extra one-shot rounds
// toward the targets named, at once, beside the assignment.
void Agent::apply_probe_now(const std::string& payload) {
  auto p = decode_probe_now(payload);
  std::lock_guard lock(mu_);
  std::string why = !p                         ? p.error()
                    : p->agent != config_.id   ? "addressed to " + p->agent
                    : now_ms() > p->expires_ms ? "expired"
                                               : "";
  if (!why.empty()) {
    ++stats_.probe_now_rejected;
    uint64_t suppressed = 0;
    if (log_limiter_.allow(&suppressed)) spdlog::warn("ignoring probe-now: {}", why);
    return;
  }
  std::set<std::string> known;
  for (const auto& [name, probe] : probes_) known.insert(name);
  uint64_t unknown = 0;
  auto rounds = rounds_of(Assign{config_.id, 0, p->peers, p->checks}, known,
                          config_.probes.udp.timeout, &unknown);
  stats_.unknown_probes += unknown;
  ++stats_.probe_now;
  auto added =
      scheduler_.add_once(rounds, p->rounds, std::chrono::milliseconds(p->every_ms), Clock::now());
  stats_.once_dropped = scheduler_.once_dropped();
  spdlog::info("second opinion on {}: {} extra round(s) toward {} target(s), {} ms apart",
               p->subject, added, p->peers.size() + p->checks.size(), p->every_ms);
  cv_.notify_all();
}

void Agent::handle(const MqttMessage& m) {
  if (probe_now_agent_of(m.topic) == config_.id) return apply_probe_now(m.payload);
  auto parsed = topics::parse(m.topic);
  if (!parsed || parsed->id != config_.id) return;
  if (parsed->kind == topics::Kind::kAssign) {
    apply_assignment(m.payload, true);
  } else if (parsed->kind == topics::Kind::kAcks) {
    auto ack = decode_ack(m.payload);
    if (!ack || ack->agent != config_.id) {
      {
        std::lock_guard lock(mu_);
        ++stats_.acks_rejected;
      }
      uint64_t suppressed = 0;
      if (log_limiter_.allow(&suppressed)) {
        spdlog::warn("ignoring invalid ack: {}", ack ? "addressed to " + ack->agent : ack.error());
      }
      return;
    }
    outbox_.confirm(ack->batches);
    cv_.notify_all();  // the window has room: send more at once
  }
}

void Agent::execute(const Round& round) {
  Probe& probe = *probes_.at(round.probe);
  const int64_t late_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - round.due).count();
  const int64_t ts = now_ms() - std::max<int64_t>(late_ms, 0);  // the slot's wall-clock time
  const std::size_t per_call = std::max<std::size_t>(1, config_.max_concurrent / config_.workers);
  std::vector<ProbeResult> results;
  results.reserve(round.targets.size());
  for (std::size_t i = 0; i < round.targets.size(); i += per_call) {
    std::vector<ProbeTarget> chunk(
        round.targets.begin() + static_cast<std::ptrdiff_t>(i),
        round.targets.begin() +
            static_cast<std::ptrdiff_t>(std::min(i + per_call, round.targets.size())));
    auto got = probe.run(chunk, ts);
    for (auto& r : got) results.push_back(std::move(r));
  }
  uint64_t failures = 0;
  for (const auto& r : results) failures += !r.error.empty() || (r.ok && !*r.ok);
  {
    std::lock_guard lock(mu_);
    ProbeCounters& c = stats_.by_probe[round.probe];
    ++c.rounds;
    c.results += results.size();
    c.failures += failures;
  }
  for (std::size_t i = 0; i < results.size(); i += config_.max_results_per_batch) {
    ResultBatch batch;
    batch.agent = config_.id;
    auto end = std::min(i + config_.max_results_per_batch, results.size());
    batch.results.assign(
        std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(i)),
        std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(end)));
    auto n = outbox_.submit(
        [&batch](uint64_t number) {
          batch.batch = number;
          return encode(batch);
        },
        static_cast<uint32_t>(batch.results.size()), Clock::now());
    uint64_t suppressed = 0;
    if (!n && log_limiter_.allow(&suppressed)) spdlog::warn("result batch: {}", n.error());
  }
}

void Agent::work() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;  // rounds not yet started are dropped; running ones finish
    Round round = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    execute(round);
    lock.lock();
    scheduler_.finished(round.key());
  }
}

void Agent::run() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (uint32_t i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { work(); });
  }
  auto next_status = Clock::now() + config_.status_interval;
  auto next_metrics = Clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    auto due = scheduler_.take_due(now);
    for (auto& r : due) queue_.push_back(std::move(r));
    if (!due.empty()) work_cv_.notify_all();
    stats_.rounds_skipped = scheduler_.skipped();
    lock.unlock();
    outbox_.tick(now);
    if (config_.status_interval.count() > 0 && now >= next_status) {
      spdlog::info("{}", status_line());
      next_status = now + config_.status_interval;
    }
    if (now >= next_metrics) {
      if (!config_.metrics_file.empty()) write_metrics_file();
      // Hand freed heap pages back to the kernel: rounds allocate in bursts,
      // and on a small box resident memory is what the host pays for.
      malloc_trim(0);
      next_metrics = now + kMetricsEvery;
    }
    lock.lock();
    auto wake = std::min(scheduler_.next_due(), Clock::now() + kDeliveryTick);
    cv_.wait_until(lock, wake);
  }
  lock.unlock();
  work_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  outbox_.tick(Clock::now());  // publish what the last rounds produced, if connected
  if (!config_.metrics_file.empty()) write_metrics_file();
}

void Agent::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  work_cv_.notify_all();
}

AgentStats Agent::stats() const {
  AgentStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  s.connected = session_.connected();
  s.delivery = outbox_.stats();
  return s;
}

std::string Agent::status_line() const {
  AgentStats s = stats();
  std::string probes;
  for (const auto& [name, c] : s.by_probe) {
    probes += fmt::format(" {}={}/{}/{}", name, c.rounds, c.results, c.failures);
  }
  const auto& d = s.delivery;
  return fmt::format(
      "status: {}, assignment rev {} ({} rounds, {} targets); rounds/results/failures{}; "
      "{} slots skipped; batches: {} pending ({} bytes, oldest {} s), {} in flight, {} confirmed, "
      "{} resent, {} dropped ({} results), {} expired, {} write errors; rss {} kB, cpu {:.2f} s",
      s.connected ? "connected" : "disconnected", s.assign_rev, s.groups, s.targets,
      probes.empty() ? " none" : probes, s.rounds_skipped, d.pending, d.pending_bytes,
      d.oldest_age_ms / 1000, d.in_flight, d.confirmed, d.resent, d.dropped_batches,
      d.dropped_items, d.expired_batches, d.write_errors, resident_bytes() / 1024, cpu_seconds());
}

std::string Agent::metrics_text() const {
  AgentStats s = stats();
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("mutuo_agent_rounds_total", "counter", "Probe rounds run, by probe type.");
  for (const auto& [p, c] : s.by_probe)
    o << "mutuo_agent_rounds_total{probe=\"" << p << "\"} " << c.rounds << '\n';
  metric("mutuo_agent_results_total", "counter", "Probe results produced, by probe type.");
  for (const auto& [p, c] : s.by_probe)
    o << "mutuo_agent_results_total{probe=\"" << p << "\"} " << c.results << '\n';
  metric("mutuo_agent_probe_failures_total", "counter", "Results with an error or ok=false.");
  for (const auto& [p, c] : s.by_probe)
    o << "mutuo_agent_probe_failures_total{probe=\"" << p << "\"} " << c.failures << '\n';
  const auto& d = s.delivery;
  const std::pair<const char*, uint64_t> plain[] = {
      {"mutuo_agent_rounds_skipped_total", s.rounds_skipped},
      {"mutuo_agent_assignment_rev", s.assign_rev},
      {"mutuo_agent_targets", s.targets},
      {"mutuo_agent_assignments_rejected_total", s.assign_rejected},
      {"mutuo_agent_acks_rejected_total", s.acks_rejected},
      {"mutuo_agent_probe_now_total", s.probe_now},
      {"mutuo_agent_probe_now_rejected_total", s.probe_now_rejected},
      {"mutuo_agent_once_rounds_dropped_total", s.once_dropped},
      {"mutuo_agent_connected", s.connected ? 1u : 0u},
      {"mutuo_agent_buffer_batches", d.pending},
      {"mutuo_agent_buffer_bytes", d.pending_bytes},
      {"mutuo_agent_buffer_oldest_age_seconds", d.oldest_age_ms / 1000},
      {"mutuo_agent_batches_in_flight", d.in_flight},
      {"mutuo_agent_batches_submitted_total", d.submitted},
      {"mutuo_agent_batches_published_total", d.published},
      {"mutuo_agent_batches_resent_total", d.resent},
      {"mutuo_agent_batches_confirmed_total", d.confirmed},
      {"mutuo_agent_batches_dropped_total", d.dropped_batches},
      {"mutuo_agent_results_dropped_total", d.dropped_items},
      {"mutuo_agent_batches_expired_total", d.expired_batches},
      {"mutuo_agent_buffer_write_errors_total", d.write_errors},
      {"mutuo_agent_resident_bytes", resident_bytes()},
  };
  for (const auto& [name, v] : plain) {
    std::string n = name;
    metric(name, n.ends_with("_total") ? "counter" : "gauge", "See docs/agent.md.");
    o << name << ' ' << v << '\n';
  }
  metric("mutuo_agent_cpu_seconds_total", "counter", "CPU time used by the agent.");
  o << "mutuo_agent_cpu_seconds_total " << cpu_seconds() << '\n';
  return o.str();
}

void Agent::write_metrics_file() const {
  std::string tmp = config_.metrics_file + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << metrics_text();
    if (!f) return;
  }
  std::rename(tmp.c_str(), config_.metrics_file.c_str());
}

}  // namespace mutuo::agent
