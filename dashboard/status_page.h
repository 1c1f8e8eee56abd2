// The public status page: what an admin chose to show without a login (some
// checks and peers, by id only: never a URL, host, address or token), and the
// 90-day uptime bars built from the store's hour rollups.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/store_reader.h"

namespace mutuo::dashboard {

inline constexpr const char* kStatusPageSetting = "status_page";
inline constexpr int kUptimeDays = 90;
inline constexpr std::size_t kMaxStatusItems = 100;

struct StatusPageConfig {
  bool enabled = false;  // off until an admin turns it on
  std::string title = "Service status";
  std::vector<std::string> checks;  // check ids shown
  std::vector<std::string> peers;   // agent ids shown

  bool operator==(const StatusPageConfig&) const = default;
};

nlohmann::json to_json(const StatusPageConfig& c);
// From PUT /api/status-page or the stored setting. Refuses unknown shapes,
// invalid ids, more than kMaxStatusItems of either, a title over 100 bytes.
Result<StatusPageConfig> parse_status_page_config(const nlohmann::json& j);

// Daily uptime over `days` days starting at `from_ms` (midnight-aligned or not),
// from hour points of any number of series of one subject: 1 - the failed
// (or lost) fraction, weighted by result count; nullopt for a day without data.
std::vector<std::optional<double>> daily_uptime(const std::vector<store::SeriesData>& series,
                                                int64_t from_ms, int days);

}  // namespace mutuo::dashboard
