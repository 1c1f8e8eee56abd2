// mutuo/v1/assign/{agent} (retained, by the tracker): whom one agent probes and
// how often, with a revision number that only grows.
// Schema: schemas/assign.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct PeerTarget {
  std::string agent;
  std::string addr;
  uint16_t echo_port = 0;
  std::vector<std::string> probes;  // e.g. {"udp"}
  uint32_t interval_s = 10;

  bool operator==(const PeerTarget&) const = default;
};

// A user-defined service check handed to this agent. Which fields are set
// depends on `type`: http uses url (and expect_status, expect_keyword); tcp uses
// host and port; dns uses name (and host as the server, optional); icmp uses host.
struct CheckTarget {
  std::string check;
  std::string type;  // "http" | "tcp" | "dns" | "icmp"
  std::string url;
  std::string host;
  uint16_t port = 0;
  std::string name;
  uint32_t interval_s = 30;
  uint32_t timeout_ms = 5000;
  std::vector<uint16_t> expect_status;  // http: final statuses that mean ok (empty: any 2xx)
  std::string expect_keyword;           // http: text the body must contain ("": none)

  bool operator==(const CheckTarget&) const = default;
};

struct Assign {
  std::string agent;
  uint64_t rev = 0;
  std::vector<PeerTarget> peers;
  std::vector<CheckTarget> checks;

  bool operator==(const Assign&) const = default;
};

inline constexpr std::size_t kMaxAssignedPeers = 4096;
inline constexpr std::size_t kMaxAssignedChecks = 1024;
inline constexpr std::size_t kMaxExpectedStatuses = 16;
inline constexpr std::size_t kMaxExpectedKeyword = 256;  // bytes

// The http expectations of a check object ("expect_status": a code 100-599 or a
// list of at most kMaxExpectedStatuses; "expect_keyword": at most
// kMaxExpectedKeyword bytes), shared by the check and assign codecs. read_*
// throws codec::DecodeError; write_* leaves out what is empty.
void read_http_expectations(const nlohmann::json& j, std::vector<uint16_t>* status,
                            std::string* keyword);
void write_http_expectations(nlohmann::json& j, const std::vector<uint16_t>& status,
                             const std::string& keyword);

void to_json(nlohmann::json& j, const Assign& a);
std::string encode(const Assign& a);
Result<Assign> decode_assign(std::string_view payload);

}  // namespace mutuo
