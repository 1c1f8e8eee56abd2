// How one result and one rollup are kept on disk: quantized, mergeable, and
// read back as written.
#include "common/store_encoding.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "common/store_rollup.h"

using namespace mutuo;
using namespace mutuo::store;

namespace {
ProbeResult udp(double avg, uint32_t recv = 10) {
  ProbeResult r;
  r.probe = "udp";
  r.sent = 10;
  r.recv = recv;
  if (recv) r.rtt_ms = Rtt{avg - 0.5, avg, avg + 1.25};
  r.jitter_ms = 0.4;
  return r;
}

ProbeResult round_trip(const ProbeResult& r) {
  std::string bytes;
  encode_result(r, bytes);
  ProbeResult back;
  back.kind = r.kind;
  back.target = r.target;
  back.probe = r.probe;
  back.ts_ms = r.ts_ms;
  REQUIRE(decode_result(bytes, &back));
  return back;
}
}  // namespace

TEST_CASE("a packet result with millisecond values of three decimals reads back exactly") {
  ProbeResult r = udp(11.9);
  CHECK(round_trip(r) == r);
  std::string bytes;
  encode_result(r, bytes);
  CHECK(bytes.size() <= 12);  // flags, counts, three rtts and jitter as varints
}

TEST_CASE("a service check with phases, status, bytes and an error reads back exactly") {
  ProbeResult r;
  r.kind = TargetKind::kCheck;
  r.probe = "http";
  r.ok = false;
  r.status = 503;
  r.phase_ms = {{"dns", 1.1}, {"connect", 9.8}, {"total", 52.9}, {"custom-phase", 3.25}};
  r.bytes = 5120;
  r.error = "status 503";
  CHECK(round_trip(r) == r);
  r.ok = true;
  r.error.clear();
  CHECK(round_trip(r) == r);
}

TEST_CASE("DNS answers and certificate days (negative once expired) read back") {
  ProbeResult r;
  r.kind = TargetKind::kCheck;
  r.probe = "dns";
  r.ok = true;
  r.status = 0;
  r.answers = 12;
  CHECK(round_trip(r) == r);
  r.probe = "http";
  r.answers.reset();
  for (double days : {61.42, 0.0, -3.5, 3'000'000.0, -3'000'000.0}) {
    r.cert_days_left = days;
    CHECK(round_trip(r) == r);
  }
}

TEST_CASE("finer than a microsecond is rounded to the nearest microsecond") {
  ProbeResult r = udp(11.9);
  r.jitter_ms = 0.0004;
  r.rtt_ms = Rtt{1.0000004, 1.0000006, 2};
  auto back = round_trip(r);
  CHECK(*back.jitter_ms == 0.0);
  CHECK(back.rtt_ms->min == 1.0);
  CHECK(back.rtt_ms->avg == 1.0);
  CHECK(back.rtt_ms->max == 2.0);
}

TEST_CASE("truncated or unknown stored bytes are refused, not misread") {
  std::string bytes;
  encode_result(udp(5), bytes);
  ProbeResult r;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(decode_result(std::string_view(bytes).substr(0, n), &r));
  }
  CHECK_FALSE(decode_result(bytes + "x", &r));
  CHECK_FALSE(decode_result("\xff\x7f", &r));
}

TEST_CASE("histogram buckets cover every value and stay within 1/16 of it") {
  for (uint64_t v : {0ULL, 1ULL, 15ULL, 16ULL, 17ULL, 1000ULL, 123456ULL, 3600000000ULL}) {
    int b = LogHistogram::bucket_of(v);
    CHECK(LogHistogram::bucket_low(b) <= v);
    CHECK(v <= LogHistogram::bucket_high(b));
    CHECK(LogHistogram::bucket_high(b) - LogHistogram::bucket_low(b) <=
          std::max<uint64_t>(v / 16, 1));
  }
}

TEST_CASE("percentiles from the histogram are within 3% of the exact ones") {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(9.0, 1.0);  // µs, median ~8 ms
  std::vector<uint64_t> values;
  LogHistogram h;
  for (int i = 0; i < 20000; ++i) {
    auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.add(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99}) {
    double exact = static_cast<double>(values[static_cast<std::size_t>(q * values.size()) - 1]);
    double got = static_cast<double>(h.quantile(q));
    CHECK(std::abs(got - exact) / exact < 0.03);
  }
}

