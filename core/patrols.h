#pragma once
// Patrols (一周三巡、半月全覆盖): a grid leader walks each of their cells
// three times a week, and every cell is walked within half a month. A
// patrol is recorded from the phone (or entered by the 综治中心 from a
// paper log) exactly once per idempotency key; the coverage shows, per
// cell, this week's patrols against three and the last patrol against the
// half month.
//
//   auto in = ParsePatrol(body);
//   auto rec = RecordPatrol(store, town, user, *in, key, now);
//   auto cov = PatrolCoverage(store, town, PatrolReach(user, town), now);

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town.h"

namespace wangge::core {

inline constexpr int kPatrolsPerWeek = 3;
inline constexpr int kCoverageDays = 15;

struct PatrolInput {
  std::string cell;
  std::string started_at;  // ISO 8601; no offset means China's
  std::string ended_at;    // optional
  std::string note;        // optional
  std::optional<double> lon, lat;
};

// Parses the JSON body of POST /api/v1/patrols; errors name the field.
Result<PatrolInput> ParsePatrol(const std::string& json_body);

// The cells whose patrols `user` may record and read: a grid leader's own
// cells, a branch account's branch's cells; nullopt: every cell.
std::optional<std::vector<std::string>> PatrolReach(const User& user,
                                                    const Town& town);

struct RecordedPatrol {
  PatrolRecord patrol;
  bool existed = false;  // the key's earlier patrol, nothing stored now
};

// Checks and stores a patrol. A grid leader or branch account records for
// the cells in its reach, the 综治中心 (dispatcher, admin) for any cell;
// other roles get kPermissionDenied. The same key with the same patrol
// returns the stored one; with a different one, kConflict.
Result<RecordedPatrol> RecordPatrol(Store& store, const Town& town,
                                    const User& user, const PatrolInput& in,
                                    const std::string& idempotency_key,
                                    Time now);

struct CellCoverage {
  std::string cell, name, village, leader;  // leader: person id
  int64_t this_week = 0;    // patrols started this week (Monday on)
  std::string last_patrol;  // started_at of the newest, "" if none
  bool covered = false;     // a patrol within kCoverageDays
};

struct Coverage {
  std::string week_from, week_to;   // Monday 00:00 to the next, China time
  std::string window_from;          // kCoverageDays before `at`
  std::vector<CellCoverage> cells;  // by cell code
  int64_t weeks_met = 0;            // cells with kPatrolsPerWeek this week
  int64_t covered = 0;              // cells covered in the window
};

// The patrols as CSV for Excel (UTF-8 with a BOM; a header row in Chinese):
// cell code and name, village, patroller, start, end, note, lon, lat,
// recorded. `names`: user id to the name shown.
std::string PatrolsCsv(const std::vector<PatrolRecord>& patrols,
                       const TownConfig& config,
                       const std::map<int64_t, std::string>& names);

// Coverage at `at` of the cells in `reach` (nullopt: all).
Result<Coverage> PatrolCoverage(
    Store& store, const Town& town,
    const std::optional<std::vector<std::string>>& reach, Time at);

}  // namespace wangge::core
