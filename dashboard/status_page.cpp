#include "dashboard/status_page.h"

#include "common/ids.h"

namespace mutuo::dashboard {

using nlohmann::json;

json to_json(const StatusPageConfig& c) {
  return {{"enabled", c.enabled}, {"title", c.title}, {"checks", c.checks}, {"peers", c.peers}};
}

namespace {

Result<std::vector<std::string>> id_list(const json& j, const char* name) {
  std::vector<std::string> out;
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Error{std::string(name) + " must be an array of ids"};
  if (it->size() > kMaxStatusItems) {
    return Error{std::string("at most ") + std::to_string(kMaxStatusItems) + " " + name};
  }
  for (const auto& v : *it) {
    if (!v.is_string() || !valid_id(v.get<std::string>())) {
      return Error{std::string(name) + ": every entry must be a valid id"};
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<StatusPageConfig> parse_status_page_config(const json& j) {
  if (!j.is_object()) return Error{"the status page setting must be an object"};
  StatusPageConfig c;
  if (auto it = j.find("enabled"); it != j.end()) {
    if (!it->is_boolean()) return Error{"enabled must be true or false"};
    c.enabled = it->get<bool>();
  }
  if (auto it = j.find("title"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>().size() > 100) {
      return Error{"title must be a string of at most 100 bytes"};
    }
    c.title = it->get<std::string>();
  }
  auto checks = id_list(j, "checks");
  if (!checks) return Error{checks.error()};
  auto peers = id_list(j, "peers");
  if (!peers) return Error{peers.error()};
  c.checks = std::move(checks).value();
  c.peers = std::move(peers).value();
  return c;
}

std::vector<std::optional<double>> daily_uptime(const std::vector<store::SeriesData>& series,
                                                int64_t from_ms, int days) {
  constexpr int64_t kDay = 24 * 3600 * 1000LL;
  std::vector<double> weight(days, 0), failed(days, 0);
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      if (p.ts_ms < from_ms || p.count == 0 || !p.loss) continue;
      int64_t d = (p.ts_ms - from_ms) / kDay;
      if (d >= days) continue;
      weight[d] += static_cast<double>(p.count);
      failed[d] += *p.loss * static_cast<double>(p.count);
    }
  }
  std::vector<std::optional<double>> out(days);
  for (int d = 0; d < days; ++d) {
    if (weight[d] > 0) out[d] = 1.0 - failed[d] / weight[d];
  }
  return out;
}

}  // namespace mutuo::dashboard
