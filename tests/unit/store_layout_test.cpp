// Store key encoding: series sort together, time sorts big-endian.
#include "common/store_layout.h"

#include <doctest/doctest.h>

using namespace mutuo;
using namespace mutuo::store;

TEST_CASE("series keys round-trip") {
  SeriesId s{"fra-1", TargetKind::kPeer, "ams-2", "udp"};
  auto back = parse_series_key(series_key(s));
  REQUIRE(back);
  CHECK(*back == s);
  SeriesId c{"fra-1", TargetKind::kCheck, "web-home", "http"};
  CHECK(*parse_series_key(series_key(c)) == c);
  CHECK_FALSE(parse_series_key("no-separators"));
}

TEST_CASE("raw keys round-trip and sort by time within a series") {
  SeriesId s{"a", TargetKind::kPeer, "b", "udp"};
  auto k1 = raw_key(s, 1000, 0), k2 = raw_key(s, 1001, 0), k3 = raw_key(s, 256, 0);
  CHECK(k1 < k2);
  CHECK(k3 < k1);  // big-endian: numeric order is byte order
  auto parsed = parse_raw_key(raw_key(s, 1733320010000, 3));
  REQUIRE(parsed);
  CHECK(parsed->series == s);
  CHECK(parsed->ts_ms == 1733320010000);
  CHECK(parsed->seq == 3);
}

TEST_CASE("one observer's keys are contiguous: 'a' never interleaves with 'a-1'") {
  SeriesId a{"a", TargetKind::kPeer, "z", "udp"};
  SeriesId a1{"a-1", TargetKind::kPeer, "b", "udp"};
  SeriesId a2{"a", TargetKind::kPeer, "zz", "udp"};
  CHECK(series_key(a) < series_key(a1));
  CHECK(series_key(a2) < series_key(a1));
}
