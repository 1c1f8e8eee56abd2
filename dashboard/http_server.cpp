#include "dashboard/http_server.h"

#include <civetweb.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>

namespace mutuo::dashboard {

namespace {

// Each open WebSocket holds a worker: room for LiveFeed's 16 plus the requests.
constexpr const char* kWorkerThreads = "32";
// A live socket whose browser stops answering pings is closed after a few.
constexpr const char* kWebSocketTimeoutMs = "10000";
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
                                                      const ApiRouter& router, LiveFeed* feed) {
  std::unique_ptr<HttpServer> server(new HttpServer(router, feed));
  const char* options[] = {"listening_ports",
                           listen.c_str(),
                           "num_threads",
                           kWorkerThreads,
                           "request_timeout_ms",
                           kRequestTimeoutMs,
                           "websocket_timeout_ms",
                           kWebSocketTimeoutMs,
                           "enable_websocket_ping_pong",
                           "yes",
                           nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = log_civetweb;
  server->ctx_ = mg_start(&callbacks, nullptr, options);
  if (server->ctx_ == nullptr) return Error{"cannot listen on " + listen};
  mg_set_request_handler(server->ctx_, "/", &HttpServer::handle, server.get());
  if (feed != nullptr) {
    mg_set_websocket_handler(server->ctx_, "/api/live", &HttpServer::ws_connect,
                             &HttpServer::ws_ready, &HttpServer::ws_data, &HttpServer::ws_close,
                             server.get());
  }

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

namespace {

// What a WebSocket connection carries between its callbacks.
struct LiveConnection {
  std::string session_id;
  std::optional<uint64_t> client;  // set once the feed took it
};

void send_close(mg_connection* conn, uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason.substr(0, 120));
  mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload.data(), payload.size());
}

}  // namespace

int HttpServer::ws_connect(const mg_connection* conn, void* self) {
  const auto& server = *static_cast<HttpServer*>(self);
  HttpRequest req;
  auto header = [conn](const char* name) {
    const char* v = mg_get_header(conn, name);
    return std::string(v ? v : "");
  };
  req.method = "GET";
  req.path = "/api/live";
  req.cookie = header("Cookie");
  req.origin = header("Origin");
  req.host = header("Host");
  auto session = server.router_.live_session(req);
  if (!session) return 1;  // refused before the handshake: the browser sees an error
  mg_set_user_connection_data(conn, new LiveConnection{*session, std::nullopt});
  return 0;
}

void HttpServer::ws_ready(mg_connection* conn, void* self) {
  auto& server = *static_cast<HttpServer*>(self);
  auto* live = static_cast<LiveConnection*>(mg_get_user_connection_data(conn));
  if (live == nullptr) return;
  const ApiRouter* router = &server.router_;
  std::string session_id = live->session_id;
  live->client = server.feed_->add(
      [conn](std::string_view frame) {
        return mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, frame.data(), frame.size()) > 0;
      },
      [conn](std::string_view reason) { send_close(conn, 1013, reason); },
      [router, session_id] { return router->session_alive(session_id); }, R"({"type":"hello"})");
  if (!live->client) send_close(conn, 1013, "too many live clients: polling instead");
}

int HttpServer::ws_data(mg_connection*, int bits, char*, std::size_t, void*) {
  // The page sends nothing but keepalives; a close frame ends the connection.
  return (bits & 0x0f) == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE ? 0 : 1;
}

void HttpServer::ws_close(const mg_connection* conn, void* self) {
  auto& server = *static_cast<HttpServer*>(self);
  auto* live = static_cast<LiveConnection*>(mg_get_user_connection_data(conn));
  if (live == nullptr) return;
  if (live->client) server.feed_->remove(*live->client);  // no write after this
  mg_set_user_connection_data(conn, nullptr);
  delete live;
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
  req.accept_encoding = header("Accept-Encoding");
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
    r = server.router_.handle_shared(req);
  } catch (const std::exception& e) {
    // A bug must cost one request, not the process.
    spdlog::error("http: {} {} failed: {}", req.method, req.path, e.what());
    r = {500, "application/json", R"({"error":"internal error"})", {}};
  }
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  const std::string& body = r.payload();
  mg_response_header_add(conn, "Content-Length", std::to_string(body.size()).c_str(), -1);
  for (const auto& [name, value] : r.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (method != "HEAD") mg_write(conn, body.data(), body.size());
  return r.status;
}

}  // namespace mutuo::dashboard
