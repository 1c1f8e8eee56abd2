// EchoResponder: answers other agents' UDP echo requests on one port, so they can
// measure their round trip to this host. Needs no privileges.
//
// Threading: start() spawns the serving thread; stop() joins it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "common/result.h"

namespace mutuo::agent {

class EchoResponder {
 public:
  ~EchoResponder();

  // Binds `bind_addr`:`port` (IPv4 or IPv6 literal). Port 0 picks a free one.
  Result<uint16_t> start(const std::string& bind_addr, uint16_t port);
  void stop();

  uint64_t answered() const { return answered_; }
  uint64_t ignored() const { return ignored_; }  // not a well-formed echo request

 private:
  void serve();

  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> ignored_{0};
  std::thread thread_;
};

}  // namespace mutuo::agent
