#include "dashboard/api_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
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

json agent_presence_json(const AgentPresence& a, int64_t last_seen_ms) {
  return {{"id", a.id},
          {"state", a.online ? "online" : "offline"},
          {"reason", a.online ? json(nullptr) : json(a.reason)},
          {"version", a.version},
          {"addrs", a.addrs},
          {"labels", a.labels},
          {"echo_port", a.echo_port},
          {"last_seen", last_seen_ms},
          {"since", a.since_ms}};
}

json cell_json(const std::string& observer, const std::string& target, const ProbeResult& r,
               int64_t now_ms) {
  json rtt = nullptr;
  if (r.rtt_ms) rtt = {{"min", r.rtt_ms->min}, {"avg", r.rtt_ms->avg}, {"max", r.rtt_ms->max}};
  json cell = {{"observer", observer},
               {"target", target},
               {"probe", r.probe},
               {"ts", r.ts_ms},
               {"age_ms", std::max<int64_t>(0, now_ms - r.ts_ms)},
               {"sent", or_null(r.sent)},
               {"recv", or_null(r.recv)},
               {"loss", or_null(r.loss())},
               {"rtt_ms", std::move(rtt)},
               {"jitter_ms", or_null(r.jitter_ms)}};
  if (!r.error.empty()) cell["error"] = r.error;
  return cell;
}

json check_result_json(const std::string& check, const std::string& observer, const ProbeResult& r,
                       int64_t now_ms) {
  json j = {{"check", check},
            {"observer", observer},
            {"probe", r.probe},
            {"ts", r.ts_ms},
            {"age_ms", std::max<int64_t>(0, now_ms - r.ts_ms)},
            {"ok", or_null(r.ok)},
            {"status", or_null(r.status)},
            {"ms", r.phase_ms},
            {"loss", or_null(r.loss())}};
  if (r.rtt_ms)
    j["rtt_ms"] = {{"min", r.rtt_ms->min}, {"avg", r.rtt_ms->avg}, {"max", r.rtt_ms->max}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

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
    list.push_back(agent_presence_json(a, last_seen));
  }
  std::sort(list.begin(), list.end(),
            [](const json& x, const json& y) { return x["id"] < y["id"]; });
  return {{"agents", std::move(list)}, {"now", now_ms}, {"broker_connected", broker_connected}};
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

bool result_ok(const ProbeResult& r) {
  if (r.ok) return *r.ok;
  if (auto loss = r.loss()) return *loss < 1.0;
  return r.error.empty();
}

json check_json(const std::string& id, const Check* definition, const Alert* alert,
                const std::vector<const store::StoredResult*>& results, int64_t now_ms) {
  std::vector<const store::StoredResult*> sorted = results;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->result.ts_ms > b->result.ts_ms; });
  json list = json::array();
  for (const auto* r : sorted) {
    list.push_back(check_result_json(id, r->series.observer, r->result, now_ms));
  }
  std::string state = "pending";
  if (alert != nullptr && alert->state != HealthState::kUnknown) {
    state = std::string(to_string(alert->state));
  } else if (!sorted.empty()) {
    bool any_ok = std::any_of(sorted.begin(), sorted.end(),
                              [](const auto* r) { return result_ok(r->result); });
    state = any_ok ? "up" : "down";
  }
  return {{"id", id},
          {"definition", definition ? json(*definition) : json(nullptr)},
          {"state", state},
          {"alert", alert ? json(*alert) : json(nullptr)},
          {"latest", list.empty() ? json(nullptr) : list.front()},
          {"results", std::move(list)}};
}

json alerts_json(const std::vector<std::pair<std::string, Alert>>& alerts) {
  json list = json::array();
  std::map<std::string, int> counts;
  int open = 0;
  for (const auto& [subject, a] : alerts) {
    list.push_back(a);
    ++counts[std::string(to_string(a.state))];
    if (a.state == HealthState::kDown || a.state == HealthState::kDegraded ||
        a.state == HealthState::kOffline) {
      ++open;
    }
  }
  return {{"alerts", std::move(list)}, {"counts", counts}, {"open", open}};
}

namespace {

// Shortest form that reads back the same; null for NaN and infinities (as
// nlohmann::json writes them), which JSON cannot carry.
void append_number(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, ec == std::errc() ? end : buf);
}

