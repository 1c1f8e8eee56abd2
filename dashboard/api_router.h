// ApiRouter: maps an HTTP request (method and path) to the dashboard's answer.
// It knows the routes and their JSON, not the web server, so tests call handle()
// directly and http_server.cpp only copies the answer onto the wire.
//
// Routes: GET / (the embedded page), GET /api/agents, GET /api/matrix,
// GET /healthz. HEAD is answered like GET (the server drops the body). Any other
// method on these paths: 405; any other path: 404. Errors are JSON.
//
// Threading: handle() may be called from many threads at once, provided the
// sources it was given may be.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dashboard/presence_table.h"
#include "dashboard/store_view.h"

namespace mutuo::dashboard {

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
};

struct ApiSources {
  const PresenceTable* presence = nullptr;     // REQUIRES: non-null, outlives the router
  std::function<StoreView::Snapshot()> store;  // the store's latest results
  std::function<bool()> broker_connected;
  std::function<int64_t()> now_ms;  // wall clock, ms since the Unix epoch
  std::string_view index_html;      // REQUIRES: outlives the router
};

class ApiRouter {
 public:
  explicit ApiRouter(ApiSources sources);

  // `path` is the request path without the query string.
  HttpResponse handle(std::string_view method, std::string_view path) const;

 private:
  ApiSources sources_;
};

}  // namespace mutuo::dashboard
