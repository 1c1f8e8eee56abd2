// The fast results decoder against the reference (common/messages/results_fast.h):
// whenever try_decode_results_fast() accepts a payload, decode_results() accepts
// it too with exactly the same batch, so decode_results_fast() gives the
// reference's verdict, batch and error text on every input. Checked on the
// schema's examples, on generated batches written in many ways (number forms,
// whitespace, key order, unknown fields), on hand-picked hostile payloads and on
// many random mutations of all of these.
#include "common/messages/results_fast.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "common/messages/results.h"
#include "tests/unit/test_scale.h"

namespace mutuo {
namespace {

using nlohmann::json;

bool same(const ResultBatch& a, const ResultBatch& b) {
  return a.agent == b.agent && a.batch == b.batch && a.results == b.results;
}

struct Verdict {
  bool fast_accepted = false;
  std::string problem;  // empty when the contract held
};

// The contract, on one payload.
Verdict check(std::string_view payload) {
  Verdict v;
  ResultBatch fast;
  v.fast_accepted = try_decode_results_fast(payload, &fast);
  auto reference = decode_results(payload);
  auto combined = decode_results_fast(payload);
  if (v.fast_accepted) {
    if (!reference) {
      v.problem = "fast accepted what the reference rejects (" + reference.error() + ")";
    } else if (!same(fast, *reference)) {
      v.problem = "fast decoded another batch than the reference";
    }
  }
  if (v.problem.empty() && static_cast<bool>(combined) != static_cast<bool>(reference)) {
    v.problem = "decode_results_fast's verdict differs from the reference";
  }
  if (v.problem.empty() && combined && !same(*combined, *reference)) {
    v.problem = "decode_results_fast's batch differs from the reference";
  }
  if (v.problem.empty() && !combined && combined.error() != reference.error()) {
    v.problem = "decode_results_fast's error differs from the reference";
  }
  return v;
}

// Writes random result batches as JSON text, in the many ways a JSON writer may.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::string batch() {
    std::vector<std::string> members = {
        q("v") + ":" + ws() + "1",
        q("agent") + ":" + ws() + q(pick({"fra-1", "a", "node-0042", "x1-y2-z3"})),
        q("batch") + ":" + ws() + integer(pick_u({0, 1, 88, 1234, uint64_t{1} << 53})),
    };
    std::string results = "[";
    int n = chance(10) ? 0 : static_cast<int>(below(12)) + 1;
    for (int i = 0; i < n; ++i) results += (i ? "," + ws() : ws()) + result();
    results += ws() + "]";
    members.push_back(q("results") + ":" + ws() + results);
    if (chance(20)) members.push_back(q("extra") + ":" + ws() + any_value(2));
    return object(members);
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::string result() {
    std::vector<std::string> m;
    bool packet = chance(50);
    if (packet) {
      m.push_back(q("peer") + ":" + q(pick({"ams-2", "par-3", "t0", "t63", "b"})));
      m.push_back(q("probe") + ":" + q(pick({"udp", "icmp"})));
    } else {
      m.push_back(q("check") + ":" + q(pick({"web-home", "db-port", "dns-www"})));
      m.push_back(q("probe") + ":" + q(pick({"tcp", "http", "dns"})));
    }
    m.push_back(q("ts") + ":" +
                integer(pick_u({1, 1733320010000, 1733320020123, uint64_t{1} << 53})));
    if (packet || chance(10)) {
      uint64_t sent = pick_u({0, 1, 5, 10, 100000});
      uint64_t recv = sent ? below(sent + 1) : 0;
      m.push_back(q("sent") + ":" + integer(sent));
      m.push_back(q("recv") + ":" + integer(recv));
      if (recv > 0 || chance(10)) {
        double a = ms(), b = ms(), c = ms();
        if (a > b) std::swap(a, b);
        if (b > c) std::swap(b, c);
        if (a > b) std::swap(a, b);
        m.push_back(q("rtt_ms") + ":" +
                    object({q("min") + ":" + number(a), q("avg") + ":" + number(b),
                            q("max") + ":" + number(c)}));
      }
      if (chance(70)) m.push_back(q("jitter_ms") + ":" + number(ms()));
    }
    if (!packet || chance(10)) {
      if (chance(90)) m.push_back(q("ok") + ":" + (chance(50) ? "true" : "false"));
      if (chance(70)) m.push_back(q("status") + ":" + integer(pick_u({0, 3, 200, 404, 999})));
      if (chance(80)) {
        std::vector<std::string> phases;
        std::vector<std::string> names = {"dns",  "connect", "tls",   "ttfb", "total",
                                          "send", "x",       "a-b-c", "p0",   "zzzzzzzzzzzzzzzz"};
        std::shuffle(names.begin(), names.end(), rng_);
        std::size_t k = below(9);
        for (std::size_t i = 0; i < k; ++i) phases.push_back(q(names[i]) + ":" + number(ms()));
        m.push_back(q("ms") + ":" + object(phases));
      }
      if (chance(50)) m.push_back(q("bytes") + ":" + integer(pick_u({0, 5120, uint64_t{1} << 40})));
      if (chance(30)) m.push_back(q("answers") + ":" + integer(pick_u({0, 1, 12, 65535, 65536})));
      if (chance(30)) {
        double days = pick_d({61.42, 0.0, -3.5, 3'000'000.0, -3'000'000.0, 3'000'000.5});
        m.push_back(q("cert_days_left") + ":" +
                    (chance(30)   ? integer(below(400))
                     : chance(10) ? "-0"
                                  : number(days)));
      }
    }
    if (chance(20)) {
      m.push_back(q("error") + ":" +
                  q(pick({"", "timeout", "unsupported", "connect: connection refused",
                          std::string(256, 'e'), "tab\x7f"})));
    }
    if (chance(10)) m.push_back(q(pick({"later", "note", "x"})) + ":" + ws() + any_value(4));
    if (chance(5)) {  // unknown members, sometimes the same one twice
      m.push_back(q(pick({"u", "w"})) + ":" + any_value(4));
      m.push_back(q(pick({"u", "w"})) + ":" + any_value(4));
    }
    return object(m);
  }

