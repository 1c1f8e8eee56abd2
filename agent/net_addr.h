// Socket addresses from IP literals, and the host's own addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace mutuo::agent {

struct SocketAddr {
  sockaddr_storage storage{};
  socklen_t len = sizeof(sockaddr_storage);

  ::sockaddr* sockaddr() { return reinterpret_cast<::sockaddr*>(&storage); }
  const ::sockaddr* sockaddr() const { return reinterpret_cast<const ::sockaddr*>(&storage); }
  uint16_t port() const;
  bool same_endpoint(const SocketAddr& other) const;  // family, address and port
};

// nullopt unless `ip` is an IPv4 or IPv6 literal.
std::optional<SocketAddr> parse_socket_addr(const std::string& ip, uint16_t port);

// Resolves `host` (an IP literal, or a name through getaddrinfo, which blocks up
// to the system resolver's own timeout) to its first address, with `port`.
Result<SocketAddr> resolve_host(const std::string& host, uint16_t port);

// "192.0.2.1" or "2001:db8::1" for an IPv4 or IPv6 socket address.
std::string addr_text(const SocketAddr& a);

// Non-loopback addresses of this host's interfaces that are up, IPv4 first.
std::vector<std::string> local_addresses();

}  // namespace mutuo::agent