TEST_CASE("rollups merge in any order to the rollup of all results, and round-trip") {
  std::vector<ProbeResult> rs = {udp(10), udp(20), udp(0, 0), udp(30, 7), udp(12.5)};
  Rollup all;
  for (const auto& r : rs) all.add(r);
  Rollup a, b;
  for (std::size_t i = 0; i < rs.size(); ++i) (i % 2 ? a : b).add(rs[i]);
  Rollup ab = a, ba = b;
  ab.merge(b);
  ba.merge(a);
  CHECK(ab == all);
  CHECK(ba == all);

  CHECK(all.count == 5);
  CHECK(all.values == 4);  // the result with every packet lost has no rtt
  CHECK(*all.mean_ms() == doctest::Approx(18.125));
  CHECK(all.min_us == 10000);
  CHECK(all.max_us == 30000);
  CHECK(*all.loss() == doctest::Approx(13.0 / 50.0));
  CHECK(*all.quantile_ms(0.5) == doctest::Approx(12.5).epsilon(0.03));

  auto back = Rollup::decode(all.encode());
  REQUIRE(back);
  CHECK(*back == all);
  CHECK_FALSE(Rollup::decode(all.encode().substr(0, 5)));
}

TEST_CASE("a rollup built from many samples at once equals one built result by result") {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> ms(2.0, 1.5);
  std::vector<uint64_t> scratch;
  for (int round = 0; round < 200; ++round) {
    std::vector<ProbeResult> rs;
    std::size_t n = rng() % 70;
    for (std::size_t i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0:
          rs.push_back(udp(ms(rng), rng() % 11));
          break;
        case 1: {
          ProbeResult c;
          c.kind = TargetKind::kCheck;
          c.probe = "http";
          c.ok = rng() % 3 != 0;
          if (rng() % 2) c.phase_ms = {{"total", ms(rng)}};
          if (rng() % 5 == 0) c.error = "timeout";
          rs.push_back(c);
          break;
        }
        default:
          rs.push_back(udp(ms(rng)));
      }
    }
    Rollup one_by_one;
    std::vector<RollupSample> samples;
    for (const auto& r : rs) {
      one_by_one.add(r);
      samples.push_back(RollupSample::of(r));
    }
    Rollup at_once = Rollup::of(samples.data(), samples.size(), &scratch);
    CHECK(at_once == one_by_one);
    CHECK(at_once.encode() == one_by_one.encode());
    Rollup merged = at_once;  // and merging into a non-empty histogram still adds up
    merged.merge(Rollup::of(samples.data(), samples.size() / 2, &scratch));
    Rollup expected = one_by_one;
    for (std::size_t i = 0; i < rs.size() / 2; ++i) expected.add(rs[i]);
    CHECK(merged == expected);
  }
}

TEST_CASE("a check's rollup uses its total time and counts failures as loss") {
  ProbeResult ok;
  ok.kind = TargetKind::kCheck;
  ok.probe = "http";
  ok.ok = true;
  ok.phase_ms = {{"total", 40}};
  ProbeResult bad = ok;
  bad.ok = false;
  bad.phase_ms.clear();
  bad.error = "timeout";
  Rollup r;
  r.add(ok);
  r.add(ok);
  r.add(bad);
  r.add(ok);
  CHECK(r.count == 4);
  CHECK(*r.mean_ms() == 40);
  CHECK(*r.loss() == 0.25);
}

TEST_CASE("raw minutes merge into one result per (ts, seq), the newest written") {
  auto value = [](std::vector<std::tuple<uint64_t, uint16_t, std::string>> entries) {
    std::string v(1, kRawMinuteFormat);
    for (const auto& [offset, seq, bytes] : entries) append_raw_entry(v, offset, seq, bytes);
    return v;
  };
  std::string older = value({{0, 0, "a"}, {500, 0, "b"}, {500, 1, "c"}});
  std::string newer = value({{250, 0, "d"}, {500, 1, "C"}, {59999, 0, "e"}});
  std::string merged;
  REQUIRE(merge_raw_minutes({older, newer}, &merged));
  std::vector<RawEntry> entries;
  REQUIRE(decode_raw_minute(merged, &entries));
  REQUIRE(entries.size() == 5);
  std::vector<std::string> got;
  for (const auto& e : entries)
    got.push_back(std::to_string(e.offset_ms) + "/" + std::to_string(e.seq) + "=" +
                  std::string(e.encoded));
  CHECK(got == std::vector<std::string>{"0/0=a", "250/0=d", "500/0=b", "500/1=C", "59999/0=e"});
  // Merging is associative (RocksDB folds operands in any grouping) and a
  // rewrite of the same results changes nothing.
  std::string again;
  REQUIRE(merge_raw_minutes({merged, newer}, &again));
  CHECK(again == merged);
  std::string left;
  REQUIRE(merge_raw_minutes({older}, &left));
  CHECK(left == older);
  // Malformed values are refused, the output untouched.
  std::string out = "untouched";
  CHECK_FALSE(merge_raw_minutes({older, std::string("\x01", 1)}, &out));
  CHECK_FALSE(merge_raw_minutes({older.substr(0, older.size() - 1)}, &out));
  CHECK(out == "untouched");
  CHECK_FALSE(decode_raw_minute("", &entries));
}
