#pragma once
// Statistics of cases per branch, office, village, cell, category or grid
// leader over a period, for the console and the town's monthly review.
//
// The period is [from, to) on the time a case was RECEIVED: every measure
// counts the cases received in the period (so a month's figures do not
// change when next month's cases arrive), judged by their state at `now`.
//   received        cases received in the period
//   closed          of those, closed now (结案)
//   close_rate      closed / received                          (结案率)
//   closed_on_time  closed cases whose (last) closing event is at or before
//                   their handle_by deadline
//   on_time_close_rate  closed_on_time / closed                 (按期结案率)
//   handled         cases that reached "handled" at least once (处置反馈)
//   handled_on_time those whose first "handled" event is at or before
//                   handle_by                                  (按期处置率 =
//                   handled_on_time / handled)
//   reworked        handled cases sent back at least once (rework_count > 0);
//   rework_rate     reworked / handled                          (返工率)
//   overdue_now     open cases whose handle_by is before `now`
//   mean_handle_working_hours  mean working hours (work calendar) from
//                   receipt to the first "handled" event, over handled cases
//   evaluated       cases the reporter evaluated; satisfied of those;
//   satisfaction_rate  satisfied / evaluated                     (满意率)
// A rate with a zero denominator is null. Deadlines are handle_by as it
// stands now (extensions included).
//
//   auto s = ComputeStats(store, town, "branch", from, to, now);
//   for (const StatsRow& r : s->rows) Show(r.key, r.name, r.received);

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town.h"

namespace wangge::core {

struct StatsRow {
  std::string key;   // branch code, office code, village code, ...
  std::string name;  // its name ("" if unknown, e.g. a case outside cells)
  int64_t received = 0;
  int64_t closed = 0;
  int64_t closed_on_time = 0;
  int64_t handled = 0;
  int64_t handled_on_time = 0;
  int64_t reworked = 0;
  int64_t overdue_now = 0;
  int64_t evaluated = 0;
  int64_t satisfied = 0;
  double handle_working_hours = 0;  // sum over handled cases
};

struct Stats {
  std::string group;
  std::vector<StatsRow> rows;  // by key; a "total" row is not included
  StatsRow total;
};

// `group` is branch, office, village, cell, category or leader
// (kInvalidArgument otherwise, field "group").
Result<Stats> ComputeStats(Store& store, const Town& town,
                           const std::string& group, Time from, Time to,
                           Time now);

// {"group", "from", "to", "definitions": {...}, "rows": [{"key", "name",
// "received", ..., "close_rate", ...}], "total": {...}}.
std::string StatsJson(const Stats& stats, Time from, Time to);

}  // namespace wangge::core
