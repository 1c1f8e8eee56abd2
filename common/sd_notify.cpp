#include "common/sd_notify.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace mutuo::systemd {

bool notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t len = std::strlen(path);
  // A path ("/run/systemd/notify") or an abstract socket ("@name").
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);

  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

Readiness::Readiness(std::function<bool()> ready, std::string ready_status,
                     std::string waiting_status, std::chrono::milliseconds grace)
    : ready_(std::move(ready)),
      ready_status_(std::move(ready_status)),
      waiting_status_(std::move(waiting_status)),
      grace_(grace) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || socket[0] == '\0') return;  // not under systemd: nothing to tell
  thread_ = std::thread([this] { run(); });
}

Readiness::~Readiness() { stopping(); }

void Readiness::stopping() {
  {
    std::lock_guard lock(mu_);
    if (stopped_sent_) return;
    stopped_sent_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    notify("STOPPING=1\nSTATUS=stopping");
  }
}

void Readiness::run() {
  auto deadline = std::chrono::steady_clock::now() + grace_;
  bool announced = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    bool ok = ready_();
    lock.lock();
    if (stop_) break;
    if (ok) {
      notify("READY=1\nSTATUS=" + ready_status_);
      spdlog::debug("told systemd: ready ({})", ready_status_);
      return;
    }
    if (!announced && std::chrono::steady_clock::now() >= deadline) {
      notify("READY=1\nSTATUS=" + waiting_status_);
      spdlog::info("told systemd: started, {}", waiting_status_);
      announced = true;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

}  // namespace mutuo::systemd
