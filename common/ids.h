// Agent and check identifiers. Ids are [a-z0-9][a-z0-9-]{0,62}: they appear in
// MQTT topics, usernames and store keys, so none may contain '+', '#', '/' or NUL.
#pragma once

#include <string_view>

namespace mutuo {

inline constexpr std::size_t kMaxIdLength = 63;

// True when `id` is a well-formed agent or check id.
bool valid_id(std::string_view id);

}  // namespace mutuo
