// A minimal loopback HTTP endpoint for Prometheus: GET /metrics answers the text
// a callback renders. For programs that do not link CivetWeb (the agent, which
// stays small; docs/operating.md, "Metrics"); the others use
// metrics::MetricsServer. One thread serves one connection at a time, with a
// bounded request (8 KiB) and 2 s socket timeouts, which is plenty for a
// scraper every few seconds and costs nothing while idle.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"

namespace mutuo::metrics {

class TextEndpoint {
 public:
  // Listens on `listen` ("127.0.0.1:9474"; port 0 picks a free one). Loopback
  // addresses only, as for MetricsServer. `render` is called on the endpoint's
  // thread for each scrape and must be thread-safe.
  static Result<std::unique_ptr<TextEndpoint>> start(const std::string& listen,
                                                     std::function<std::string()> render);
  ~TextEndpoint();  // stops serving; joins the thread
  TextEndpoint(const TextEndpoint&) = delete;
  TextEndpoint& operator=(const TextEndpoint&) = delete;

  int port() const { return port_; }
  uint64_t scrapes() const { return scrapes_.load(); }

 private:
  TextEndpoint() = default;
  void serve();
  void answer(int fd);

  std::function<std::string()> render_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor wakes the thread
  int port_ = 0;
  std::atomic<uint64_t> scrapes_{0};
  std::thread thread_;
};

}  // namespace mutuo::metrics
