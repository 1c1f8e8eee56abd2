// Service readiness for systemd (Type=notify units, packaging/systemd/): the
// sd_notify protocol written by hand, one datagram to $NOTIFY_SOCKET, so the
// programs need no libsystemd (nor its -dev package for a cross build). Outside
// systemd ($NOTIFY_SOCKET unset) every call is a no-op.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mutuo::systemd {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...", newline-separated
// assignments) to the service manager. True when sent; false when there is no
// manager to tell ($NOTIFY_SOCKET unset) or the send failed. Thread-safe.
bool notify(std::string_view state);

// Tells systemd when a program is ready. A thread polls `ready` every 100 ms and
// sends READY=1 with STATUS=`ready_status` the first time it returns true. A
// service that cannot reach its broker at start still works (it reconnects and
// buffers), so after `grace` without `ready` it sends READY=1 anyway with
// STATUS=`waiting_status`, rather than letting systemd kill and restart it; the
// STATUS line changes to `ready_status` when `ready` comes true later.
// `ready` must stay callable until stopping() or destruction.
class Readiness {
 public:
  Readiness(std::function<bool()> ready, std::string ready_status, std::string waiting_status,
            std::chrono::milliseconds grace = std::chrono::seconds(30));
  ~Readiness();
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // Sends STOPPING=1 and ends the polling thread. Call when shutdown begins.
  void stopping();

 private:
  void run();

  std::function<bool()> ready_;
  std::string ready_status_, waiting_status_;
  std::chrono::milliseconds grace_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool stopped_sent_ = false;
  std::thread thread_;
};

}  // namespace mutuo::systemd
