#include "dashboard/api_responses.h"

#include "dashboard/api_json.h"

namespace mutuo::dashboard::api {

using nlohmann::json;

HttpResponse json_response(int status, const json& body) {
  return {status,
          "application/json",
          body.dump(-1, ' ', false, json::error_handler_t::replace),
          {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}}};
}

HttpResponse error(int status, const std::string& message) {
  return json_response(status, error_json(message));
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = error(405, "method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

bool is_read(std::string_view method) { return method == "GET" || method == "HEAD"; }

std::optional<json> json_body(const HttpRequest& req, HttpResponse* refusal) {
  if (req.body.size() > kMaxBody) {
    *refusal = error(413, "request body larger than 64 KiB");
    return std::nullopt;
  }
  if (!req.content_type.starts_with("application/json")) {
    *refusal = error(415, "send the request body as application/json");
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *refusal = error(400, "the request body is not a JSON object");
    return std::nullopt;
  }
  return j;
}

}  // namespace mutuo::dashboard::api
