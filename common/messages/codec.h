// Helpers shared by every message codec in this folder: field access with type,
// range and size checks. Inside a decoder they throw DecodeError; decode_payload()
// turns that (and any JSON error) into a Result, so no exception leaves a decoder.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mutuo::codec {

using nlohmann::json;
using Labels = std::map<std::string, std::string>;

inline constexpr int kVersion = 1;
inline constexpr std::size_t kMaxDepth = 16;  // no message nests deeper than this
inline constexpr int64_t kMaxTimestampMs = int64_t{1} << 53;

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Field readers. Each throws DecodeError("... 'name' ...") when the field is
// missing (required ones), of the wrong type or out of range.
const json& required(const json& obj, const char* name);
const json* optional(const json& obj, const char* name);
std::string get_string(const json& obj, const char* name, std::size_t max_len);
std::string get_id(const json& obj, const char* name);
uint64_t get_uint(const json& obj, const char* name, uint64_t max);
int64_t get_timestamp(const json& obj, const char* name);
double get_number(const json& obj, const char* name, double min, double max);
bool get_bool(const json& obj, const char* name);
std::vector<std::string> get_strings(const json& obj, const char* name, std::size_t max_items,
                                     std::size_t max_len);
std::vector<std::string> get_addrs(const json& obj, const char* name);
Labels get_labels(const json& obj, const char* name);

// True when `addr` is a literal IPv4 or IPv6 address.
bool valid_addr(std::string_view addr);

// Members in `j` and every object and array inside it (one per key in each
// object). nlohmann keeps one member per key (the last), so fewer members than
// the ':' outside strings in the text means a key was repeated.
std::size_t count_members(const json& j);

// Parses `payload` (at most `max_bytes`, nesting at most kMaxDepth), checks it is
// an object with "v": 1, and hands it to `read`, which builds the message.
//
// Duplicate keys (docs/hardening.md): a payload in which any object, at any
// depth, names the same member twice is refused whole with the error
// "duplicate key" (the receiver counts it under reason "schema"), whatever the
// values and whether or not the member is one the decoder reads. Checked after
// "malformed JSON" and "not a JSON object", before any field. Every decoder of
// bus messages must give the same verdict: a fast path that skips unknown
// members must refuse (or fall back to this one) when one of them repeats.
template <class T, class Read>
Result<T> decode_payload(std::string_view payload, std::size_t max_bytes, Read&& read) {
  if (payload.size() > max_bytes) return Error{"payload too large"};
  std::size_t depth = 0, colons = 0;
  bool in_string = false, escaped = false;
  for (char c : payload) {  // bound nesting before the parser and destructor recurse
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == ':') {
      ++colons;  // in valid JSON, exactly one per object member
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return Error{"nesting too deep"};
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error{"malformed JSON"};
  if (!doc.is_object()) return Error{"not a JSON object"};
  if (count_members(doc) != colons) return Error{"duplicate key"};
  try {
    const json* v = optional(doc, "v");
    if (v == nullptr) return Error{"missing field 'v'"};
    if (!v->is_number_integer() || v->get<int64_t>() != kVersion) {
      return Error{"unsupported version"};
    }
    return read(doc);
  } catch (const DecodeError& e) {
    return Error{e.what()};
  } catch (const std::exception& e) {
    return Error{std::string("invalid message: ") + e.what()};
  }
}

}  // namespace mutuo::codec
