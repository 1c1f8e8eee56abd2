// AdminRoutes: the API of what operators manage besides agents and checks
// (docs/openapi.yaml, docs/operating.md "Config as code"):
//   any user: GET /api/silences, GET /api/silences/{id}, GET /api/channels,
//             GET /api/channels/{id} (a channel's URL masked for non-admins),
//             GET /api/alerts/history?subject=&since=&until=&limit=
//   admin:    POST /api/silences, PUT/DELETE /api/silences/{id},
//             POST /api/channels, PUT/DELETE /api/channels/{id},
//             PATCH /api/registry/{id} (display name and labels in place)
// Silences and channels live on the bus as retained messages the dashboard
// publishes (mutuo/v1/silences/{id}, mutuo/v1/channels/{id}); this keeps their
// current values as received (on_message) and answers from them. The alert
// history is the receiver's, read through AlertHistoryView.
//
// ApiRouter does authentication, CSRF and the admin check (needs_admin()) and
// then hands the request to handle(). Errors are {"error": message}: 400 bad
// input, 404 unknown id, 405 wrong method, 409 exists, 413/415 body, 502 the
// broker did not take it, 503 not available (no bus, no history).
//
// Threading: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/messages/channel.h"
#include "common/messages/silence.h"
#include "common/mqtt_session.h"
#include "dashboard/alert_history_view.h"
#include "dashboard/registrar.h"
#include "dashboard/retained_table.h"

namespace mutuo::dashboard {

struct HttpRequest;
struct HttpResponse;

struct AdminSources {
  // Publishes retained QoS 1; false when the broker did not take it (null: 503).
  std::function<bool(const MqttMessage&)> publish;
  std::function<bool()> broker_connected;  // null: always
  std::function<int64_t()> now_ms;         // REQUIRES: non-null
  AlertHistoryView* history = nullptr;     // null: the history answers 503
  Registrar* registrar = nullptr;          // null: PATCH /api/registry answers 503
};

// The topics on_message() wants (subscribe them with the dashboard's account).
inline constexpr const char* kAdminTopics[] = {kAllSilences, kAllChannels};

class AdminRoutes {
 public:
  explicit AdminRoutes(AdminSources sources);

  // Whether (method, path) is one of these routes (any method for the
  // silences, channels and history paths; PATCH only for /api/registry/{id}).
  static bool owns(std::string_view method, std::string_view path);
  // Whether the request changes something (admins only).
  static bool needs_admin(std::string_view method);

  // REQUIRES: owns(), and the caller authenticated (`admin`: an admin session
  // or API token).
  HttpResponse handle(const HttpRequest& req, bool admin) const;

  // A retained silences/{id} or channels/{id} from the broker: applied (set, or
  // removed by a zero-length payload) and true; an invalid one counted and
  // logged at a bounded rate, and true; false when the topic is not one of these.
  bool on_message(const MqttMessage& m);

  uint64_t rejected() const { return rejected_.load(); }
  const RetainedTable<Silence>& silences() const { return silences_; }
  const RetainedTable<NotificationChannel>& channels() const { return channels_; }

 private:
  HttpResponse silence_routes(const HttpRequest& req, std::string_view id) const;
  HttpResponse channel_routes(const HttpRequest& req, std::string_view id, bool admin) const;
  HttpResponse history(const HttpRequest& req) const;
  HttpResponse patch_agent(const HttpRequest& req, const std::string& id) const;
  void reject(const std::string& topic, const std::string& why);

  AdminSources sources_;
  mutable RetainedTable<Silence> silences_;
  mutable RetainedTable<NotificationChannel> channels_;
  std::atomic<uint64_t> rejected_{0};
  LogLimiter reject_log_{5, std::chrono::seconds(10)};
};

}  // namespace mutuo::dashboard
