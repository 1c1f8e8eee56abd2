// The JSON documents the dashboard's HTTP API answers with, built from plain data
// (a presence snapshot and the store's latest results) so tests need neither MQTT
// nor RocksDB.
//
// GET /api/agents:
//   {"agents":[{"id","state":"online"|"offline","reason" (null when online),
//               "version","addrs","labels","echo_port","last_seen","since"}],
//    "now", "broker_connected"}
// GET /api/matrix:
//   {"agents":[ids], "cells":[{"observer","target","probe":"udp","ts","age_ms",
//               "sent","recv","loss","rtt_ms":{"min","avg","max"}|null,"jitter_ms",
//               "p50_ms", "error" (only when the probe reported one)}],
//    "now", "store_available"}
//   p50_ms: the median RTT of the pair's minute rollup holding ts (the median of
//   that minute's round averages; StoreView::minute_medians), null before the
//   receiver has one; rtt_ms is the one round's own min/avg/max.
// Times are milliseconds since the Unix epoch; absent measurements are null.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/messages/alert.h"
#include "common/messages/check.h"
#include "common/messages/results.h"
#include "common/store_reader.h"
#include "dashboard/presence_table.h"

namespace mutuo::dashboard {

// The probe the mesh matrix shows.
inline constexpr const char* kMatrixProbe = "udp";

// Agents sorted by id (as `agents` is, when it comes from PresenceTable::snapshot).
// "last_seen" is the later of when the dashboard last heard the agent's status and
// the newest result in `latest` (any probe) with that agent as observer.
nlohmann::json agents_json(const std::vector<AgentPresence>& agents,
                           const std::vector<store::StoredResult>& latest, int64_t now_ms,
                           bool broker_connected);

// The mesh matrix: one cell per (observer, target) peer series of kMatrixProbe in
// `latest`, sorted by observer then target. "agents" is the sorted union of the
// presence table and every observer and target in those cells.
// `p50`, when given, runs parallel to `latest`: the minute median of each entry.
//   {"agents":[ids],"cells":[cell_json(...) plus "p50_ms"],"now","store_available"}
// Returned serialized (it is built by hand: a 200-agent matrix is 40,000 cells).
std::string matrix_text(const std::vector<AgentPresence>& agents,
                        const std::vector<store::StoredResult>& latest, int64_t now_ms,
                        bool store_available,
                        const std::vector<std::optional<double>>* p50 = nullptr);

// GET /api/series: one chart of one series (a pair or a check) from the store.
//   {"observer","kind":"peer"|"check","target","probe","from","to",
//    "tier":"raw"|"minute"|"hour","step_ms",
//    "points":{"ts":[...],"count":[...],"min":[...],"p50":[...],"p90":[...],
//              "max":[...],"mean":[...],"loss":[...]}}
// Points are columns (the shape uPlot draws), oldest first; absent values null.
nlohmann::json series_json(const store::SeriesId& series, int64_t from_ms, int64_t to_ms,
                           const store::SeriesData& data);

// The name of a tier in the API: "raw", "minute" or "hour".
const char* tier_name(store::Tier tier);

// {"error": message}, the body of every API error answer.
nlohmann::json error_json(const std::string& message);

// One entry of "agents" in GET /api/agents.
nlohmann::json agent_presence_json(const AgentPresence& a, int64_t last_seen_ms);

// One matrix cell (the shape of "cells" in GET /api/matrix).
nlohmann::json cell_json(const std::string& observer, const std::string& target,
                         const ProbeResult& r, int64_t now_ms);

// One check result: {"check","observer","probe","ts","age_ms","ok","status","ms",
// "loss","rtt_ms" (icmp),"error" (when any)}.
nlohmann::json check_result_json(const std::string& check, const std::string& observer,
                                 const ProbeResult& r, int64_t now_ms);

// GET /api/matrix?compact=1: the matrix for big meshes (200 x 200) in about a
// third of the bytes: {"agents":[ids],"fields":[...],"cells":[[observer index,
// target index, ts, sent, recv, min, avg, max, jitter_ms, error, p50]],"now",
// "store_available"}; indexes into "agents", absent values null; p50 as in the
// full form (from `p50`, parallel to `latest`, when given).
// Returned serialized (it is built by hand, for speed).
std::string matrix_compact_text(const std::vector<AgentPresence>& agents,
                                const std::vector<store::StoredResult>& latest, int64_t now_ms,
                                bool store_available,
                                const std::vector<std::optional<double>>* p50 = nullptr);

// Whether a result counts as a success: a check's verdict, else some reply came
// back (loss < 100%), else no error.
bool result_ok(const ProbeResult& r);

// One check with its state: {"id","definition": check message | null,"state":
// "up"|"down"|"degraded"|"unknown"|"pending","alert": alert | null,"latest": newest
// result | null,"results":[check result, one per observer, newest first]}. The
// state is the receiver's alert when it knows one (quorum of observers), else
// "up" when the newest result of any observer succeeded, "down" when all the
// newest ones failed, "pending" without results.
nlohmann::json check_json(const std::string& id, const Check* definition, const Alert* alert,
                          const std::vector<const store::StoredResult*>& results, int64_t now_ms);

// GET /api/alerts: {"alerts":[alert message],"counts":{state: n},"open": n
// (down, degraded or offline)}, alerts sorted by subject.
nlohmann::json alerts_json(const std::vector<std::pair<std::string, Alert>>& alerts);

// Live feed events (LiveFeed, GET /api/live), each {"type": ...}:
//   agent          {"agent": as in /api/agents}            presence changed
//   agent_removed  {"id"}                                   retained status cleared
//   results        {"observer","cells":[cell],"checks":[check result]}  a result batch
//   alert          {"subject","alert": alert message | null (cleared)}
//   check          {"id","check": check message | null (deleted)}
nlohmann::json live_agent_event(const AgentPresence& a);
nlohmann::json live_agent_removed_event(const std::string& id);
nlohmann::json live_results_event(const ResultBatch& batch, int64_t now_ms);
nlohmann::json live_alert_event(const std::string& subject, const Alert* alert);
nlohmann::json live_check_event(const std::string& id, const Check* check);

}  // namespace mutuo::dashboard
