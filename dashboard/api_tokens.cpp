#include "dashboard/api_tokens.h"

#include <openssl/evp.h>

#include "dashboard/accounts.h"
#include "dashboard/random_token.h"

namespace mutuo::dashboard {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

Result<std::pair<ApiTokenRecord, std::string>> ApiTokens::create(const std::string& name,
                                                                 Role role,
                                                                 const std::string& created_by,
                                                                 int64_t now_ms) {
  if (auto why = invalid_user_name(name)) return Error{"token " + *why};
  std::lock_guard lock(mu_);
  for (const auto& t : store_->tokens()) {
    if (t.name == name) return Error{"a token named '" + name + "' exists"};
  }
  std::string token = kApiTokenPrefix + random_token();
  ApiTokenRecord record{name, role, sha256_hex(token), now_ms, created_by};
  if (auto put = store_->put_token(record); !put) return Error{put.error()};
  return std::make_pair(std::move(record), std::move(token));
}

std::optional<ApiTokenRecord> ApiTokens::find(const std::string& token) const {
  if (!token.starts_with(kApiTokenPrefix)) return std::nullopt;
  std::string hash = sha256_hex(token);
  std::optional<ApiTokenRecord> found;
  for (auto& t : store_->tokens()) {
    if (secrets_equal(t.sha256, hash)) found = std::move(t);
  }
  return found;
}

Result<bool> ApiTokens::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  bool known = false;
  for (const auto& t : store_->tokens()) known = known || t.name == name;
  if (!known) return Error{"no token named '" + name + "'"};
  return store_->delete_token(name);
}

}  // namespace mutuo::dashboard
