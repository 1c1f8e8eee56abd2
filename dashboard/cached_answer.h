// CachedAnswer: one API answer built once and sent to many requests (the mesh
// matrix, a chart): its JSON, the same gzipped, and an ETag naming its bytes.
// Building it (JSON, gzip) is the expensive part; sending it is a copy of a
// shared pointer. The caller checks who may see it on every request: a cached
// answer carries no authority of its own.
//
// Threading: a CachedAnswer is immutable once made; share it freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dashboard/api_router.h"

namespace mutuo::dashboard {

struct CachedAnswer {
  std::string body;
  std::string gzipped;  // body in gzip; empty when that would not be smaller
  std::string etag;     // a strong validator of body, quoted; the gzip bytes add "-gz"
  int64_t built_ms = 0;
};

// Makes the answer for `body` (compressed at zlib `gzip_level`, 1 fast .. 9
// small) at `built_ms`.
std::shared_ptr<const CachedAnswer> make_cached_answer(std::string body, int gzip_level,
                                                       int64_t built_ms);

// The HTTP answer for `request`: 304 without a body when its If-None-Match
// names `answer`'s ETag, else 200 with the gzip bytes when the client accepts
// gzip, else the plain body. Shared, not copied (HttpResponse::shared_body).
// Headers: Cache-Control "private, no-cache" (a browser may keep it but asks
// again each time, cheaply), ETag, Vary: Accept-Encoding.
HttpResponse cached_response(const HttpRequest& request,
                             const std::shared_ptr<const CachedAnswer>& answer);

// Whether an If-None-Match header names `etag` (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace mutuo::dashboard
