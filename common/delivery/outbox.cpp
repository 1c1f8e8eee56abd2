#include "common/delivery/outbox.h"

#include <algorithm>

#include "common/clock.h"

namespace mutuo::delivery {

namespace {
// After `publish` refused a batch (not connected, client queue full), wait this
// long before trying again, unless on_connected() comes first.
constexpr auto kPublishRetry = std::chrono::milliseconds(1000);
}  // namespace

Result<std::unique_ptr<Outbox>> Outbox::open(OutboxConfig config, Publish publish) {
  if (config.window == 0) config.window = 1;
  if (config.max_batches == 0) config.max_batches = 1;
  auto store = BatchStore::open(config.store);
  if (!store) return Error{store.error()};
  std::unique_ptr<Outbox> o(
      new Outbox(std::move(config), std::move(publish), std::move(store).value()));
  return o;
}

Outbox::Outbox(OutboxConfig config, Publish publish, std::unique_ptr<BatchStore> store)
    : config_(std::move(config)), publish_(std::move(publish)), store_(std::move(store)) {
  for (const StoredBatch& b : store_->take_found()) {
    entries_.push_back(Entry{b});
    stats_.pending_bytes += b.bytes;
  }
  // A directory may hold more than this run's limits allow (they were lowered).
  while (entries_.size() > config_.max_batches || stats_.pending_bytes > config_.max_bytes) {
    evict_front(false);
  }
}

Outbox::Clock::duration Outbox::backoff(uint32_t attempts) const {
  auto d = std::chrono::duration_cast<Clock::duration>(config_.resend_after);
  for (uint32_t i = 1; i < attempts && d < config_.max_resend_after; ++i) d *= 2;
  return std::min(d, std::chrono::duration_cast<Clock::duration>(config_.max_resend_after));
}

void Outbox::mark_sent(Entry& e, Clock::time_point now) {
  if (e.sent_ever) ++stats_.resent;
  e.sent_ever = true;
  ++e.attempts;
  if (!e.in_flight) ++in_flight_;
  e.in_flight = true;
  e.due = now + backoff(e.attempts);
}

Outbox::Entry* Outbox::find(uint64_t batch) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), batch,
                             [](const Entry& e, uint64_t b) { return e.stored.batch < b; });
  return it != entries_.end() && it->stored.batch == batch ? &*it : nullptr;
}

void Outbox::erase(uint64_t batch) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), batch,
                             [](const Entry& e, uint64_t b) { return e.stored.batch < b; });
  if (it == entries_.end() || it->stored.batch != batch) return;
  if (it->in_flight) --in_flight_;
  stats_.pending_bytes -= it->stored.bytes;
  store_->remove(it->stored);
  entries_.erase(it);
}

void Outbox::evict_front(bool expired) {
  const Entry& e = entries_.front();
  if (expired) {
    ++stats_.expired_batches;
    stats_.expired_items += e.stored.items;
  } else {
    ++stats_.dropped_batches;
    stats_.dropped_items += e.stored.items;
  }
  erase(e.stored.batch);
}

Result<uint64_t> Outbox::submit(const Encode& encode, uint32_t items, Clock::time_point now) {
  uint64_t number = 0;
  std::string payload;
  std::string write_error;
  bool send = false;
  {
    std::lock_guard lock(mu_);
    ++stats_.submitted;
    auto n = store_->next_number();
    if (!n) {
      ++stats_.write_errors;
      return Error{"cannot number a batch: " + n.error()};
    }
    number = *n;
    payload = encode(number);
    if (payload.size() > config_.max_bytes) {
      ++stats_.dropped_batches;
      stats_.dropped_items += items;
      return Error{"batch " + std::to_string(number) + " is larger than the whole buffer"};
    }
    while (!entries_.empty() && (entries_.size() + 1 > config_.max_batches ||
                                 stats_.pending_bytes + payload.size() > config_.max_bytes)) {
      evict_front(false);
    }
    auto stored = store_->put(number, items, payload);
    if (stored) {
      entries_.push_back(Entry{*stored});
      stats_.pending_bytes += stored->bytes;
      if (in_flight_ < config_.window && now >= publish_paused_until_) {
        mark_sent(entries_.back(), now);
        send = true;
      }
    } else {
      ++stats_.write_errors;
      ++stats_.published;
      write_error = stored.error();
    }
  }
  if (!write_error.empty()) {
    bool accepted = publish_(number, payload);  // one try without a copy on disk
    return Error{"batch " + std::to_string(number) + " not buffered (" + write_error +
                 "); published once without a copy" + (accepted ? "" : ", refused")};
  }
  if (send) {
    bool accepted = publish_(number, payload);
    std::lock_guard lock(mu_);
    ++stats_.published;
    if (!accepted) {
      publish_paused_until_ = now + kPublishRetry;
      if (Entry* e = find(number); e != nullptr && e->in_flight) {
        e->in_flight = false;
        --in_flight_;
      }
    }
  }
  return number;
}

