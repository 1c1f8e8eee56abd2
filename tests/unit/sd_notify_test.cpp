// The sd_notify protocol as systemd receives it: datagrams on $NOTIFY_SOCKET.
#include "common/sd_notify.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// A datagram socket standing in for systemd's notify socket (abstract
// namespace, so nothing is left on disk). Sets $NOTIFY_SOCKET while it lives.
class FakeManager {
 public:
  FakeManager() {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    name_ = "@mutuo-sd-notify-test-" + std::to_string(getpid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name_.data(), name_.size());
    addr.sun_path[0] = '\0';
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())) == 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", name_.c_str(), 1);
  }
  ~FakeManager() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
  }
  // The next datagram, or "" after 5 s.
  std::string receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  bool nothing_within_ms(int ms) {
    timeval tv{0, ms * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    bool none = recv(fd_, buf, sizeof buf, 0) < 0;
    tv = {5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return none;
  }

 private:
  int fd_ = -1;
  std::string name_;
};

}  // namespace

TEST_CASE("without NOTIFY_SOCKET nothing is sent and nothing fails") {
  unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(mutuo::systemd::notify("READY=1"));
  mutuo::systemd::Readiness r([] { return true; }, "ready", "waiting");
  r.stopping();
}

TEST_CASE("a bad NOTIFY_SOCKET is refused, not followed") {
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(mutuo::systemd::notify("READY=1"));
  setenv("NOTIFY_SOCKET", ("/" + std::string(200, 'x')).c_str(), 1);
  CHECK_FALSE(mutuo::systemd::notify("READY=1"));
  unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("notify sends the state as one datagram") {
  FakeManager manager;
  CHECK(mutuo::systemd::notify("STATUS=hello"));
  CHECK(manager.receive() == "STATUS=hello");
}

TEST_CASE("READY=1 only once the program is ready, STOPPING=1 at shutdown") {
  FakeManager manager;
  std::atomic<bool> connected{false};
  mutuo::systemd::Readiness r([&] { return connected.load(); }, "connected", "waiting",
                              std::chrono::seconds(60));
  CHECK(manager.nothing_within_ms(300));
  connected = true;
  CHECK(manager.receive() == "READY=1\nSTATUS=connected");
  r.stopping();
  CHECK(manager.receive() == "STOPPING=1\nSTATUS=stopping");
  r.stopping();  // twice is harmless and sends nothing more
  CHECK(manager.nothing_within_ms(200));
}

TEST_CASE("after the grace period READY=1 says what it waits for, then the status follows") {
  FakeManager manager;
  std::atomic<bool> connected{false};
  mutuo::systemd::Readiness r([&] { return connected.load(); }, "connected", "waiting for broker",
                              std::chrono::milliseconds(200));
  CHECK(manager.receive() == "READY=1\nSTATUS=waiting for broker");
  connected = true;
  CHECK(manager.receive() == "READY=1\nSTATUS=connected");
}
