// mutuo-receiver-load: simulated agents publishing probe results through the
// agent's own delivery code (common/delivery/outbox.h: on-disk buffer, numbered
// batches, resend until confirmed on acks/{agent}). Used by the receiver's crash
// test and benchmark; prints one JSON line of totals at the end.
//
// Agent i is "<prefix>-i" with its token in <token-dir>/<prefix>-i.token. Each
// result has its own (observer, target, probe, ts), so the store must end with
// exactly --results results. Exit status 0 when every batch was confirmed
// before --timeout-s, 1 otherwise.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "common/cli.h"
#include "common/clock.h"
#include "common/delivery/outbox.h"
#include "common/log.h"
#include "common/messages/ack.h"
#include "common/messages/results.h"
#include "common/mqtt_session.h"
#include "common/topics.h"

using namespace mutuo;
using Clock = std::chrono::steady_clock;

namespace {

struct SimAgent {
  std::string id;
  std::unique_ptr<MqttSession> session;
  std::unique_ptr<delivery::Outbox> outbox;
  uint64_t next_result = 0;  // index of the next result to submit
  uint64_t total = 0;        // results this agent publishes
  int64_t round_ts = 0;      // --timestamps-now: the current round's timestamp
};

std::string read_token(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  std::string t = s.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  mutuo::cli::Command app{
      "mutuo-receiver-load: simulated agents publishing results with the agent's "
      "buffer-and-resend code"};
  std::string broker = "tcp://127.0.0.1:1883", prefix = "sim", token_dir, buffer_dir;
  int agents = 4, per_batch = 64, targets = 50, timeout_s = 300;
  uint64_t results = 100000;
  int resend_ms = 2000, max_resend_ms = 4000, window = 32;
  double rate = 0;
  bool stamp_now = false;
  app.option("--broker", broker).show_default();
  app.option("--agents", agents).show_default();
  app.option("--prefix", prefix, "agent ids are PREFIX-0, PREFIX-1, ...").show_default();
  app.option("--token-dir", token_dir, "holds PREFIX-i.token per agent").required();
  app.option("--buffer-dir", buffer_dir, "each agent's buffer goes to DIR/PREFIX-i").required();
  app.option("--results", results, "results in all").show_default();
  app.option("--per-batch", per_batch).show_default();
  app.option("--targets", targets, "series per agent").show_default();
  app.option("--resend-after-ms", resend_ms).show_default();
  app.option("--max-resend-after-ms", max_resend_ms).show_default();
  app.option("--window", window, "unconfirmed batches in flight per agent").show_default();
  app.option("--timeout-s", timeout_s).show_default();
  app.option("--rate", rate, "results/s submitted at most, all agents together (0: no limit)")
      .show_default();
  app.flag("--timestamps-now", stamp_now,
           "stamp each round with the clock when it is built, as a live agent does (soaks, "
           "retention); default: rounds one second apart from an hour ago");
  if (auto exit = app.parse(argc, argv)) return *exit;
  init_logging("receiver-load", "warn");

  // By default results start an hour ago, one round per second per series:
  // recent enough for every retention. With --timestamps-now a round (one
  // result per target) takes the clock's time, at least 1 ms after the agent's
  // previous round. Either way each result is unique per (agent, target, ts).
  const int64_t base_ts = now_ms() / 60000 * 60000 - 3600000;
  std::vector<SimAgent> sims(static_cast<std::size_t>(agents));
  for (int i = 0; i < agents; ++i) {
    SimAgent& a = sims[static_cast<std::size_t>(i)];
    a.id = prefix + "-" + std::to_string(i);
    a.total = results / static_cast<uint64_t>(agents) +
              (static_cast<uint64_t>(i) < results % static_cast<uint64_t>(agents) ? 1 : 0);
    MqttConfig mqtt;
    mqtt.server_uri = broker;
    mqtt.client_id = a.id;
    mqtt.password = read_token(token_dir + "/" + a.id + ".token");
    mqtt.clean_start = false;  // acks published while we reconnect are kept for us
    mqtt.session_expiry_s = 600;
    a.session = std::make_unique<MqttSession>(mqtt);
    delivery::OutboxConfig oc;
    oc.store = {buffer_dir + "/" + a.id, false};
    oc.resend_after = std::chrono::milliseconds(resend_ms);
    oc.max_resend_after = std::chrono::milliseconds(max_resend_ms);
    oc.window = static_cast<std::size_t>(window);
    oc.max_bytes = 1ull << 30;
    MqttSession* session = a.session.get();
    auto outbox = delivery::Outbox::open(
        oc, [session, topic = topics::results(a.id)](uint64_t, const std::string& p) {
          return session->publish({topic, p, 1, false});
        });
    if (!outbox) {
      spdlog::error("{}: {}", a.id, outbox.error());
      return 2;
    }
    a.outbox = std::move(outbox).value();
    delivery::Outbox* ob = a.outbox.get();
    std::string id = a.id;
    a.session->subscribe(topics::acks(a.id), 1);
    a.session->on_message([ob, id](const MqttMessage& m) {
      auto ack = decode_ack(m.payload);
      if (ack && ack->agent == id) ob->confirm(ack->batches);
    });
    a.session->on_connected([ob] { ob->on_connected(); });
    a.session->start();
  }

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> rtt_us(300, 40000);
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  bool done = false;
  uint64_t submitted_results = 0;
  while (!done && Clock::now() < deadline) {
    done = true;
    bool busy = false;
    const double allowed =
        rate > 0 ? rate * std::chrono::duration<double>(Clock::now() - t0).count() : 1e18;
    for (auto& a : sims) {
      auto st = a.outbox->stats();
      if (static_cast<double>(submitted_results) >= allowed) {
        a.outbox->tick(Clock::now());
        done = false;
        continue;
      }
      // Keep a few windows queued on disk ahead of the confirmations, as an
      // agent does when it produces faster than the receiver confirms.
      if (a.next_result < a.total && st.pending < static_cast<uint64_t>(window) * 2 &&
          a.session->connected()) {
        ResultBatch batch;
        batch.agent = a.id;
        for (int k = 0; k < per_batch && a.next_result < a.total; ++k, ++a.next_result) {
          ProbeResult r;
          const uint64_t target = a.next_result % static_cast<uint64_t>(targets);
          r.target = "t" + std::to_string(target);
          r.probe = "udp";
          if (stamp_now) {
            if (target == 0 || a.round_ts == 0) a.round_ts = std::max(now_ms(), a.round_ts + 1);
            r.ts_ms = a.round_ts;
          } else {
            r.ts_ms = base_ts +
                      static_cast<int64_t>(a.next_result / static_cast<uint64_t>(targets)) * 1000;
          }
          r.sent = 10;
          r.recv = (a.next_result % 17 == 0) ? 9 : 10;
          double avg = rtt_us(rng) / 1000.0;
          r.rtt_ms = Rtt{avg - 0.1, avg, avg + 0.5};
          r.jitter_ms = 0.2;
          batch.results.push_back(std::move(r));
        }
        auto n = a.outbox->submit(
            [&batch](uint64_t number) {
              batch.batch = number;
              return encode(batch);
            },
            static_cast<uint32_t>(batch.results.size()), Clock::now());
        if (!n) spdlog::warn("{}: {}", a.id, n.error());
        submitted_results += batch.results.size();
        busy = true;
      }
      a.outbox->tick(Clock::now());
      st = a.outbox->stats();
      if (a.next_result < a.total || st.pending > 0) done = false;
    }
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  nlohmann::json out = {
      {"results", results}, {"agents", agents}, {"elapsed_s", elapsed}, {"all_confirmed", done}};
  uint64_t submitted = 0, confirmed = 0, resent = 0, dropped = 0, pending = 0, expired = 0;
  for (auto& a : sims) {
    auto st = a.outbox->stats();
    submitted += st.submitted;
    confirmed += st.confirmed;
    resent += st.resent;
    dropped += st.dropped_items;
    expired += st.expired_items;
    pending += st.pending;
  }
  out["batches_submitted"] = submitted;
  out["batches_confirmed"] = confirmed;
  out["batches_resent"] = resent;
  out["results_dropped"] = dropped;
  out["results_expired"] = expired;
  out["batches_pending"] = pending;
  for (auto& a : sims) a.session->stop();
  std::printf("%s\n", out.dump().c_str());
  return done ? 0 : 1;
}