  std::string object(std::vector<std::string> members) {
    std::shuffle(members.begin(), members.end(), rng_);
    std::string s = "{" + ws();
    for (std::size_t i = 0; i < members.size(); ++i) {
      s += (i ? "," + ws() : "") + members[i] + ws();
    }
    return s + "}";
  }

  std::string any_value(int depth) {
    switch (depth > 14 ? below(5) : below(7)) {
      case 0:
        return q(pick({"", "text", "with space", "ünïcode", "esc\\\"aped"}));
      case 1:
        return number(ms());
      case 2:
        return pick({"true", "false", "null", "-1", "1e308", "-0.5e-3"});
      case 3:
        return integer(below(1000000));
      case 4:
        return "[]";
      case 5: {
        std::string s = "[";
        for (std::size_t i = 0, n = below(3); i < n; ++i)
          s += (i ? "," : "") + any_value(depth + 1);
        return s + "]";
      }
      default:
        return object({q("k") + ":" + any_value(depth + 1)});
    }
  }

  double ms() {
    switch (below(6)) {
      case 0:
        return static_cast<double>(below(3'600'001));
      case 1:
        return static_cast<double>(below(50'000'000)) / 1000.0;
      case 2:
        return std::uniform_real_distribution<double>(0, 100)(rng_);
      case 3:
        return std::uniform_real_distribution<double>(0, 1e-3)(rng_);
      case 4:
        return pick_d({0.0, 3'600'000.0, 0.1, 0.3, 1e-7, 11.2, 0.125});
      default:
        return static_cast<double>(below(1000)) / 10.0;
    }
  }

  // A double written one of the ways JSON writers write it.
  std::string number(double d) {
    char buf[64];
    switch (below(5)) {
      case 0:
        std::snprintf(buf, sizeof buf, "%.17g", d);
        break;
      case 1:
        std::snprintf(buf, sizeof buf, "%.3f", d);
        break;
      case 2:
        std::snprintf(buf, sizeof buf, "%.6e", d);
        break;
      case 3:
        std::snprintf(buf, sizeof buf, "%.4E", d);
        break;
      default:
        return json(d).dump();  // shortest round trip, as nlohmann and the agent write it
    }
    return buf;
  }

  std::string integer(uint64_t v) { return std::to_string(v); }
  std::string q(const std::string& s) { return "\"" + s + "\""; }
  std::string ws() {
    switch (below(12)) {
      case 0:
        return " ";
      case 1:
        return "\n  ";
      case 2:
        return "\t";
      case 3:
        return "\r\n";
      default:
        return "";
    }
  }
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  std::string pick(std::initializer_list<std::string> xs) {
    return *(xs.begin() + static_cast<std::ptrdiff_t>(below(xs.size())));
  }
  uint64_t pick_u(std::initializer_list<uint64_t> xs) {
    return *(xs.begin() + static_cast<std::ptrdiff_t>(below(xs.size())));
  }
  double pick_d(std::initializer_list<double> xs) {
    return *(xs.begin() + static_cast<std::ptrdiff_t>(below(xs.size())));
  }

