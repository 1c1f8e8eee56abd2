// The dns probe (c-ares): one A query for the target's name, sent to the
// target's server (host, port; port 0 means 53) or, when host is empty, to the
// system's resolvers (/etc/resolv.conf). All targets of a call are in flight at
// once; one try each, within the target's timeout.
//
// Result: status (the DNS rcode: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED),
// answers (the answer records in the response, whatever the rcode), ms.total
// (query to answer), bytes (answer size), ok (NOERROR with at least one answer
// record) and error ("nxdomain", "no answers", "timeout", ...).
#pragma once

#include <memory>

#include "agent/probes/probe.h"

namespace mutuo::agent {

class DnsProbe : public Probe {
 public:
  DnsProbe();
  std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) override;
};

std::unique_ptr<Probe> make_dns_probe();

// The answer count of a DNS message, or nullopt when it is too short. Also sets
// *rcode.
std::optional<int> dns_answer_count(const unsigned char* msg, int len, int* rcode);

}  // namespace mutuo::agent
