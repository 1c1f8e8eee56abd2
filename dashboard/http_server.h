// HttpServer: serves an ApiRouter over HTTP with CivetWeb. It serves no files:
// every request goes to the router.
//
// Threading: start() and stop() from one thread; the router is called from
// CivetWeb's worker threads.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "dashboard/api_router.h"

struct mg_context;
struct mg_connection;

namespace mutuo::dashboard {

class HttpServer {
 public:
  // Starts listening on `listen` (CivetWeb listening_ports syntax, e.g.
  // "127.0.0.1:8470"). `router` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                   const ApiRouter& router);
  ~HttpServer();  // stops if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The URL a local browser can open, e.g. "http://127.0.0.1:8470/".
  const std::string& url() const { return url_; }

  // Stops accepting requests and waits for the ones in flight.
  void stop();

 private:
  explicit HttpServer(const ApiRouter& router) : router_(router) {}
  static int handle(mg_connection* conn, void* self);

  const ApiRouter& router_;
  mg_context* ctx_ = nullptr;
  std::string url_;
};

}  // namespace mutuo::dashboard
