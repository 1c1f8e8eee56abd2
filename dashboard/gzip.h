// gzip for cached API answers (the mesh matrix), so a 200-peer matrix crosses
// the network in a fraction of its bytes. Compressed once per rebuild, served
// to every client that sends "Accept-Encoding: gzip".
#pragma once

#include <string>
#include <string_view>

namespace mutuo::dashboard {

// `data` in the gzip format (RFC 1952) at zlib level `level` (1 fast .. 9 small),
// or "" when zlib fails.
std::string gzip(std::string_view data, int level = 6);

// Whether an Accept-Encoding header allows gzip (not refused with q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace mutuo::dashboard
