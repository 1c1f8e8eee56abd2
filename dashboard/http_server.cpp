#include "dashboard/http_server.h"

#include <civetweb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <string_view>

namespace mutuo::dashboard {

namespace {

// Each open WebSocket holds a worker, and so does a kept-alive connection
// between its requests (at most kKeepAliveMs): room for LiveFeed's 16 plus a
// few browsers' six connections each.
constexpr const char* kWorkerThreads = "48";
// Keep-alive halves the cost of a small answer (no connect and close per
// request); an idle connection gives its worker back after this.
constexpr const char* kKeepAliveMs = "500";
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

// An answer whose head and body fit in this many bytes is sent in one write;
// a larger body goes in a second one. Small, because every worker thread keeps
// its buffer for good: when bodies up to 256 KiB were copied, each of the 48
// workers came to hold a copy of the largest matrix it had sent (6.4 MiB after
// 20 minutes of bench/soak.py, growing as more workers served one).
constexpr std::size_t kCoalesceMax = 16 * 1024;

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

// The Date header's value for this second, formatted once per second per thread.
const std::string& http_date() {
  thread_local std::time_t formatted_for = -1;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != formatted_for) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text.assign(buf, n);
    formatted_for = now;
  }
  return text;
}

bool has_token(std::string_view header, std::string_view token) {
  while (!header.empty()) {
    auto end = header.find(',');
    std::string_view item = header.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return true;
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return false;
}

// CivetWeb's own rule (keep-alive is on): HTTP/1.1 keeps the connection unless
// the client says close; HTTP/1.0 only when it asks for keep-alive.
bool wants_keep_alive(const mg_request_info* info, std::string_view connection) {
  if (has_token(connection, "close")) return false;
  if (has_token(connection, "keep-alive")) return true;
  return info->http_version != nullptr && std::string_view(info->http_version) == "1.1";
}

// The status line and headers of `r`, whose body is `length` bytes, to `out`.
void append_head(std::string& out, const HttpResponse& r, std::size_t length, bool keep_alive) {
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out.append(reason_phrase(r.status)).append("\r\nContent-Type: ").append(r.content_type);
  // A 304 has no body, and its length would have to be the full answer's.
  if (r.status != 304) out.append("\r\nContent-Length: ").append(std::to_string(length));
  for (const auto& [name, value] : r.headers) {
    out.append("\r\n").append(name).append(": ").append(value);
  }
  out.append("\r\nDate: ").append(http_date());
  out.append(keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
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
                           "enable_keep_alive",
                           "yes",
                           "keep_alive_timeout_ms",
                           kKeepAliveMs,
                           "tcp_nodelay",  // the answer leaves at once, not after an ACK
                           "1",
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
  req.if_none_match = header("If-None-Match");
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
  const std::string& body = r.payload();
  // A body cut short above leaves unread bytes: that connection cannot be reused.
  bool keep_alive =
      req.body.size() <= kMaxRequestBody && wants_keep_alive(info, header("Connection"));
  if (!keep_alive) mg_disable_connection_keep_alive(conn);
  // Head and body in one send when the body is small (most API answers): one
  // segment, one wakeup of the client, instead of two.
  thread_local std::string out;
  out.clear();
  out.reserve(kCoalesceMax);  // once per worker; grows only for a head larger than this
  append_head(out, r, body.size(), keep_alive);
  if (method == "HEAD" || r.status == 304) {
    mg_write(conn, out.data(), out.size());
  } else if (out.size() + body.size() <= kCoalesceMax) {
    out.append(body);
    mg_write(conn, out.data(), out.size());
  } else {
    mg_write(conn, out.data(), out.size());
    mg_write(conn, body.data(), body.size());
  }
  return r.status;
}

}  // namespace mutuo::dashboard
