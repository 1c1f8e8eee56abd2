#include "tests/fuzz/fuzz_targets.h"

namespace mutuo::fuzz {

const std::vector<NamedTarget>& all_targets() {
  static const std::vector<NamedTarget> targets = {
      {"status", status},           {"peer", peer},
      {"assign", assign},           {"check", check},
      {"results", results},         {"ack", ack},
      {"echo_packet", echo_packet}, {"dashboard_request", dashboard_request},
  };
  return targets;
}

}  // namespace mutuo::fuzz
