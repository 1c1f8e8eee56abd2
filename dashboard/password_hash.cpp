#include "dashboard/password_hash.h"

#include <openssl/evp.h>

#include <charconv>
#include <optional>
#include <vector>

#include "dashboard/random_token.h"

namespace mutuo::dashboard {

namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr uint32_t kMaxIterations = 10'000'000;  // refuse absurd stored costs

std::optional<std::string> pbkdf2(std::string_view password, std::string_view salt,
                                  uint32_t iterations) {
  std::string out(kHashBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

std::string hash_password(std::string_view password, uint32_t iterations) {
  if (iterations == 0) iterations = 1;
  std::string salt_b64 = random_token(kSaltBytes);
  auto salt = base64url_decode(salt_b64);
  auto hash = pbkdf2(password, *salt, iterations);
  if (!hash) return {};  // never matches anything
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + salt_b64 + "$" +
         base64url(*hash);
}

bool verify_password(std::string_view password, std::string_view encoded) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 4) {
    std::size_t end = encoded.find('$', start);
    parts.push_back(encoded.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 4 || parts[0] != kScheme) return false;
  uint32_t iterations = 0;
  auto [ptr, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || ptr != parts[1].data() + parts[1].size() || iterations == 0 ||
      iterations > kMaxIterations) {
    return false;
  }
  auto salt = base64url_decode(parts[2]);
  auto expected = base64url_decode(parts[3]);
  if (!salt || !expected || salt->empty() || expected->size() != kHashBytes) return false;
  auto actual = pbkdf2(password, *salt, iterations);
  return actual && secrets_equal(*actual, *expected);
}

}  // namespace mutuo::dashboard
