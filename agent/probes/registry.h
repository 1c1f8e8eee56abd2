// The probe types this agent knows: one line each in registry.cpp. A new probe
// type adds its folder/files under agent/probes/ and one line there.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "agent/probes/http.h"
#include "agent/probes/icmp.h"
#include "agent/probes/probe.h"
#include "agent/probes/udp_echo.h"

namespace mutuo::agent {

// Settings of every probe type, from the agent's configuration.
struct ProbeOptions {
  UdpEchoConfig udp;
  IcmpConfig icmp;
  HttpConfig http;
};

struct ProbeType {
  const char* name;  // as in assignments and results: "udp", "tcp", ...
  std::unique_ptr<Probe> (*make)(const ProbeOptions&);
};

// Every registered probe type.
const std::vector<ProbeType>& probe_types();

// One instance of each registered type, by name.
std::map<std::string, std::unique_ptr<Probe>> make_probes(const ProbeOptions& options);

}  // namespace mutuo::agent