  std::mt19937_64 rng_;
};

// Mutations a fuzzer would make, biased toward JSON's own bytes.
std::string mutate(std::string s, std::mt19937_64& rng) {
  static const std::string alphabet = "{}[],:\" -+.eE0123456789\\tfnu\x7f\xc3\x01";
  auto below = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  int edits = 1 + static_cast<int>(below(3));
  for (int e = 0; e < edits && !s.empty(); ++e) {
    std::size_t at = below(s.size());
    switch (below(7)) {
      case 0:
        s.erase(at, 1);
        break;
      case 1:
        s.insert(at, 1, alphabet[below(alphabet.size())]);
        break;
      case 2:
        s[at] = alphabet[below(alphabet.size())];
        break;
      case 3:
        s.resize(at);
        break;
      case 4: {  // repeat a slice (duplicate keys, members, digits)
        std::size_t len = 1 + below(std::min<std::size_t>(40, s.size() - at));
        s.insert(at, s.substr(at, len));
        break;
      }
      case 5: {  // change a digit (ranges)
        std::size_t d = s.find_first_of("0123456789", at);
        if (d != std::string::npos) s[d] = static_cast<char>('0' + below(10));
        break;
      }
      default: {  // replace a value with one of another type or range
        static const char* values[] = {"-1",   "1e400",     "NaN", "null", "\"x\"",
                                       "[]",   "{}",        "1.5", "-0",   "1000000",
                                       "true", "3600000.1", "0",   "1e5",  "1E-400"};
        std::size_t colon = s.find(':', at);
        if (colon == std::string::npos) break;
        std::size_t end = s.find_first_of(",}]", colon + 1);
        if (end == std::string::npos) break;
        s.replace(colon + 1, end - colon - 1, values[below(std::size(values))]);
        break;
      }
    }
  }
  return s;
}

std::vector<std::string> schema_examples() {
  std::ifstream in(std::string(MUTUO_SCHEMA_DIR) + "/results.schema.json");
  json schema = json::parse(in);
  std::vector<std::string> out;
  for (const json& e : schema.at("examples")) out.push_back(e.dump());
  return out;
}

}  // namespace

TEST_CASE("the schema's examples decode fast, exactly as the reference decodes them") {
  for (const auto& e : schema_examples()) {
    CAPTURE(e);
    Verdict v = check(e);
    CHECK(v.problem == "");
    CHECK(v.fast_accepted);
    // and as the agent writes them
    std::string agent_written = encode(*decode_results(e));
    CHECK(check(agent_written).problem == "");
    CHECK(check(agent_written).fast_accepted);
  }
}

TEST_CASE("generated batches: the fast decoder takes the plain ones and agrees on all") {
  Generator gen(42);
  int fast = 0, accepted = 0, total = mutuo::test::scaled(20000);
  for (int i = 0; i < total; ++i) {
    std::string p = gen.batch();
    Verdict v = check(p);
    if (!v.problem.empty()) {
      CAPTURE(p);
      FAIL(v.problem);
    }
    fast += v.fast_accepted;
    accepted += static_cast<bool>(decode_results(p));
  }
  MESSAGE("fast path took ", fast, " of ", accepted, " valid generated batches of ", total);
  // Unknown fields with escaped or non-ASCII strings, negative numbers and the
  // like are left to the reference; everything else must take the fast path.
  CHECK(fast > accepted * 8 / 10);
  CHECK(accepted > total / 2);
}