void Outbox::confirm(const std::vector<uint64_t>& batches) {
  std::lock_guard lock(mu_);
  for (uint64_t b : batches) {
    if (find(b) == nullptr) {
      ++stats_.unknown_acks;
      continue;
    }
    erase(b);
    ++stats_.confirmed;
  }
}

void Outbox::on_connected() {
  std::lock_guard lock(mu_);
  for (Entry& e : entries_) {
    e.in_flight = false;
    e.attempts = 0;  // a fresh connection: start the backoff again
  }
  in_flight_ = 0;
  publish_paused_until_ = {};
}

void Outbox::tick(Clock::time_point now) {
  std::vector<StoredBatch> to_send;
  {
    std::lock_guard lock(mu_);
    const int64_t oldest_allowed = now_ms() - config_.max_age.count();
    while (!entries_.empty() && entries_.front().stored.created_ms < oldest_allowed) {
      evict_front(true);
    }
    if (now < publish_paused_until_) return;
    // One pass from the oldest: time out what waited too long, then pick the
    // oldest unsent ones to fill the window. Stops as soon as both are done, so
    // a long backlog costs only about `window` steps per tick.
    std::size_t seen_in_flight = 0;
    std::vector<Entry*> timed_out;
    std::vector<Entry*> fresh;
    for (Entry& e : entries_) {
      if (e.in_flight) {
        ++seen_in_flight;
        if (e.due <= now) timed_out.push_back(&e);
      } else if (in_flight_ + fresh.size() < config_.window) {
        fresh.push_back(&e);
      }
      if (seen_in_flight == in_flight_ && in_flight_ + fresh.size() >= config_.window) break;
    }
    for (Entry* e : timed_out) {
      mark_sent(*e, now);
      to_send.push_back(e->stored);
    }
    for (Entry* e : fresh) {
      mark_sent(*e, now);
      to_send.push_back(e->stored);
    }
  }

  for (std::size_t i = 0; i < to_send.size(); ++i) {
    const StoredBatch& b = to_send[i];
    auto payload = store_->read(b);  // read() is safe without the mutex
    if (!payload) {
      std::lock_guard lock(mu_);
      if (Entry* e = find(b.batch)) {  // gone from disk: nothing left to send
        ++stats_.expired_batches;
        stats_.expired_items += e->stored.items;
        erase(b.batch);
      }
      continue;
    }
    bool accepted = publish_(b.batch, *payload);
    std::lock_guard lock(mu_);
    ++stats_.published;
    if (accepted) continue;
    // Refused: put this one and the rest back to unsent, and pause.
    publish_paused_until_ = now + kPublishRetry;
    for (std::size_t j = i; j < to_send.size(); ++j) {
      Entry* r = find(to_send[j].batch);
      if (r == nullptr || !r->in_flight) continue;
      r->in_flight = false;
      --r->attempts;
      --in_flight_;
    }
    break;
  }
}

OutboxStats Outbox::stats() const {
  std::lock_guard lock(mu_);
  OutboxStats s = stats_;
  s.pending = entries_.size();
  s.in_flight = in_flight_;
  s.oldest_age_ms = entries_.empty() ? 0
                                     : static_cast<uint64_t>(std::max<int64_t>(
                                           0, now_ms() - entries_.front().stored.created_ms));
  return s;
}

}  // namespace mutuo::delivery
