#include "dashboard/api_admin_routes.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <climits>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/messages/alert.h"
#include "dashboard/api_responses.h"
#include "dashboard/api_router.h"
#include "dashboard/random_token.h"

namespace mutuo::dashboard {

using nlohmann::json;
using api::error;
using api::is_read;
using api::json_body;
using api::json_response;
using api::method_not_allowed;

namespace {

constexpr std::size_t kDefaultHistoryLimit = 100;
constexpr std::size_t kMaxHistoryLimit = 1000;
constexpr std::string_view kSilencesPath = "/api/silences";
constexpr std::string_view kChannelsPath = "/api/channels";
constexpr std::string_view kHistoryPath = "/api/alerts/history";
constexpr std::string_view kRegistryPrefix = "/api/registry/";

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "/api/silences/x" with prefix "/api/silences" -> "x"; "" for the collection;
// nullopt when the path is neither (deeper, or another route).
std::optional<std::string_view> item_of(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.empty() || rest == "/") return std::string_view();
  if (rest.front() != '/') return std::nullopt;
  rest.remove_prefix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

std::string new_silence_id(int64_t now_ms) {
  // "s-" + the time in base 36 + 4 random characters: short, sortable, unique.
  std::string t;
  for (uint64_t v = static_cast<uint64_t>(now_ms); v > 0; v /= 36) {
    t.insert(t.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
  }
  std::string suffix;
  for (char c : random_token(8)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) suffix += c;
    if (suffix.size() == 4) break;
  }
  return "s-" + t + "-" + suffix;
}

json silence_json(const Silence& s, int64_t now_ms) {
  json j = s;
  j.erase("v");
  j.erase("silence");
  j["id"] = s.id;
  j["state"] = now_ms < s.starts_ms ? "scheduled" : now_ms < s.ends_ms ? "active" : "ended";
  return j;
}

json channel_json(const NotificationChannel& c, bool admin) {
  json j = c;
  j.erase("v");
  j.erase("channel");
  j["id"] = c.id;
  if (!admin) {
    j["url"] = mask_url(c.url);
    j["url_masked"] = true;
  }
  return j;
}

// The id in the body, when given, must be the path's.
std::optional<std::string> body_id_mismatch(const json& body, std::string_view id) {
  auto it = body.find("id");
  if (it == body.end() || id.empty()) return std::nullopt;
  if (!it->is_string() || it->get<std::string>() != id) {
    return "the id in the body differs from the path";
  }
  return std::nullopt;
}

}  // namespace

AdminRoutes::AdminRoutes(AdminSources sources) : sources_(std::move(sources)) {}

bool AdminRoutes::owns(std::string_view method, std::string_view path) {
  if (item_of(path, kSilencesPath) || item_of(path, kChannelsPath)) return true;
  if (path == kHistoryPath) return true;
  if (method == "PATCH" && path.starts_with(kRegistryPrefix)) {
    std::string_view id = path.substr(kRegistryPrefix.size());
    return !id.empty() && id.find('/') == std::string_view::npos;
  }
  return false;
}

bool AdminRoutes::needs_admin(std::string_view method) { return !is_read(method); }

HttpResponse AdminRoutes::handle(const HttpRequest& req, bool admin) const {
  const std::string_view path = req.path;
  if (path == kHistoryPath) {
    if (!is_read(req.method)) return method_not_allowed("GET, HEAD");
    return history(req);
  }
  if (auto id = item_of(path, kSilencesPath)) return silence_routes(req, *id);
  if (auto id = item_of(path, kChannelsPath)) return channel_routes(req, *id, admin);
  if (req.method == "PATCH" && path.starts_with(kRegistryPrefix)) {
    return patch_agent(req, std::string(path.substr(kRegistryPrefix.size())));
  }
  return error(404, "not found");
}

HttpResponse AdminRoutes::silence_routes(const HttpRequest& req, std::string_view id_view) const {
  const std::string id(id_view);
  const int64_t now = sources_.now_ms();
  if (is_read(req.method)) {
    if (id.empty()) {
      json list = json::array();
      for (const auto& [sid, s] : silences_.snapshot()) list.push_back(silence_json(s, now));
      return json_response(200, {{"silences", std::move(list)}, {"now", now}});
    }
    auto s = silences_.get(id);
    if (!s) return error(404, "no silence '" + id + "'");
    return json_response(200, {{"silence", silence_json(*s, now)}, {"now", now}});
  }
  if (id.empty() && req.method != "POST") return method_not_allowed("GET, HEAD, POST");
  if (!id.empty() && req.method != "PUT" && req.method != "DELETE") {
    return method_not_allowed("GET, HEAD, PUT, DELETE");
  }
  if (!sources_.publish) return error(503, "silences cannot be changed: not connected to the bus");
  if (req.method == "DELETE") {
    if (!silences_.get(id)) return error(404, "no silence '" + id + "'");
    if (!sources_.publish({silence_topic(id), "", 1, true})) {
      return error(502, "the broker did not take the deletion; try again");
    }
    silences_.erase(id);
    spdlog::info("silence {} deleted", id);
    return json_response(200, {{"deleted", id}});
  }
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  if (auto why = body_id_mismatch(*body, id)) return error(400, *why);
  std::string sid = id;
  if (sid.empty()) {
    auto given = body->find("id");
    if (given != body->end() && !given->is_string()) return error(400, "id must be a string");
    sid = given != body->end() ? given->get<std::string>() : new_silence_id(now);
    if (silences_.get(sid)) return error(409, "silence '" + sid + "' exists; PUT to change it");
  }
  if (!valid_id(sid)) {
    return error(400, "silence ids are 1-63 of a-z, 0-9 and '-', starting with a letter or digit");
  }
  // PUT changes what the body names and keeps the rest; POST starts afresh.
  auto existing = silences_.get(sid);
  json message = existing ? json(*existing) : json::object();
  const json& b = *body;
  int targets = 0;
  for (const char* k : {"subject", "peer", "check", "label"}) targets += b.contains(k) ? 1 : 0;
  if (targets > 1) return error(400, "give one of subject, peer, check and label");
  if (targets == 1) {
    message.erase("subject");
    message.erase("label");
  }
  auto string_of = [&b](const char* k) -> std::optional<std::string> {
    auto it = b.find(k);
    if (it == b.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  for (const char* k : {"peer", "check"}) {
    if (!b.contains(k)) continue;
    auto v = string_of(k);
    if (!v) return error(400, std::string(k) + " must be a string");
    message["subject"] = std::string(k) + "/" + *v;
  }
  if (b.contains("subject")) message["subject"] = b["subject"];
  if (b.contains("label")) message["label"] = b["label"];
  if (!message.contains("subject") && !message.contains("label")) {
    return error(400, "say what to silence: subject, peer, check or label {key, value}");
  }
  if (b.contains("starts")) message["starts"] = b["starts"];
  if (!message.contains("starts")) message["starts"] = now;
  if (b.contains("duration_s")) {
    if (b.contains("ends")) return error(400, "give ends or duration_s, not both");
    if (!b["duration_s"].is_number() || !message["starts"].is_number_integer()) {
      return error(400, "duration_s must be a number of seconds");
    }
    double d = b["duration_s"].get<double>();
    if (!(d > 0 && d <= 366.0 * 24 * 3600)) return error(400, "duration_s must be 1 s to 366 days");
    message["ends"] = message["starts"].get<int64_t>() + static_cast<int64_t>(d * 1000);
  } else if (b.contains("ends")) {
    message["ends"] = b["ends"];
  }
  if (!message.contains("ends")) return error(400, "give ends (ms since the epoch) or duration_s");
  if (b.contains("comment")) message["comment"] = b["comment"];
  if (message.contains("comment") && message["comment"] == "") message.erase("comment");
  message["v"] = 1;
  message["silence"] = sid;
  auto silence = decode_silence(message.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!silence) return error(400, "invalid silence: " + silence.error());
  if (existing && *existing == *silence) {
    return json_response(200, {{"silence", silence_json(*silence, now)}, {"changed", false}});
  }
  if (!sources_.publish({silence_topic(sid), encode(*silence), 1, true})) {
    return error(502, "the broker did not take the silence; try again");
  }
  silences_.set(sid, *silence);
  spdlog::info("silence {} on {} {}", sid,
               silence->subject.empty() ? silence->label_key + "=" + silence->label_value
                                        : silence->subject,
               existing ? "changed" : "created");
  return json_response(existing ? 200 : 201,
                {{"silence", silence_json(*silence, now)}, {"changed", true}});
}

HttpResponse AdminRoutes::channel_routes(const HttpRequest& req, std::string_view id_view,
                                         bool admin) const {
  const std::string id(id_view);
  if (is_read(req.method)) {
    if (id.empty()) {
      json list = json::array();
      for (const auto& [cid, c] : channels_.snapshot()) list.push_back(channel_json(c, admin));
      return json_response(200, {{"channels", std::move(list)}, {"masked", !admin}});
    }
    auto c = channels_.get(id);
    if (!c) return error(404, "no channel '" + id + "'");
    return json_response(200, {{"channel", channel_json(*c, admin)}});
  }
  if (id.empty() && req.method != "POST") return method_not_allowed("GET, HEAD, POST");
  if (!id.empty() && req.method != "PUT" && req.method != "DELETE") {
    return method_not_allowed("GET, HEAD, PUT, DELETE");
  }
  if (!sources_.publish) return error(503, "channels cannot be changed: not connected to the bus");
  if (req.method == "DELETE") {
    if (!channels_.get(id)) return error(404, "no channel '" + id + "'");
    if (!sources_.publish({channel_topic(id), "", 1, true})) {
      return error(502, "the broker did not take the deletion; try again");
    }
    channels_.erase(id);
    spdlog::info("notification channel {} deleted", id);
    return json_response(200, {{"deleted", id}});
  }
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  if (auto why = body_id_mismatch(*body, id)) return error(400, *why);
  std::string cid = id;
  if (cid.empty()) {
    auto given = body->find("id");
    if (given == body->end() || !given->is_string()) return error(400, "give the channel an id");
    cid = given->get<std::string>();
    if (channels_.get(cid)) return error(409, "channel '" + cid + "' exists; PUT to change it");
  }
  if (!valid_id(cid)) {
    return error(400, "channel ids are 1-63 of a-z, 0-9 and '-', starting with a letter or digit");
  }
  if (body->value("url_masked", false)) {
    return error(400, "the url is masked (exported without admin rights); give the real one");
  }
  // PUT changes what the body names and keeps the rest; POST starts afresh.
  auto existing = channels_.get(cid);
  json message = existing ? json(*existing) : json{{"kind", "webhook"}};
  for (const char* k : {"kind", "url", "rate_per_min", "burst", "enabled", "comment"}) {
    if (body->contains(k)) message[k] = (*body)[k];
  }
  if (message.contains("comment") && message["comment"] == "") message.erase("comment");
  message["v"] = 1;
  message["channel"] = cid;
  auto channel = decode_channel(message.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!channel) return error(400, "invalid channel: " + channel.error());
  if (existing && *existing == *channel) {
    return json_response(200, {{"channel", channel_json(*channel, admin)}, {"changed", false}});
  }
  if (!sources_.publish({channel_topic(cid), encode(*channel), 1, true})) {
    return error(502, "the broker did not take the channel; try again");
  }
  channels_.set(cid, *channel);
  spdlog::info("notification channel {} ({} {}) {}", cid, channel->kind, mask_url(channel->url),
               existing ? "changed" : "created");
  return json_response(existing ? 200 : 201,
                {{"channel", channel_json(*channel, admin)}, {"changed", true}});
}

HttpResponse AdminRoutes::history(const HttpRequest& req) const {
  health::HistoryQuery q;
  q.limit = kDefaultHistoryLimit;
  if (auto subject = query_param(req.query, "subject"); subject && !subject->empty()) {
    if (!valid_alert_subject(*subject)) {
      return error(400, "subject must be peer/{agent}, check/{check} or partition/{label}/{a}/{b}");
    }
    q.subject = *subject;
  }
  for (auto [name, field] : {std::pair{"since", &q.from_ms}, std::pair{"until", &q.to_ms}}) {
    auto text = query_param(req.query, name);
    if (!text || text->empty()) continue;
    auto v = parse_int(*text);
    if (!v || *v < 0) return error(400, std::string(name) + " is milliseconds since the Unix epoch");
    *field = *v;
  }
  if (q.from_ms >= q.to_ms) return error(400, "since must be before until");
  if (auto text = query_param(req.query, "limit"); text && !text->empty()) {
    auto v = parse_int(*text);
    if (!v || *v < 1 || *v > static_cast<int64_t>(kMaxHistoryLimit)) {
      return error(400, "limit must be between 1 and " + std::to_string(kMaxHistoryLimit));
    }
    q.limit = static_cast<std::size_t>(*v);
  }
  if (sources_.history == nullptr) return error(503, "no alert history (the dashboard has no --store)");
  auto entries = sources_.history->query(q);
  if (!entries) return error(503, "the alert history is not available yet");
  json list = json::array();
  for (const auto& e : *entries) {
    json j = {{"ts", e.ts_ms}, {"kind", e.kind}, {"subject", e.alert.subject},
              {"alert", json(e.alert)}};
    if (!e.held_back.empty()) j["held_back"] = e.held_back;
    list.push_back(std::move(j));
  }
  return json_response(200, {{"entries", std::move(list)},
                      {"subject", q.subject},
                      {"limit", q.limit},
                      {"now", sources_.now_ms()}});
}

HttpResponse AdminRoutes::patch_agent(const HttpRequest& req, const std::string& id) const {
  if (sources_.registrar == nullptr) return error(503, "agent registration is not available");
  HttpResponse refusal;
  auto body = json_body(req, &refusal);
  if (!body) return refusal;
  std::optional<std::string> display_name;
  std::optional<std::map<std::string, std::string>> labels;
  if (auto it = body->find("display_name"); it != body->end()) {
    if (!it->is_string()) return error(400, "display_name must be a string");
    display_name = it->get<std::string>();
  }
  if (auto it = body->find("labels"); it != body->end()) {
    if (!it->is_object()) return error(400, "labels must be an object of strings");
    labels.emplace();
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return error(400, "labels must be an object of strings");
      (*labels)[k] = v.get<std::string>();
    }
  }
  if (!display_name && !labels) return error(400, "give display_name and/or labels");
  auto result = sources_.registrar->update(id, std::move(display_name), std::move(labels));
  if (!result) {
    int status = result.error == RegistrarError::kNotFound ? 404
                 : result.error == RegistrarError::kInvalid ? 400
                 : result.error == RegistrarError::kBroker  ? 502
                                                            : 500;
    return error(status, result.message);
  }
  return json_response(200, {{"agent", agent_record_json(*result.value)}});
}

bool AdminRoutes::on_message(const MqttMessage& m) {
  if (auto id = silence_id_of(m.topic)) {
    if (m.payload.empty()) {
      silences_.erase(*id);
      return true;
    }
    auto s = decode_silence(m.payload);
    if (!s) {
      reject(m.topic, s.error());
    } else if (s->id != *id) {
      reject(m.topic, "silence id differs from the topic's");
    } else {
      silences_.set(*id, std::move(s).value());
    }
    return true;
  }
  if (auto id = channel_id_of(m.topic)) {
    if (m.payload.empty()) {
      channels_.erase(*id);
      return true;
    }
    auto c = decode_channel(m.payload);
    if (!c) {
      reject(m.topic, c.error());
    } else if (c->id != *id) {
      reject(m.topic, "channel id differs from the topic's");
    } else {
      channels_.set(*id, std::move(c).value());
    }
    return true;
  }
  return false;
}

void AdminRoutes::reject(const std::string& topic, const std::string& why) {
  ++rejected_;
  uint64_t suppressed = 0;
  if (reject_log_.allow(&suppressed)) {
    spdlog::warn("ignored message on {}: {} ({} similar lines suppressed)", topic, why, suppressed);
  }
}

}  // namespace mutuo::dashboard
