#include "common/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mutuo::metrics {

namespace {

constexpr std::size_t kMaxRequest = 8192;

void write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away or timed out
    off += static_cast<std::size_t>(n);
  }
}

std::string response(const char* status, const std::string& type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

Result<std::unique_ptr<TextEndpoint>> TextEndpoint::start(const std::string& listen,
                                                          std::function<std::string()> render) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Error{"--metrics-listen wants host:port, got " + listen};
  std::string host = listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
    return Error{"metrics are served on loopback (127.0.0.0/8) only, not " + host};
  }
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return Error{"bad port in --metrics-listen " + listen};

  std::unique_ptr<TextEndpoint> e(new TextEndpoint());
  e->render_ = std::move(render);
  e->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (e->listen_fd_ < 0) return Error{std::string("metrics socket: ") + std::strerror(errno)};
  int one = 1;
  ::setsockopt(e->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(e->listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(e->listen_fd_, 8) != 0) {
    return Error{"cannot serve metrics on " + listen + ": " + std::strerror(errno)};
  }
  socklen_t len = sizeof sa;
  ::getsockname(e->listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  e->port_ = ntohs(sa.sin_port);
  e->wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (e->wake_fd_ < 0) return Error{std::string("metrics eventfd: ") + std::strerror(errno)};
  e->thread_ = std::thread([p = e.get()] { p->serve(); });
  return e;
}

TextEndpoint::~TextEndpoint() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void TextEndpoint::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    answer(fd);
    ::close(fd);
  }
}

void TextEndpoint::answer(int fd) {
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < kMaxRequest) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    req.append(buf, static_cast<std::size_t>(n));
  }
  auto line_end = req.find("\r\n");
  if (line_end == std::string::npos) {
    write_all(fd, response("400 Bad Request", "text/plain", "bad request\n"));
    return;
  }
  std::string line = req.substr(0, line_end);  // "GET /metrics HTTP/1.1"
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  std::string method = line.substr(0, sp1);
  std::string target = sp1 == std::string::npos || sp2 == std::string::npos
                           ? ""
                           : line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
  if (target != "/metrics") {
    write_all(fd, response("404 Not Found", "text/plain", "GET /metrics\n"));
  } else if (method != "GET") {
    write_all(fd, response("405 Method Not Allowed", "text/plain", "GET only\n"));
  } else {
    scrapes_.fetch_add(1);
    write_all(fd, response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render_()));
  }
}

}  // namespace mutuo::metrics
