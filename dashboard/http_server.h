// HttpServer: serves an ApiRouter over HTTP with CivetWeb. It serves no files:
// every request goes to the router, except the WebSocket at /api/live, which
// joins the LiveFeed when ApiRouter::live_session() accepts its cookie.
// Each open WebSocket holds one CivetWeb worker thread, so the number of live
// clients is capped by the feed (LiveFeed::Limits::max_clients) well below the
// thread count; a refused browser falls back to polling.
//
// Threading: start() and stop() from one thread; the router is called from
// CivetWeb's worker threads.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "dashboard/api_router.h"
#include "dashboard/live_feed.h"

struct mg_context;
struct mg_connection;

namespace mutuo::dashboard {

class HttpServer {
 public:
  // Starts listening on `listen` (CivetWeb listening_ports syntax, e.g.
  // "127.0.0.1:8470"). `router` and `feed` (may be null: no WebSocket) must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                   const ApiRouter& router,
                                                   LiveFeed* feed = nullptr);
  ~HttpServer();  // stops if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The URL a local browser can open, e.g. "http://127.0.0.1:8470/".
  const std::string& url() const { return url_; }

  // Stops accepting requests and waits for the ones in flight.
  void stop();

 private:
  HttpServer(const ApiRouter& router, LiveFeed* feed) : router_(router), feed_(feed) {}
  static int handle(mg_connection* conn, void* self);
  static int ws_connect(const mg_connection* conn, void* self);
  static void ws_ready(mg_connection* conn, void* self);
  static int ws_data(mg_connection* conn, int bits, char* data, std::size_t len, void* self);
  static void ws_close(const mg_connection* conn, void* self);

  const ApiRouter& router_;
  LiveFeed* feed_;
  mg_context* ctx_ = nullptr;
  std::string url_;
};

}  // namespace mutuo::dashboard
