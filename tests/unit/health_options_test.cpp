// The receiver's health flags (receiver/health/health_options.h): each one lands
// in the engine, tracker or channel setting it names, and out-of-range values are
// refused by the parser.
#include "receiver/health/health_options.h"

#include <doctest/doctest.h>

#include <vector>

using namespace mutuo::health;

namespace {

// Parses `args` (without the program name); returns false when the parser refused them.
bool parse(HealthOptions& o, std::vector<std::string> args) {
  mutuo::cli::Command app{"test"};
  add_options(app, o);
  std::vector<const char*> argv = {"mutuo-receiver"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::string out, err;
  return !app.parse(static_cast<int>(argv.size()), argv.data(), out, err).has_value();
}

}  // namespace

TEST_CASE("the defaults are the documented ones") {
  HealthOptions o;
  REQUIRE(parse(o, {}));
  HealthServiceConfig c = service_config(o);
  CHECK(c.health.min_observers == 2);
  CHECK(c.health.min_quorum == 2);
  CHECK(c.health.quorum_fraction == doctest::Approx(0.5));
  CHECK(c.health.window.degraded_loss == doctest::Approx(0.1));
  CHECK(c.health.window.degraded_rtt_ms == 0);
  CHECK(c.health.window.window_ms == 60'000);
  CHECK(c.health.window.max_samples == 6);
  CHECK(c.health.stale_ms == 90'000);
  CHECK(c.alerting.hold_ms == 10'000);
  CHECK(c.alerting.recovery_hold_ms == 20'000);
  CHECK(c.alerting.repeat_ms == 3'600'000);
  CHECK(make_channels(o).empty());
}

TEST_CASE("every flag reaches its setting") {
  HealthOptions o;
  REQUIRE(parse(o, {"--health-min-observers",
                    "3",
                    "--health-quorum-min",
                    "4",
                    "--health-quorum-fraction",
                    "0.66",
                    "--degraded-loss",
                    "0.25",
                    "--degraded-rtt-ms",
                    "150",
                    "--health-window-s",
                    "30",
                    "--health-window-results",
                    "10",
                    "--health-stale-s",
                    "45",
                    "--alert-hold-s",
                    "2.5",
                    "--alert-repeat-s",
                    "600",
                    "--webhook-url",
                    "http://127.0.0.1:1/a",
                    "--webhook-url",
                    "http://127.0.0.1:1/b",
                    "--webhook-rate-per-min",
                    "6",
                    "--webhook-burst",
                    "2",
                    "--webhook-attempts",
                    "3"}));
  HealthServiceConfig c = service_config(o);
  CHECK(c.health.min_observers == 3);
  CHECK(c.health.min_quorum == 4);
  CHECK(c.health.quorum_fraction == doctest::Approx(0.66));
  CHECK(c.health.window.degraded_loss == doctest::Approx(0.25));
  CHECK(c.health.window.degraded_rtt_ms == doctest::Approx(150));
  CHECK(c.health.window.window_ms == 30'000);
  CHECK(c.health.window.max_samples == 10);
  CHECK(c.health.stale_ms == 45'000);
  CHECK(c.alerting.hold_ms == 2'500);
  CHECK(c.alerting.recovery_hold_ms == 5'000);
  CHECK(c.alerting.repeat_ms == 600'000);
  auto channels = make_channels(o);
  REQUIRE(channels.size() == 2);
  CHECK(channels[0]->name() == "webhook-1");
  CHECK(channels[1]->name() == "webhook-2");
  CHECK(o.webhook_rate_per_min == doctest::Approx(6));
  CHECK(o.webhook_burst == doctest::Approx(2));
  CHECK(o.webhook_attempts == 3);
}

TEST_CASE("out-of-range values are refused") {
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"--health-quorum-fraction", "1"},
                                             {"--health-quorum-fraction", "-0.1"},
                                             {"--health-quorum-min", "0"},
                                             {"--health-min-observers", "0"},
                                             {"--degraded-loss", "0"},
                                             {"--degraded-loss", "1.5"},
                                             {"--alert-hold-s", "-1"},
                                             {"--alert-repeat-s", "0"},
                                             {"--webhook-rate-per-min", "0"},
                                             {"--webhook-attempts", "0"},
                                             {"--health-window-results", "0"}}) {
    HealthOptions o;
    CAPTURE(bad[0]);
    CAPTURE(bad[1]);
    CHECK_FALSE(parse(o, bad));
  }
}
