// The tcp probe: time to complete a TCP handshake with host:port, then close.
// All targets of a call connect at once (non-blocking sockets, one poll loop).
// Result: ok, ms.dns (only when host is a name), ms.connect, error ("refused",
// "timeout", "unreachable", or the system's reason).
#pragma once

#include <memory>

#include "agent/probes/probe.h"

namespace mutuo::agent {

class TcpConnectProbe : public Probe {
 public:
  std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) override;
};

std::unique_ptr<Probe> make_tcp_connect_probe();

}  // namespace mutuo::agent
