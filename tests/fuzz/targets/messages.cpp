// Fuzz targets for the message decoders (fuzz_targets.h).
#include <string>
#include <string_view>

#include "common/messages/ack.h"
#include "common/messages/assign.h"
#include "common/messages/check.h"
#include "common/messages/peer.h"
#include "common/messages/results.h"
#include "common/messages/results_fast.h"
#include "common/messages/status.h"
#include "tests/fuzz/fuzz_targets.h"

namespace mutuo::fuzz {

namespace {

std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Accepted once => its encoding is accepted again and encodes identically.
// (Encoding, not the struct, is compared, since not every message has ==.)
template <class Decode>
std::string round_trip(const char* what, std::string_view payload, Decode decode) {
  auto first = decode(payload);
  if (!first) {
    if (first.error().empty()) return std::string(what) + ": rejected without a reason";
    return "";
  }
  std::string encoded = encode(*first);
  auto second = decode(encoded);
  if (!second) {
    return std::string(what) + ": its own encoding is rejected (" + second.error() +
           "): " + encoded;
  }
  std::string again = encode(*second);
  if (again != encoded) {
    return std::string(what) + ": encoding changed on a round trip: " + encoded + " vs " + again;
  }
  return "";
}

}  // namespace

std::string status(const uint8_t* data, std::size_t size) {
  return round_trip("status", as_text(data, size), decode_status);
}

std::string peer(const uint8_t* data, std::size_t size) {
  return round_trip("peer", as_text(data, size), decode_peer);
}

std::string assign(const uint8_t* data, std::size_t size) {
  return round_trip("assign", as_text(data, size), decode_assign);
}

std::string check(const uint8_t* data, std::size_t size) {
  return round_trip("check", as_text(data, size), decode_check);
}

std::string results(const uint8_t* data, std::size_t size) {
  std::string broken = round_trip("results", as_text(data, size), decode_results);
  if (!broken.empty()) return broken;
  // The receiver's fast decoder gives the reference's verdict, error text and batch.
  auto fast = decode_results_fast(as_text(data, size));
  auto reference = decode_results(as_text(data, size));
  if (fast.ok() != reference.ok()) {
    return std::string("results: the fast decoder ") + (fast.ok() ? "accepts" : "refuses") +
           " what the reference " + (fast.ok() ? "refuses (" + reference.error() + ")" : "accepts");
  }
  if (!fast && fast.error() != reference.error()) {
    return "results: the fast decoder says '" + fast.error() + "', the reference '" +
           reference.error() + "'";
  }
  if (fast && encode(*fast) != encode(*reference)) {
    return "results: the fast decoder decodes differently: " + encode(*fast);
  }
  // The receiver re-reads stored results one by one (decode_probe_result).
  auto batch = decode_results(as_text(data, size));
  if (!batch) return "";
  for (const auto& r : batch->results) {
    nlohmann::json j = r;
    auto back = decode_probe_result(j);
    if (!back) return "results: a stored result is rejected (" + back.error() + "): " + j.dump();
    if (!(*back == r)) return "results: a stored result reads back different: " + j.dump();
  }
  return "";
}

std::string ack(const uint8_t* data, std::size_t size) {
  return round_trip("ack", as_text(data, size), decode_ack);
}

}  // namespace mutuo::fuzz
