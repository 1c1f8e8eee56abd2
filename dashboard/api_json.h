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
//               "error" (only when the probe reported one)}],
//    "now", "store_available"}
// Times are milliseconds since the Unix epoch; absent measurements are null.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
nlohmann::json matrix_json(const std::vector<AgentPresence>& agents,
                           const std::vector<store::StoredResult>& latest, int64_t now_ms,
                           bool store_available);

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

}  // namespace mutuo::dashboard
