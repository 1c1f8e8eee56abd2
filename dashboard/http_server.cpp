#include "dashboard/http_server.h"

#include <civetweb.h>
#include <spdlog/spdlog.h>

#include <string_view>

namespace mutuo::dashboard {

namespace {

constexpr const char* kWorkerThreads = "8";
constexpr const char* kRequestTimeoutMs = "10000";
constexpr std::size_t kMaxRequestBody = 64 * 1024;

int log_civetweb(const mg_connection*, const char* message) {
  spdlog::warn("http: {}", message);
  return 1;  // handled: CivetWeb writes nothing itself
}

// The host a local browser should use for the first listening address: the
// wildcard addresses are reachable through loopback.
std::string browser_host(std::string_view listen) {
  std::string_view first = listen.substr(0, listen.find(','));
  std::string_view host;
  if (auto bracket = first.find(']'); bracket != std::string_view::npos) {
    host = first.substr(0, bracket + 1);
  } else if (auto colon = first.rfind(':'); colon != std::string_view::npos) {
    host = first.substr(0, colon);
  }
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "[::]") return "[::1]";
  return std::string(host);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                      const ApiRouter& router) {
  std::unique_ptr<HttpServer> server(new HttpServer(router));
  const char* options[] = {"listening_ports",    listen.c_str(),    "num_threads", kWorkerThreads,
                           "request_timeout_ms", kRequestTimeoutMs, nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = log_civetweb;
  server->ctx_ = mg_start(&callbacks, nullptr, options);
  if (server->ctx_ == nullptr) return Error{"cannot listen on " + listen};
  mg_set_request_handler(server->ctx_, "/", &HttpServer::handle, server.get());

  mg_server_port port{};
  if (mg_get_server_ports(server->ctx_, 1, &port) < 1) {
    return Error{"no listening port for " + listen};
  }
  server->url_ = "http://" + browser_host(listen) + ":" + std::to_string(port.port) + "/";
  return server;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (ctx_ == nullptr) return;
  mg_stop(ctx_);
  ctx_ = nullptr;
}

int HttpServer::handle(mg_connection* conn, void* self) {
  const auto& server = *static_cast<HttpServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  auto header = [conn](const char* name) {
    const char* v = mg_get_header(conn, name);
    return std::string(v ? v : "");
  };
  HttpRequest req;
  req.method = info->request_method ? info->request_method : "";
  req.path = info->local_uri ? info->local_uri : "";
  req.query = info->query_string ? info->query_string : "";
  req.remote_addr = info->remote_addr;
  req.cookie = header("Cookie");
  req.csrf_token = header("X-CSRF-Token");
  req.content_type = header("Content-Type");
  req.origin = header("Origin");
  req.host = header("Host");
  req.authorization = header("Authorization");
  // Read at most one byte past the router's limit, so it can refuse big bodies.
  char buf[4096];
  while (req.body.size() <= kMaxRequestBody) {
    int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) break;
    req.body.append(buf, static_cast<std::size_t>(n));
  }
  const std::string& method = req.method;

  HttpResponse r;
  try {
    r = server.router_.handle(req);
  } catch (const std::exception& e) {
    // A bug must cost one request, not the process.
    spdlog::error("http: {} {} failed: {}", req.method, req.path, e.what());
    r = {500, "application/json", R"({"error":"internal error"})", {}};
  }
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(r.body.size()).c_str(), -1);
  for (const auto& [name, value] : r.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (method != "HEAD") mg_write(conn, r.body.data(), r.body.size());
  return r.status;
}

}  // namespace mutuo::dashboard
