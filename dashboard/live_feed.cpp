#include "dashboard/live_feed.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace mutuo::dashboard {

LiveFeed::LiveFeed(Limits limits) : limits_(limits) {}

LiveFeed::~LiveFeed() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : clients_) ids.push_back(id);
  }
  for (uint64_t id : ids) remove(id);
}

std::optional<uint64_t> LiveFeed::add(Sender send, Closer close, Authorized authorized,
                                      std::string hello) {
  std::lock_guard lock(mu_);
  if (clients_.size() >= limits_.max_clients) {
    ++counters_.refused_full;
    return std::nullopt;
  }
  uint64_t id = next_id_++;
  auto c = std::make_unique<Client>();
  c->send = std::move(send);
  c->close = std::move(close);
  c->authorized = std::move(authorized);
  if (!hello.empty()) {
    c->queued_bytes = hello.size();
    c->queue.push_back(std::make_shared<const std::string>(std::move(hello)));
  }
  Client* raw = c.get();
  c->writer = std::thread([this, raw] { write_loop(raw); });
  clients_.emplace(id, std::move(c));
  client_count_.store(clients_.size(), std::memory_order_relaxed);
  ++counters_.accepted;
  return id;
}

void LiveFeed::remove(uint64_t id) {
  std::unique_ptr<Client> c;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    c = std::move(it->second);
    clients_.erase(it);
    client_count_.store(clients_.size(), std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(c->mu);
    c->stop = true;
  }
  c->cv.notify_all();
  c->writer.join();
}

void LiveFeed::publish(std::string event) {
  auto shared = std::make_shared<const std::string>(std::move(event));
  std::lock_guard lock(mu_);
  ++counters_.events;
  for (auto& [id, c] : clients_) {
    bool dropped = false;
    {
      std::lock_guard client_lock(c->mu);
      if (c->stop || !c->close_reason.empty()) continue;
      if (c->queue.size() >= limits_.max_queued ||
          c->queued_bytes + shared->size() > limits_.max_queued_bytes) {
        // Too slow: drop rather than let the queue (and our memory) grow.
        c->queue.clear();
        c->queued_bytes = 0;
        c->close_reason = "too slow: reload";
        dropped = true;
      } else {
        c->queue.push_back(shared);
        c->queued_bytes += shared->size();
      }
    }
    if (dropped) {
      ++counters_.dropped_slow;
      spdlog::warn("live feed: client {} dropped, its queue is full ({} events)", id,
                   limits_.max_queued);
    }
    c->cv.notify_one();
  }
}

void LiveFeed::write_loop(Client* c) {
  bool closed = false;
  while (true) {
    std::string frame;
    std::string reason;
    {
      std::unique_lock lock(c->mu);
      c->cv.wait_for(lock, limits_.heartbeat,
                     [c] { return c->stop || !c->queue.empty() || !c->close_reason.empty(); });
      if (c->stop) return;
      if (!c->close_reason.empty()) {
        reason = c->close_reason;
      } else {
        frame.reserve(c->queued_bytes + c->queue.size() + 2);
        frame.push_back('[');
        for (std::size_t i = 0; i < c->queue.size(); ++i) {
          if (i > 0) frame.push_back(',');
          frame.append(*c->queue[i]);
        }
        frame.push_back(']');
        c->queue.clear();
        c->queued_bytes = 0;
      }
    }
    if (reason.empty() && c->authorized && !c->authorized()) {
      reason = "session ended: log in again";
      ++dropped_auth_;
    }
    if (!reason.empty()) {
      if (!closed && c->close) c->close(reason);
      closed = true;
      // Wait for remove() (the connection's close handler) without spinning.
      std::unique_lock lock(c->mu);
      c->cv.wait(lock, [c] { return c->stop; });
      return;
    }
    if (!c->send(frame)) {
      std::unique_lock lock(c->mu);
      c->cv.wait(lock, [c] { return c->stop; });
      return;
    }
    ++frames_sent_;
  }
}

LiveFeed::Counters LiveFeed::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  c.clients = clients_.size();
  c.frames_sent = frames_sent_.load();
  c.dropped_auth = dropped_auth_.load();
  return c;
}

}  // namespace mutuo::dashboard
