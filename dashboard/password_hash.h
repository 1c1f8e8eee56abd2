// Password hashing for dashboard users: PBKDF2-HMAC-SHA256 (OpenSSL) with a
// 128-bit random salt per password, stored as one self-describing string
//   pbkdf2-sha256$<iterations>$<salt, base64url>$<hash, base64url>
// so the cost can be raised later without invalidating stored hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mutuo::dashboard {

// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
inline constexpr uint32_t kPasswordIterations = 600000;

// A fresh salted hash of `password`. `iterations` below kPasswordIterations is
// for tests only.
std::string hash_password(std::string_view password, uint32_t iterations = kPasswordIterations);

// True when `password` matches `encoded` (a hash_password result). A malformed
// `encoded` never matches. Takes as long as the stored iteration count says.
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace mutuo::dashboard