void append_integer(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, ec == std::errc() ? end : buf);
}

template <class T>
void append_optional(std::string* out, const std::optional<T>& v) {
  if (!v) {
    out->append("null");
  } else {
    append_number(out, static_cast<double>(*v));
  }
}

// A JSON string. Plain printable ASCII (ids, probe names) is copied as is;
// anything else goes through nlohmann's escaping, which also replaces invalid
// UTF-8.
void append_string(std::string* out, const std::string& s) {
  const bool plain = std::all_of(
      s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out->append(json(s).dump(-1, ' ', false, json::error_handler_t::replace));
    return;
  }
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

// The sorted union of the presence table's ids and every observer and target
// of the matrix entries in `latest`.
std::vector<std::string> matrix_ids(const std::vector<AgentPresence>& agents,
                                    const std::vector<store::StoredResult>& latest) {
  std::set<std::string> id_set;
  for (const auto& a : agents) id_set.insert(a.id);
  for (const auto& r : latest) {
    if (!is_matrix_entry(r)) continue;
    id_set.insert(r.series.observer);
    id_set.insert(r.series.target);
  }
  return {id_set.begin(), id_set.end()};
}

// ,"key": (a member after the first).
void append_next_key(std::string* out, std::string_view key) {
  out->append(",\"");
  out->append(key);
  out->append("\":");
}

// The minute median of entry `e` of `latest`, from `p50` (parallel to it).
std::optional<double> p50_of(const std::vector<std::optional<double>>* p50,
                             const std::vector<store::StoredResult>& latest,
                             const store::StoredResult& e) {
  const std::size_t at = static_cast<std::size_t>(&e - latest.data());
  return p50 != nullptr && at < p50->size() ? (*p50)[at] : std::nullopt;
}

// Opens the matrix with its agents: {"agents":[ids],
void append_matrix_agents(std::string* out, const std::vector<std::string>& ids) {
  out->append("{\"agents\":[");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out->push_back(',');
    append_string(out, ids[i]);
  }
  out->append("],");
}

// Closes the cells and the matrix: ],"now":...,"store_available":...}
void append_matrix_end(std::string* out, int64_t now_ms, bool store_available) {
  out->append("],\"now\":");
  append_integer(out, now_ms);
  out->append(",\"store_available\":");
  out->append(store_available ? "true" : "false");
  out->push_back('}');
}

}  // namespace

std::string matrix_text(const std::vector<AgentPresence>& agents,
                        const std::vector<store::StoredResult>& latest, int64_t now_ms,
                        bool store_available, const std::vector<std::optional<double>>* p50) {
  const std::vector<std::string> ids = matrix_ids(agents, latest);
  std::vector<const store::StoredResult*> entries;
  for (const auto& r : latest) {
    if (is_matrix_entry(r)) entries.push_back(&r);
  }
  std::sort(entries.begin(), entries.end(), [](const auto* x, const auto* y) {
    return std::tie(x->series.observer, x->series.target) <
           std::tie(y->series.observer, y->series.target);
  });

  // Written by hand, not through a nlohmann::json tree: a tree of a 200-agent
  // matrix is about 2.8 million small allocations, built every second or two,
  // which fragmented the dashboard's heap (docs/hardening.md, "Soak run").
  // Keys in nlohmann's order (sorted), so the cells read like cell_json's.
  std::string out;
  out.reserve(128 + ids.size() * 16 + entries.size() * 256);
  append_matrix_agents(&out, ids);
  out.append("\"cells\":[");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const store::StoredResult& e = *entries[i];
    const ProbeResult& r = e.result;
    if (i > 0) out.push_back(',');
    out.append("{\"age_ms\":");
    append_integer(&out, std::max<int64_t>(0, now_ms - r.ts_ms));
    if (!r.error.empty()) {
      append_next_key(&out, "error");
      append_string(&out, r.error);
    }
    append_next_key(&out, "jitter_ms");
    append_optional(&out, r.jitter_ms);
    append_next_key(&out, "loss");
    append_optional(&out, r.loss());
    append_next_key(&out, "observer");
    append_string(&out, e.series.observer);
    append_next_key(&out, "p50_ms");
    append_optional(&out, p50_of(p50, latest, e));
    append_next_key(&out, "probe");
    append_string(&out, r.probe);
    append_next_key(&out, "recv");
    append_optional(&out, r.recv);
    append_next_key(&out, "rtt_ms");
    if (r.rtt_ms) {
      out.append("{\"avg\":");
      append_number(&out, r.rtt_ms->avg);
      out.append(",\"max\":");
      append_number(&out, r.rtt_ms->max);
      out.append(",\"min\":");
      append_number(&out, r.rtt_ms->min);
      out.push_back('}');
    } else {
      out.append("null");
    }
    append_next_key(&out, "sent");
    append_optional(&out, r.sent);
    append_next_key(&out, "target");
    append_string(&out, e.series.target);
    append_next_key(&out, "ts");
    append_integer(&out, r.ts_ms);
    out.push_back('}');
  }
  append_matrix_end(&out, now_ms, store_available);
  return out;
}

