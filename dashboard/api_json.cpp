#include "dashboard/api_json.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace mutuo::dashboard {

using nlohmann::json;

namespace {

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

bool is_matrix_entry(const store::StoredResult& r) {
  return r.series.kind == TargetKind::kPeer && r.series.probe == kMatrixProbe;
}

}  // namespace

json agents_json(const std::vector<AgentPresence>& agents,
                 const std::vector<store::StoredResult>& latest, int64_t now_ms,
                 bool broker_connected) {
  std::map<std::string, int64_t, std::less<>> newest_result;  // observer -> ts
  for (const auto& r : latest) {
    auto [it, inserted] = newest_result.try_emplace(r.series.observer, r.result.ts_ms);
    if (!inserted) it->second = std::max(it->second, r.result.ts_ms);
  }

  json list = json::array();
  for (const auto& a : agents) {
    int64_t last_seen = a.seen_ms;
    if (auto it = newest_result.find(a.id); it != newest_result.end()) {
      last_seen = std::max(last_seen, it->second);
    }
    list.push_back({{"id", a.id},
                    {"state", a.online ? "online" : "offline"},
                    {"reason", a.online ? json(nullptr) : json(a.reason)},
                    {"version", a.version},
                    {"addrs", a.addrs},
                    {"labels", a.labels},
                    {"echo_port", a.echo_port},
                    {"last_seen", last_seen},
                    {"since", a.since_ms}});
  }
  std::sort(list.begin(), list.end(),
            [](const json& x, const json& y) { return x["id"] < y["id"]; });
  return {{"agents", std::move(list)}, {"now", now_ms}, {"broker_connected", broker_connected}};
}

json matrix_json(const std::vector<AgentPresence>& agents,
                 const std::vector<store::StoredResult>& latest, int64_t now_ms,
                 bool store_available) {
  std::set<std::string> ids;
  for (const auto& a : agents) ids.insert(a.id);

  std::vector<const store::StoredResult*> entries;
  for (const auto& r : latest) {
    if (!is_matrix_entry(r)) continue;
    entries.push_back(&r);
    ids.insert(r.series.observer);
    ids.insert(r.series.target);
  }
  std::sort(entries.begin(), entries.end(), [](const auto* x, const auto* y) {
    return std::tie(x->series.observer, x->series.target) <
           std::tie(y->series.observer, y->series.target);
  });

  json cells = json::array();
  for (const auto* e : entries) {
    const ProbeResult& r = e->result;
    json rtt = nullptr;
    if (r.rtt_ms) rtt = {{"min", r.rtt_ms->min}, {"avg", r.rtt_ms->avg}, {"max", r.rtt_ms->max}};
    json cell = {{"observer", e->series.observer},
                 {"target", e->series.target},
                 {"probe", e->series.probe},
                 {"ts", r.ts_ms},
                 {"age_ms", std::max<int64_t>(0, now_ms - r.ts_ms)},
                 {"sent", or_null(r.sent)},
                 {"recv", or_null(r.recv)},
                 {"loss", or_null(r.loss())},
                 {"rtt_ms", std::move(rtt)},
                 {"jitter_ms", or_null(r.jitter_ms)}};
    if (!r.error.empty()) cell["error"] = r.error;
    cells.push_back(std::move(cell));
  }
  return {{"agents", json(ids)},
          {"cells", std::move(cells)},
          {"now", now_ms},
          {"store_available", store_available}};
}

const char* tier_name(store::Tier tier) {
  switch (tier) {
    case store::Tier::kRaw:
      return "raw";
    case store::Tier::kMinute:
      return "minute";
    case store::Tier::kHour:
      return "hour";
  }
  return "raw";
}

json series_json(const store::SeriesId& series, int64_t from_ms, int64_t to_ms,
                 const store::SeriesData& data) {
  json ts = json::array(), count = json::array(), min = json::array(), p50 = json::array(),
       p90 = json::array(), max = json::array(), mean = json::array(), loss = json::array();
  for (const auto& p : data.points) {
    ts.push_back(p.ts_ms);
    count.push_back(p.count);
    min.push_back(or_null(p.min_ms));
    p50.push_back(or_null(p.p50_ms));
    p90.push_back(or_null(p.p90_ms));
    max.push_back(or_null(p.max_ms));
    mean.push_back(or_null(p.mean_ms));
    loss.push_back(or_null(p.loss));
  }
  return {{"observer", series.observer},
          {"kind", series.kind == TargetKind::kPeer ? "peer" : "check"},
          {"target", series.target},
          {"probe", series.probe},
          {"from", from_ms},
          {"to", to_ms},
          {"tier", tier_name(data.tier)},
          {"step_ms", data.step_ms},
          {"points",
           {{"ts", std::move(ts)},
            {"count", std::move(count)},
            {"min", std::move(min)},
            {"p50", std::move(p50)},
            {"p90", std::move(p90)},
            {"max", std::move(max)},
            {"mean", std::move(mean)},
            {"loss", std::move(loss)}}}};
}

json error_json(const std::string& message) { return {{"error", message}}; }

}  // namespace mutuo::dashboard
