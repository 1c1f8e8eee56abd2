// The bodies of mutuo's fuzz targets (docs/hardening.md). Each takes one input
// and returns "" when every invariant held, or what broke. They are shared by
// the libFuzzer executables (tests/fuzz/fuzz_main.cpp, clang only, which abort
// on a non-empty answer) and by the regression unit test
// (tests/unit/fuzz_regressions_test.cpp, every compiler), which replays the
// seed corpus and tests/fuzz/regressions/ through the same functions.
//
// A crash (sanitizer report, uncaught exception) is a failure as well: the
// targets catch nothing that the code under test should have caught itself.
//
// Threading: one call at a time per target (the dashboard target keeps state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mutuo::fuzz {

using Target = std::string (*)(const uint8_t* data, std::size_t size);

// The message decoders of common/messages: what a decoder accepts must encode
// to a payload it accepts again, unchanged.
std::string status(const uint8_t* data, std::size_t size);
std::string peer(const uint8_t* data, std::size_t size);
std::string assign(const uint8_t* data, std::size_t size);
std::string check(const uint8_t* data, std::size_t size);
std::string results(const uint8_t* data, std::size_t size);
std::string ack(const uint8_t* data, std::size_t size);

// agent/probes/echo_packet: a parsed packet encodes to one that parses the same.
std::string echo_packet(const uint8_t* data, std::size_t size);

// dashboard/api_router: one HTTP request in the text form below, handled by a
// real ApiRouter over a real (temporary) dashboard store:
//
//   METHOD PATH[?QUERY]
//   Name: value          (cookie, x-csrf-token, content-type, origin, host,
//                         authorization)
//   ...
//   <empty line>
//   body
//
// In header values "@admin" and "@viewer" stand for a live session id (in the
// cookie) or its CSRF token (in x-csrf-token), so the fuzzer reaches the
// routes behind the login. Invariants: the answer is a known HTTP status, its
// body is valid JSON (or the page), and no request without a live session
// cookie gets past a protected route.
std::string dashboard_request(const uint8_t* data, std::size_t size);

struct NamedTarget {
  const char* name;  // also the fuzzer's name (fuzz_<name>) and its corpus dir
  Target run;
};

// Every target, for the regression test and the CI script.
const std::vector<NamedTarget>& all_targets();

}  // namespace mutuo::fuzz
