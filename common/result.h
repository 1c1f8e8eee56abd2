// Result<T>: a value or the reason there is none. Decoders and other module
// boundaries return it instead of throwing: a bad message from the network is an
// expected case, not an exception.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mutuo {

struct Error {
  std::string reason;  // short, stable, counted by (e.g. "missing field 'agent'")
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}     // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const std::string& error() const { return std::get<Error>(v_).reason; }

 private:
  std::variant<T, Error> v_;
};

}  // namespace mutuo
