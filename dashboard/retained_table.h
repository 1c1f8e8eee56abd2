// RetainedTable<T>: the current value of every retained topic of one kind (alerts,
// checks), by id, as the dashboard last received it from the broker.
//
// Threading: every method may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mutuo::dashboard {

template <class T>
class RetainedTable {
 public:
  void set(const std::string& id, T value) {
    std::lock_guard lock(mu_);
    items_.insert_or_assign(id, std::move(value));
  }

  // True when `id` was present.
  bool erase(std::string_view id) {
    std::lock_guard lock(mu_);
    auto it = items_.find(id);
    if (it == items_.end()) return false;
    items_.erase(it);
    return true;
  }

  std::optional<T> get(std::string_view id) const {
    std::lock_guard lock(mu_);
    auto it = items_.find(id);
    if (it == items_.end()) return std::nullopt;
    return it->second;
  }

  // Every item, sorted by id.
  std::vector<std::pair<std::string, T>> snapshot() const {
    std::lock_guard lock(mu_);
    return {items_.begin(), items_.end()};
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, T, std::less<>> items_;  // guarded by mu_
};

}  // namespace mutuo::dashboard
