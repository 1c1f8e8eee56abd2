#include "agent/echo_responder.h"

#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/net_addr.h"
#include "agent/probes/echo_packet.h"

namespace mutuo::agent {

EchoResponder::~EchoResponder() { stop(); }

Result<uint16_t> EchoResponder::start(const std::string& bind_addr, uint16_t port) {
  auto addr = parse_socket_addr(bind_addr, port);
  if (!addr) return Error{"invalid bind address " + bind_addr};
  fd_ = socket(addr->storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  if (bind(fd_, addr->sockaddr(), addr->len) != 0) {
    std::string why = std::strerror(errno);
    close(fd_);
    fd_ = -1;
    return Error{"cannot bind UDP " + bind_addr + ":" + std::to_string(port) + ": " + why};
  }
  SocketAddr bound;
  getsockname(fd_, bound.sockaddr(), &bound.len);
  thread_ = std::thread([this] { serve(); });
  return bound.port();
}

void EchoResponder::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void EchoResponder::serve() {
  uint8_t buf[512];
  while (!stopping_) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    SocketAddr from;
    ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, from.sockaddr(), &from.len);
    if (n < 0) continue;
    auto p = parse_echo({buf, static_cast<std::size_t>(n)});
    if (!p || p->reply) {
      ++ignored_;
      continue;
    }
    p->reply = true;
    auto out = encode_echo(*p);
    sendto(fd_, out.data(), out.size(), 0, from.sockaddr(), from.len);
    ++answered_;
  }
}

}  // namespace mutuo::agent
