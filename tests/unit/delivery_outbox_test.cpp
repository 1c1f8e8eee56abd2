// Outbox: the end-to-end delivery contract of common/delivery/outbox.h, with a
// real directory and a fake clock; `publish` records what would go on the bus.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "common/delivery/outbox.h"
#include "tests/unit/test_support.h"

using namespace mutuo::delivery;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = Outbox::Clock;

using mutuo::test::TempDir;

namespace {

struct Bus {
  bool up = true;
  std::vector<std::pair<uint64_t, std::string>> sent;  // accepted publishes, in order
  Outbox::Publish publisher() {
    return [this](uint64_t b, const std::string& p) {
      if (!up) return false;
      sent.emplace_back(b, p);
      return true;
    };
  }
  std::vector<uint64_t> numbers() const {
    std::vector<uint64_t> v;
    for (const auto& [b, p] : sent) v.push_back(b);
    return v;
  }
};

OutboxConfig config_in(const std::string& dir) {
  OutboxConfig c;
  c.store = {dir, false};
  c.resend_after = 10s;
  c.max_resend_after = 40s;
  c.window = 4;
  return c;
}

std::string payload(uint64_t n) { return "{\"batch\":" + std::to_string(n) + "}"; }

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".json";
  return n;
}

}  // namespace

TEST_CASE("a batch is on disk before it is published and leaves only when confirmed") {
  TempDir d;
  Bus bus;
  std::size_t files_at_publish = 0;
  auto o = Outbox::open(config_in(d.path), [&](uint64_t b, const std::string& p) {
    files_at_publish = files_in(d.path);
    return bus.publisher()(b, p);
  });
  REQUIRE(o);
  Outbox& box = *o.value();
  auto t0 = Clock::now();
  auto n = box.submit(payload, 3, t0);
  REQUIRE(n);
  CHECK(files_at_publish == 1);
  REQUIRE(bus.sent.size() == 1);
  CHECK(bus.sent[0] == std::make_pair(*n, payload(*n)));
  CHECK(box.stats().pending == 1);
  CHECK(box.stats().in_flight == 1);

  box.tick(t0 + 5s);  // not yet due
  CHECK(bus.sent.size() == 1);
  box.confirm({*n});
  CHECK(box.stats().pending == 0);
  CHECK(box.stats().confirmed == 1);
  CHECK(files_in(d.path) == 0);
  box.tick(t0 + 60s);
  CHECK(bus.sent.size() == 1);  // nothing left to resend

  box.confirm({*n, 12345});  // a duplicate and a stranger
  CHECK(box.stats().unknown_acks == 2);
}

TEST_CASE("an unconfirmed batch is resent with the same number, backing off") {
  TempDir d;
  Bus bus;
  auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
  auto t0 = Clock::now();
  uint64_t n = *box->submit(payload, 1, t0);
  box->tick(t0 + 9s);
  CHECK(bus.sent.size() == 1);
  box->tick(t0 + 10s);  // resend_after
  REQUIRE(bus.sent.size() == 2);
  CHECK(bus.sent[1] == std::make_pair(n, payload(n)));
  box->tick(t0 + 10s + 19s);  // the second wait is twice as long
  CHECK(bus.sent.size() == 2);
  box->tick(t0 + 30s);
  CHECK(bus.sent.size() == 3);
  box->tick(t0 + 30s + 40s);  // capped at max_resend_after
  CHECK(bus.sent.size() == 4);
  box->tick(t0 + 70s + 40s);
  CHECK(bus.sent.size() == 5);
  CHECK(box->stats().resent == 4);
  box->confirm({n});
  box->tick(t0 + 1000s);
  CHECK(bus.sent.size() == 5);
}

TEST_CASE("after a reconnect everything unconfirmed goes out again at once, oldest first") {
  TempDir d;
  Bus bus;
  auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
  auto t0 = Clock::now();
  uint64_t a = *box->submit(payload, 1, t0);
  uint64_t b = *box->submit(payload, 1, t0);
  box->confirm({a});
  bus.sent.clear();
  box->on_connected();
  box->tick(t0 + 1s);
  CHECK(bus.numbers() == std::vector<uint64_t>{b});
}