TEST_CASE("hostile payloads are refused with the reference's reasons") {
  const std::string ok_result = R"({"peer":"b","probe":"udp","ts":5,"sent":1,"recv":1})";
  auto with = [&](const std::string& result) {
    return R"({"v":1,"agent":"a","batch":1,"results":[)" + result + "]}";
  };
  const std::vector<std::string> hostile = {
      "",
      "[]",
      "null",
      "\xef\xbb\xbf" + with(ok_result),  // byte order mark: nlohmann skips it
      with(ok_result) + "x",
      with(ok_result) + " ",
      R"({"v":1.0,"agent":"a","batch":1,"results":[]})",
      R"({"v":2,"agent":"a","batch":1,"results":[]})",
      R"({"agent":"a","batch":1,"results":[]})",
      R"({"v":1,"agent":"A","batch":1,"results":[]})",
      R"({"v":1,"agent":"a","batch":-1,"results":[]})",
      R"({"v":1,"agent":"a","batch":9007199254740993,"results":[]})",
      R"({"v":1,"agent":"a","batch":1,"results":{}})",
      R"({"v":1,"agent":"a","agent":"b","batch":1,"results":[]})",
      R"({"v":1,"agent":"a","batch":1,"results":[],"results":[1]})",
      R"({"v":1,"agent":"a\u0062","batch":1,"results":[]})",
      with(R"({"peer":"b","probe":"udp","ts":5,"sent":1,"recv":2})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"sent":1})"),
      with(R"({"peer":"b","probe":"udp","ts":0})"),
      with(R"({"peer":"b","probe":"udp","ts":-5})"),
      with(R"({"peer":"b","probe":"udp","ts":5.5})"),
      with(R"({"peer":"b","check":"c","probe":"udp","ts":5})"),
      with(R"({"probe":"udp","ts":5})"),
      with(R"({"peer":"b","probe":"smtp","ts":5})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":NaN})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":-0.5})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":-0})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":1e400})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":3600000.5})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":"1"})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"rtt_ms":{"min":2,"avg":1,"max":3}})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"rtt_ms":{"min":1,"avg":2}})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"rtt_ms":[1,2,3]})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"rtt_ms":{"min":1,"avg":2,"max":3,"min":4}})"),
      with(R"({"check":"c","probe":"http","ts":5,"ok":1})"),
      with(R"({"check":"c","probe":"http","ts":5,"status":1000})"),
      with(R"({"check":"c","probe":"http","ts":5,"bytes":1099511627777})"),
      with(R"({"check":"c","probe":"http","ts":5,"ms":{"Total":1}})"),
      with(R"({"check":"c","probe":"http","ts":5,"ms":{"total":1,"total":2}})"),
      with(
          R"({"check":"c","probe":"http","ts":5,"ms":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}})"),
      with(R"({"check":"c","probe":"http","ts":5,"ms":{"aaaaaaaaaaaaaaaaa":1}})"),
      with(R"({"check":"c","probe":"http","ts":5,"error":"bad\u0001"})"),
      with(R"({"check":"c","probe":"http","ts":5,"error":"del)"
           "\x7f"
           R"("})"),
      with(R"({"check":"c","probe":"http","ts":5,"error":")" + std::string(257, 'e') + R"("})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"x":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]})"),
      with(R"({"check":"c","probe":"dns","ts":5,"answers":65536})"),
      with(R"({"check":"c","probe":"dns","ts":5,"answers":-1})"),
      with(R"({"check":"c","probe":"http","ts":5,"cert_days_left":-3000000.01})"),
      with(R"({"check":"c","probe":"http","ts":5,"cert_days_left":"61"})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"x":1,"x":2})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"x":{"k":1,"k":1}})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"x":[{"k":1,"j":2,"k":3}]})"),
      with(R"({"peer":"b","probe":"udp","ts":5,"rtt_ms":{"min":1,"avg":2,"max":3,"y":0,"y":0}})"),
      R"({"v":1,"agent":"a","batch":1,"results":[],"z":null,"z":null})",
      with(ok_result + ",1"),
      with(ok_result + ","),
      std::string(kMaxResultsPayload + 1, ' '),
  };
  for (const auto& p : hostile) {
    CAPTURE(p);
    Verdict v = check(p);
    CHECK(v.problem == "");
  }
  // A few that the reference accepts and the fast decoder must accept as well.
  for (const auto& p : {with(ok_result), with(ok_result) + " \n",
                        with(R"({"peer":"b","probe":"udp","ts":5,"jitter_ms":0e0})"),
                        with(R"({"peer":"b","probe":"udp","ts":5,"error":""})"),
                        with(R"({"check":"c","probe":"http","ts":5,"cert_days_left":-3.25})"),
                        with(R"({"check":"c","probe":"http","ts":5,"cert_days_left":-0})"),
                        with(R"({"check":"c","probe":"dns","ts":5,"answers":65535})")}) {
    CAPTURE(p);
    Verdict v = check(p);
    CHECK(v.problem == "");
    CHECK(v.fast_accepted);
  }
}

TEST_CASE("mutated batches: whatever the fast decoder accepts, the reference decodes the same") {
  Generator gen(7);
  std::vector<std::string> bases = schema_examples();
  for (int i = 0; i < mutuo::test::scaled(200); ++i) bases.push_back(gen.batch());
  int fast = 0, total = 0;
  for (const auto& base : bases) {
    for (int m = 0, n = mutuo::test::scaled(300); m < n; ++m) {
      std::string p = mutate(base, gen.rng());
      Verdict v = check(p);
      ++total;
      fast += v.fast_accepted;
      if (!v.problem.empty()) {
        CAPTURE(base);
        CAPTURE(p);
        FAIL(v.problem);
      }
    }
  }
  MESSAGE("fast path took ", fast, " of ", total, " mutated payloads");
}

}  // namespace mutuo
