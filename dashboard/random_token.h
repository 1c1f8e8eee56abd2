// Random secrets for the dashboard: agent tokens, session ids, CSRF tokens and
// the one-time setup token, all from OpenSSL's CSPRNG.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mutuo::dashboard {

// 256 bits: agent tokens and session ids (the issue asks for at least 128).
inline constexpr std::size_t kTokenBytes = 32;

// `bytes` random bytes as unpadded base64url (43 characters for 32 bytes), so a
// token is safe in a shell word, a cookie, a URL fragment and a JSON string.
// Aborts the program if the CSPRNG fails: running on without randomness would be
// worse than stopping.
std::string random_token(std::size_t bytes = kTokenBytes);

// Unpadded base64url of `data`.
std::string base64url(std::string_view data);

// Constant-time equality of two secrets (the length is not secret).
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace mutuo::dashboard
