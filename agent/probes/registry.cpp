#include "agent/probes/registry.h"

#include "agent/probes/dns.h"
#include "agent/probes/tcp_connect.h"

namespace mutuo::agent {

const std::vector<ProbeType>& probe_types() {
  static const std::vector<ProbeType> types = {
      {"udp", [](const ProbeOptions& o) { return make_udp_echo_probe(o.udp); }},
      {"icmp", [](const ProbeOptions& o) { return make_icmp_probe(o.icmp); }},
      {"tcp", [](const ProbeOptions&) { return make_tcp_connect_probe(); }},
      {"http", [](const ProbeOptions& o) { return make_http_probe(o.http); }},
      {"dns", [](const ProbeOptions&) { return make_dns_probe(); }},
  };
  return types;
}

std::map<std::string, std::unique_ptr<Probe>> make_probes(const ProbeOptions& options) {
  std::map<std::string, std::unique_ptr<Probe>> probes;
  for (const ProbeType& t : probe_types()) probes[t.name] = t.make(options);
  return probes;
}

}  // namespace mutuo::agent
