// The receiver's intake on a real RocksDB, without MQTT: what it stores, what
// it confirms, and what it rejects (and how it counts it).
#include "receiver/receiver.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "common/clock.h"
#include "common/messages/ack.h"
#include "common/store_reader.h"
#include "tests/unit/test_support.h"

using namespace mutuo;

using mutuo::test::TempDir;

namespace {
struct Fixture {
  TempDir dir;
  std::unique_ptr<receiver::StoreWriter> store;
  metrics::Registry registry;
  std::mutex mu;
  std::vector<MqttMessage> acks;
  std::unique_ptr<receiver::Receiver> receiver;

  Fixture() {
    receiver::StoreWriterOptions o;
    o.sync_wal = false;
    store = std::move(receiver::StoreWriter::open((dir.path / "db").string(), o)).value();
    receiver = std::make_unique<receiver::Receiver>(
        receiver::ReceiverConfig{}, *store,
        [this](const MqttMessage& m) {
          std::lock_guard lock(mu);
          acks.push_back(m);
          return true;
        },
        registry);
  }
  void send(const std::string& agent, const std::string& payload) {
    receiver->handle({"mutuo/v1/results/" + agent, payload, 1, false});
    REQUIRE(receiver->flush(std::chrono::seconds(10)));
  }
  std::vector<uint64_t> acked(const std::string& agent) {
    std::lock_guard lock(mu);
    std::vector<uint64_t> out;
    for (const auto& m : acks) {
      auto a = decode_ack(m.payload);
      REQUIRE(a);
      CHECK(m.topic == "mutuo/v1/acks/" + a->agent);
      if (a->agent == agent) out.insert(out.end(), a->batches.begin(), a->batches.end());
    }
    return out;
  }
  std::size_t raw_count(const std::string& observer, const std::string& target) {
    auto reader = store::StoreReader::open((dir.path / "db").string(), (dir.path / "sec").string());
    REQUIRE(reader);
    return (*reader)
        ->range({observer, TargetKind::kPeer, target, "udp"}, 0, now_ms() + 86400000, 100000)
        .size();
  }
};

std::string batch_json(const std::string& agent, uint64_t n, std::vector<int64_t> ts,
                       const std::string& target = "b") {
  std::string rs;
  for (int64_t t : ts) {
    if (!rs.empty()) rs += ",";
    rs += R"({"peer":")" + target + R"(","probe":"udp","ts":)" + std::to_string(t) +
          R"(,"sent":10,"recv":10,"rtt_ms":{"min":1,"avg":2,"max":3}})";
  }
  return R"({"v":1,"agent":")" + agent + R"(","batch":)" + std::to_string(n) + R"(,"results":[)" +
         rs + "]}";
}
}  // namespace

TEST_CASE("a valid batch is stored, then confirmed; a resend is confirmed again, stored once") {
  Fixture f;
  const int64_t now = now_ms();
  f.send("a", batch_json("a", 7, {now - 20000, now - 10000}));
  CHECK(f.acked("a") == std::vector<uint64_t>{7});
  CHECK(f.raw_count("a", "b") == 2);
  f.send("a", batch_json("a", 7, {now - 20000, now - 10000}));
  CHECK(f.acked("a") == std::vector<uint64_t>{7, 7});
  auto s = f.receiver->stats();
  CHECK(s.batches == 2);
  CHECK(s.duplicates == 1);
  CHECK(s.results == 2);
  CHECK(f.raw_count("a", "b") == 2);
}

TEST_CASE("each newly stored batch is handed on once (to health), resends and rejects are not") {
  Fixture f;
  std::vector<ResultBatch> stored;  // the writer thread appends; read after flush()
  f.receiver->set_stored_sink([&](ResultBatch&& b) {
    std::lock_guard lock(f.mu);
    stored.push_back(std::move(b));
  });
  const int64_t now = now_ms();
  f.send("a", batch_json("a", 3, {now - 10000, now + 3600000}));  // one result too far ahead
  f.send("a", batch_json("a", 3, {now - 10000, now + 3600000}));  // a resend
  f.send("a", batch_json("b", 4, {now - 10000}));                 // someone else's
  std::lock_guard lock(f.mu);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].agent == "a");
  CHECK(stored[0].batch == 3);
  REQUIRE(stored[0].results.size() == 1);
  CHECK(stored[0].results[0].ts_ms == now - 10000);
  CHECK(*stored[0].results[0].rtt_ms == Rtt{1, 2, 3});
}

TEST_CASE("bad messages are rejected whole, counted by reason, and never confirmed") {
  Fixture f;
  const int64_t now = now_ms();
  f.send("a", "{not json");
  f.send("a", R"({"v":1,"agent":"a","batch":1,"results":[{"peer":"b","probe":"udp","ts":-5}]})");
  f.send("a", R"({"v":1,"agent":"a","batch":2,"results":[{"peer":"b","probe":"udp","ts":1,)"
              R"("rtt_ms":{"min":-1,"avg":2,"max":3}}]})");
  f.send("a", batch_json("mallory", 3, {now}));  // names another agent than the topic
  f.send("a", std::string(2 * 1024 * 1024, ' '));
  f.receiver->handle({"mutuo/v1/status/a", "{}", 1, false});
  REQUIRE(f.receiver->flush(std::chrono::seconds(10)));
  CHECK(f.acked("a").empty());
  CHECK(f.acked("mallory").empty());
  auto s = f.receiver->stats();
  CHECK(s.rejected["malformed_json"] == 1);
  CHECK(s.rejected["schema"] == 2);
  CHECK(s.rejected["agent_mismatch"] == 1);
  CHECK(s.rejected["oversize"] == 1);
  CHECK(s.rejected["bad_topic"] == 1);
  std::string text = f.registry.render();
  CHECK(text.find("mutuo_receiver_rejected_batches_total{reason=\"schema\"} 2") !=
        std::string::npos);
}

TEST_CASE("results far in the future or past are dropped one by one; the rest is stored") {
  Fixture f;
  const int64_t now = now_ms();
  f.send("a", batch_json("a", 1, {now - 8LL * 86400000, now - 1000, now + 3600000}));
  CHECK(f.acked("a") == std::vector<uint64_t>{1});
  CHECK(f.raw_count("a", "b") == 1);
  auto s = f.receiver->stats();
  CHECK(s.rejected["old_timestamp"] == 1);
  CHECK(s.rejected["future_timestamp"] == 1);
  CHECK(f.registry.render().find(
            "mutuo_receiver_rejected_results_total{reason=\"future_timestamp\"} 1") !=
        std::string::npos);
}

TEST_CASE("many batches queued together are written as one group and all confirmed") {
  Fixture f;
  const int64_t now = now_ms();
  for (uint64_t n = 1; n <= 200; ++n) {
    f.receiver->handle({"mutuo/v1/results/a",
                        batch_json("a", n, {now - 100000 + static_cast<int64_t>(n)}), 1, false});
  }
  REQUIRE(f.receiver->flush(std::chrono::seconds(10)));
  auto acked = f.acked("a");
  std::sort(acked.begin(), acked.end());
  REQUIRE(acked.size() == 200);
  CHECK(acked.front() == 1);
  CHECK(acked.back() == 200);
  CHECK(f.raw_count("a", "b") == 200);
  CHECK(f.receiver->stats().results == 200);
}
