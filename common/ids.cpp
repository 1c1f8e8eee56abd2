#include "common/ids.h"

namespace mutuo {

namespace {
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength || !lower_alnum(id.front())) return false;
  for (char c : id) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace mutuo
