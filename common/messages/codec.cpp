#include "common/messages/codec.h"

#include <arpa/inet.h>

#include <cmath>

#include "common/ids.h"

namespace mutuo::codec {

namespace {

[[noreturn]] void fail(const char* what, const char* name) {
  throw DecodeError(std::string(what) + " '" + name + "'");
}

bool valid_label_key(std::string_view k) {
  if (k.empty() || k.size() > 32) return false;
  for (char c : k) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::size_t count_members(const json& j) {
  std::size_t n = j.is_object() ? j.size() : 0;
  for (const json& v : j) {  // an object's values or an array's items
    if (v.is_structured()) n += count_members(v);
  }
  return n;
}

const json& required(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) fail("missing field", name);
  return *it;
}

const json* optional(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

std::string get_string(const json& obj, const char* name, std::size_t max_len) {
  const json& f = required(obj, name);
  if (!f.is_string()) fail("expected a string for", name);
  const auto& s = f.get_ref<const std::string&>();
  if (s.size() > max_len) fail("string too long for", name);
  if (!printable(s)) fail("control characters in", name);
  return s;
}

std::string get_id(const json& obj, const char* name) {
  const json& f = required(obj, name);
  if (!f.is_string() || !valid_id(f.get_ref<const std::string&>())) fail("invalid id in", name);
  return f.get<std::string>();
}

uint64_t get_uint(const json& obj, const char* name, uint64_t max) {
  const json& f = required(obj, name);
  if (!f.is_number_integer()) fail("expected an integer for", name);
  if (f.is_number_unsigned()) {
    uint64_t u = f.get<uint64_t>();
    if (u > max) fail("out of range:", name);
    return u;
  }
  int64_t i = f.get<int64_t>();
  if (i < 0 || static_cast<uint64_t>(i) > max) fail("out of range:", name);
  return static_cast<uint64_t>(i);
}

int64_t get_timestamp(const json& obj, const char* name) {
  uint64_t ts = get_uint(obj, name, static_cast<uint64_t>(kMaxTimestampMs));
  if (ts == 0) fail("out of range:", name);
  return static_cast<int64_t>(ts);
}

double get_number(const json& obj, const char* name, double min, double max) {
  const json& f = required(obj, name);
  if (!f.is_number()) fail("expected a number for", name);
  double d = f.get<double>();
  if (!std::isfinite(d) || d < min || d > max) fail("out of range:", name);
  return d;
}

bool get_bool(const json& obj, const char* name) {
  const json& f = required(obj, name);
  if (!f.is_boolean()) fail("expected a boolean for", name);
  return f.get<bool>();
}

std::vector<std::string> get_strings(const json& obj, const char* name, std::size_t max_items,
                                     std::size_t max_len) {
  const json& f = required(obj, name);
  if (!f.is_array()) fail("expected an array for", name);
  if (f.size() > max_items) fail("too many items in", name);
  std::vector<std::string> out;
  out.reserve(f.size());
  for (const json& item : f) {
    if (!item.is_string()) fail("expected strings in", name);
    const auto& s = item.get_ref<const std::string&>();
    if (s.size() > max_len || !printable(s)) fail("invalid string in", name);
    out.push_back(s);
  }
  return out;
}

bool valid_addr(std::string_view addr) {
  if (addr.size() >= INET6_ADDRSTRLEN) return false;
  std::string s(addr);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::vector<std::string> get_addrs(const json& obj, const char* name) {
  auto addrs = get_strings(obj, name, 16, INET6_ADDRSTRLEN);
  for (const auto& a : addrs) {
    if (!valid_addr(a)) fail("invalid address in", name);
  }
  return addrs;
}

Labels get_labels(const json& obj, const char* name) {
  Labels labels;
  const json* f = optional(obj, name);
  if (f == nullptr) return labels;
  if (!f->is_object()) fail("expected an object for", name);
  if (f->size() > 16) fail("too many items in", name);
  for (const auto& [k, v] : f->items()) {
    if (!valid_label_key(k)) fail("invalid label key in", name);
    if (!v.is_string()) fail("expected string label values in", name);
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 64 || !printable(s)) fail("invalid label value in", name);
    labels.emplace(k, s);
  }
  return labels;
}

}  // namespace mutuo::codec