TEST_CASE(
    "while the broker is away batches pile up on disk; they drain in order, a window at a time") {
  TempDir d;
  Bus bus;
  bus.up = false;
  auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
  auto t = Clock::now();
  std::vector<uint64_t> numbers;
  for (int i = 0; i < 10; ++i) {
    numbers.push_back(*box->submit(payload, 2, t));
    t += 1s;
    box->tick(t);
  }
  CHECK(bus.sent.empty());
  CHECK(box->stats().pending == 10);
  CHECK(box->stats().in_flight == 0);

  bus.up = true;
  box->on_connected();
  box->tick(t);
  CHECK(bus.numbers() == std::vector<uint64_t>(numbers.begin(), numbers.begin() + 4));
  box->tick(t + 1s);  // window full: nothing more until confirmations
  CHECK(bus.sent.size() == 4);
  box->confirm({numbers[0], numbers[1], numbers[2], numbers[3]});
  box->tick(t + 2s);
  CHECK(bus.sent.size() == 8);
  box->confirm({numbers[4], numbers[5], numbers[6], numbers[7]});
  box->tick(t + 3s);
  box->confirm({numbers[8], numbers[9]});
  CHECK(bus.numbers() == numbers);
  CHECK(box->stats().pending == 0);
  CHECK(box->stats().dropped_batches == 0);
}

TEST_CASE("a refused publish leaves the batch pending and pauses publishing briefly") {
  TempDir d;
  Bus bus;
  auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
  auto t0 = Clock::now();
  bus.up = false;
  uint64_t n = *box->submit(payload, 1, t0);
  CHECK(box->stats().in_flight == 0);
  bus.up = true;
  box->tick(t0 + 100ms);  // paused after the refusal
  CHECK(bus.sent.empty());
  box->tick(t0 + 1s);
  CHECK(bus.numbers() == std::vector<uint64_t>{n});
}

TEST_CASE("a restart resends what was never confirmed, and numbers continue upwards") {
  TempDir d;
  uint64_t a = 0, b = 0;
  {
    Bus bus;
    auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
    auto t0 = Clock::now();
    a = *box->submit(payload, 1, t0);
    b = *box->submit(payload, 1, t0);
    box->confirm({a});
  }
  Bus bus;
  auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
  CHECK(box->stats().pending == 1);
  auto t1 = Clock::now();
  box->tick(t1);
  REQUIRE(bus.sent.size() == 1);
  CHECK(bus.sent[0] == std::make_pair(b, payload(b)));
  uint64_t c = *box->submit(payload, 1, t1);
  CHECK(c > b);
}

TEST_CASE("a full buffer drops the oldest batches and counts them") {
  TempDir d;
  Bus bus;
  bus.up = false;
  auto cfg = config_in(d.path);
  cfg.max_batches = 5;
  auto box = std::move(Outbox::open(cfg, bus.publisher())).value();
  auto t = Clock::now();
  std::vector<uint64_t> numbers;
  for (int i = 0; i < 8; ++i) numbers.push_back(*box->submit(payload, 10, t));
  auto s = box->stats();
  CHECK(s.pending == 5);
  CHECK(s.dropped_batches == 3);
  CHECK(s.dropped_items == 30);
  CHECK(files_in(d.path) == 5);
  bus.up = true;
  box->on_connected();
  box->tick(t);
  box->confirm({numbers[3], numbers[4], numbers[5], numbers[6]});
  box->tick(t);
  CHECK(bus.numbers() == std::vector<uint64_t>(numbers.begin() + 3, numbers.end()));

  SUBCASE("bytes bound too") {
    TempDir d2;
    auto cfg2 = config_in(d2.path);
    cfg2.max_bytes = 3 * payload(numbers[0]).size();
    auto small = std::move(Outbox::open(cfg2, bus.publisher())).value();
    for (int i = 0; i < 5; ++i) small->submit(payload, 1, t);
    CHECK(small->stats().pending == 3);
    CHECK(small->stats().dropped_batches == 2);
    CHECK(small->stats().pending_bytes <= cfg2.max_bytes);
  }
}

TEST_CASE("reopening with smaller limits trims the oldest") {
  TempDir d;
  {
    Bus bus;
    bus.up = false;
    auto box = std::move(Outbox::open(config_in(d.path), bus.publisher())).value();
    for (int i = 0; i < 6; ++i) box->submit(payload, 1, Clock::now());
  }
  Bus bus;
  auto cfg = config_in(d.path);
  cfg.max_batches = 2;
  auto box = std::move(Outbox::open(cfg, bus.publisher())).value();
  CHECK(box->stats().pending == 2);
  CHECK(box->stats().dropped_batches == 4);
  CHECK(files_in(d.path) == 2);
}

TEST_CASE("batches older than max_age are dropped as expired") {
  TempDir d;
  Bus bus;
  bus.up = false;
  auto cfg = config_in(d.path);
  cfg.max_age = 0ms;
  auto box = std::move(Outbox::open(cfg, bus.publisher())).value();
  box->submit(payload, 4, Clock::now());
  usleep(5000);
  box->tick(Clock::now());
  CHECK(box->stats().pending == 0);
  CHECK(box->stats().expired_batches == 1);
  CHECK(box->stats().expired_items == 4);
}