std::string matrix_compact_text(const std::vector<AgentPresence>& agents,
                                const std::vector<store::StoredResult>& latest, int64_t now_ms,
                                bool store_available,
                                const std::vector<std::optional<double>>* p50) {
  const std::vector<std::string> ids = matrix_ids(agents, latest);
  auto index = [&ids](const std::string& id) {
    return std::lower_bound(ids.begin(), ids.end(), id) - ids.begin();
  };
  // Written by hand, not through nlohmann::json: 40,000 rows are built once a
  // second under load, and this is several times faster.
  std::string out;
  out.reserve(128 + ids.size() * 16 + latest.size() * 64);
  append_matrix_agents(&out, ids);
  out.append(
      "\"fields\":[\"observer\",\"target\",\"ts\",\"sent\",\"recv\",\"min\",\"avg\",\"max\","
      "\"jitter_ms\",\"error\",\"p50\"],\"cells\":[");
  bool first = true;
  for (const auto& e : latest) {
    if (!is_matrix_entry(e)) continue;
    const ProbeResult& r = e.result;
    if (!first) out.push_back(',');
    first = false;
    out.push_back('[');
    append_integer(&out, index(e.series.observer));
    out.push_back(',');
    append_integer(&out, index(e.series.target));
    out.push_back(',');
    append_integer(&out, r.ts_ms);
    out.push_back(',');
    append_optional(&out, r.sent);
    out.push_back(',');
    append_optional(&out, r.recv);
    out.push_back(',');
    if (r.rtt_ms) {
      append_number(&out, r.rtt_ms->min);
      out.push_back(',');
      append_number(&out, r.rtt_ms->avg);
      out.push_back(',');
      append_number(&out, r.rtt_ms->max);
    } else {
      out.append("null,null,null");
    }
    out.push_back(',');
    append_optional(&out, r.jitter_ms);
    out.push_back(',');
    if (r.error.empty()) {
      out.append("null");
    } else {
      append_string(&out, r.error);
    }
    out.push_back(',');
    append_optional(&out, p50_of(p50, latest, e));
    out.push_back(']');
  }
  append_matrix_end(&out, now_ms, store_available);
  return out;
}

json live_agent_event(const AgentPresence& a) {
  return {{"type", "agent"}, {"agent", agent_presence_json(a, a.seen_ms)}};
}

json live_agent_removed_event(const std::string& id) {
  return {{"type", "agent_removed"}, {"id", id}};
}

json live_results_event(const ResultBatch& batch, int64_t now_ms) {
  json cells = json::array(), checks = json::array();
  for (const auto& r : batch.results) {
    if (r.kind == TargetKind::kPeer && r.probe == kMatrixProbe) {
      cells.push_back(cell_json(batch.agent, r.target, r, now_ms));
    } else if (r.kind == TargetKind::kCheck) {
      checks.push_back(check_result_json(r.target, batch.agent, r, now_ms));
    }
  }
  return {{"type", "results"},
          {"observer", batch.agent},
          {"cells", std::move(cells)},
          {"checks", std::move(checks)}};
}

json live_alert_event(const std::string& subject, const Alert* alert) {
  return {{"type", "alert"}, {"subject", subject}, {"alert", alert ? json(*alert) : json(nullptr)}};
}

json live_check_event(const std::string& id, const Check* check) {
  return {{"type", "check"}, {"id", id}, {"check", check ? json(*check) : json(nullptr)}};
}

}  // namespace mutuo::dashboard
