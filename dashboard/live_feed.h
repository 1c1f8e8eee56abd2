// LiveFeed: pushes events (small JSON objects) to the browsers that hold a
// WebSocket open, so the page updates without polling. Each client has a bounded
// queue and its own writer thread: publish() only appends to queues and never
// waits for a network write, so the MQTT callback thread that calls it is never
// held up by a slow browser. A client whose queue overflows is dropped (its
// queue cleared and its socket closed with a reason); the page then reloads its
// state over HTTP and reconnects.
//
// Wire format: every WebSocket text frame is a JSON array of the events queued
// since the previous frame ("[]" as a heartbeat when nothing happened for
// `heartbeat`). Events are built by api_json.h (live_*_event).
//
// Threading: every method may be called from any thread. The Sender and Closer
// of a client are called only from that client's writer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace mutuo::dashboard {

class LiveFeed {
 public:
  struct Limits {
    std::size_t max_clients = 16;                // more are refused (they poll instead)
    std::size_t max_queued = 2000;               // events waiting for one client
    std::size_t max_queued_bytes = 4 << 20;      // bytes waiting for one client
    std::chrono::milliseconds heartbeat{15000};  // "[]" after this much silence
  };

  struct Counters {
    uint64_t clients = 0;       // connected now
    uint64_t accepted = 0;      // ever
    uint64_t refused_full = 0;  // refused: max_clients reached
    uint64_t dropped_slow = 0;  // dropped: queue overflowed
    uint64_t dropped_auth = 0;  // dropped: session ended
    uint64_t events = 0;        // published
    uint64_t frames_sent = 0;   // frames written, all clients
  };

  // Writes one text frame; false when the connection is gone.
  using Sender = std::function<bool(std::string_view frame)>;
  // Closes the connection with a reason (a close frame); called once at most.
  using Closer = std::function<void(std::string_view reason)>;
  // Whether the client may still receive events (its session is live).
  using Authorized = std::function<bool()>;

  LiveFeed() : LiveFeed(Limits{}) {}
  explicit LiveFeed(Limits limits);
  ~LiveFeed();  // closes and joins every client
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // Registers a client and starts its writer; `hello` is its first frame (may be
  // empty). Returns the client id, or nullopt when max_clients are connected.
  std::optional<uint64_t> add(Sender send, Closer close, Authorized authorized,
                              std::string hello = "");

  // Stops the client's writer and forgets it; waits for a write in progress.
  // The Sender is never called after remove() returns. Unknown ids are ignored.
  void remove(uint64_t id);

  // Queues one event (a serialized JSON value) for every client.
  void publish(std::string event);

  // Whether any client is connected: callers skip building events nobody
  // would receive (a results event for every batch, hundreds a second).
  bool has_clients() const { return client_count_.load(std::memory_order_relaxed) > 0; }

  Counters counters() const;

 private:
  struct Client {
    Sender send;
    Closer close;
    Authorized authorized;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<const std::string>> queue;  // guarded by mu
    std::size_t queued_bytes = 0;                          // guarded by mu
    bool stop = false;                                     // guarded by mu
    std::string close_reason;                              // guarded by mu; set: close
    std::thread writer;
  };

  void write_loop(Client* c);

  const Limits limits_;
  mutable std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;  // guarded by mu_
  uint64_t next_id_ = 1;                                 // guarded by mu_
  Counters counters_;                                    // guarded by mu_ (frames: atomic below)
  std::atomic<uint64_t> frames_sent_{0}, dropped_auth_{0};
  std::atomic<std::size_t> client_count_{0};  // clients_.size(), read without mu_
};

}  // namespace mutuo::dashboard
