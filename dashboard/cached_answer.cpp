#include "dashboard/cached_answer.h"

#include <cstdio>
#include <functional>

#include "dashboard/gzip.h"

namespace mutuo::dashboard {

std::shared_ptr<const CachedAnswer> make_cached_answer(std::string body, int gzip_level,
                                                       int64_t built_ms) {
  auto a = std::make_shared<CachedAnswer>();
  a->body = std::move(body);
  a->gzipped = gzip(a->body, gzip_level);
  if (a->gzipped.size() >= a->body.size()) a->gzipped.clear();
  // 64 bits of hash and the length: a collision would need the same length too.
  char tag[48];
  std::snprintf(tag, sizeof tag, "\"%zx-%016zx\"", a->body.size(),
                std::hash<std::string_view>{}(a->body));
  a->etag = tag;
  a->built_ms = built_ms;
  return a;
}

bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto end = header.find(',');
    std::string_view item = header.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison, as RFC 9110 asks
    if (item == "*" || item == etag) return true;
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return false;
}

HttpResponse cached_response(const HttpRequest& request,
                             const std::shared_ptr<const CachedAnswer>& answer) {
  const bool gzipped = !answer->gzipped.empty() && accepts_gzip(request.accept_encoding);
  // Each encoding is its own representation, so it gets its own tag.
  std::string etag = answer->etag;
  if (gzipped) etag.insert(etag.size() - 1, "-gz");
  HttpResponse r{200,
                 "application/json",
                 "",
                 {{"Cache-Control", "private, no-cache"},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Vary", "Accept-Encoding"},
                  {"ETag", etag}}};
  if (!request.if_none_match.empty() && etag_matches(request.if_none_match, etag)) {
    r.status = 304;
    return r;
  }
  // Aliasing pointers: they keep the whole answer alive and point at one part.
  if (gzipped) {
    r.shared_body = std::shared_ptr<const std::string>(answer, &answer->gzipped);
    r.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    r.shared_body = std::shared_ptr<const std::string>(answer, &answer->body);
  }
  return r;
}

}  // namespace mutuo::dashboard
