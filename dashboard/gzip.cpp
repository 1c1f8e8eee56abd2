#include "dashboard/gzip.h"

#include <zlib.h>

namespace mutuo::dashboard {

std::string gzip(std::string_view data, int level) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  std::size_t written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return "";
  out.resize(written);
  return out;
}

bool accepts_gzip(std::string_view header) {
  while (!header.empty()) {
    auto end = header.find(',');
    std::string_view item = header.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    std::string_view coding = item.substr(0, item.find(';'));
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding == "gzip" || coding == "*") {
      auto q = item.find("q=");
      if (q == std::string_view::npos) return true;
      std::string_view value = item.substr(q + 2);
      return !(value.starts_with("0") && value.find_first_not_of("0.") == std::string_view::npos);
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return false;
}

}  // namespace mutuo::dashboard
