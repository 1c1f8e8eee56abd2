// The v1 topic tree (DESIGN.md, "Topic tree"): the one place topic strings are
// built and parsed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mutuo::topics {

inline constexpr std::string_view kRoot = "mutuo/v1/";

std::string status(std::string_view agent);    // mutuo/v1/agents/{agent}/status
std::string peer(std::string_view agent);      // mutuo/v1/peers/{agent}
std::string assign(std::string_view agent);    // mutuo/v1/assign/{agent}
std::string results(std::string_view agent);   // mutuo/v1/results/{agent}
std::string acks(std::string_view agent);      // mutuo/v1/acks/{agent}
std::string check(std::string_view check_id);  // mutuo/v1/checks/{check}

// Subscription filters.
inline constexpr const char* kAllStatus = "mutuo/v1/agents/+/status";
inline constexpr const char* kAllPeers = "mutuo/v1/peers/+";
inline constexpr const char* kAllAssign = "mutuo/v1/assign/+";
inline constexpr const char* kAllResults = "mutuo/v1/results/+";
inline constexpr const char* kAllChecks = "mutuo/v1/checks/+";

enum class Kind { kStatus, kPeer, kAssign, kResults, kAcks, kCheck };

struct Parsed {
  Kind kind;
  std::string id;  // the agent id (or check id for kCheck); always a valid id
};

// Parses a topic of the tree. Returns nullopt for anything else, including
// topics whose id segment is not a valid id.
std::optional<Parsed> parse(std::string_view topic);

}  // namespace mutuo::topics
