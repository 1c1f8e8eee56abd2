// JSON answers and request bodies, shared by the API's route handlers
// (api_router.cpp, api_admin_routes.cpp) so every route answers alike.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dashboard/api_router.h"

namespace mutuo::dashboard::api {

// Request bodies larger than this are refused with 413.
inline constexpr std::size_t kMaxBody = 64 * 1024;

// `body` as JSON, never cached, never sniffed. Invalid UTF-8 (e.g. a
// percent-encoded path echoed in an error) is replaced rather than thrown out
// of the web server's thread.
HttpResponse json_response(int status, const nlohmann::json& body);

// {"error": message} with `status`.
HttpResponse error(int status, const std::string& message);

// 405 with the Allow header listing `allow`.
HttpResponse method_not_allowed(const char* allow);

bool is_read(std::string_view method);

// The request body as a JSON object, or nullopt with `*refusal` set to the
// answer refusing it (413 too large, 415 not JSON, 400 not an object).
std::optional<nlohmann::json> json_body(const HttpRequest& req, HttpResponse* refusal);

}  // namespace mutuo::dashboard::api
