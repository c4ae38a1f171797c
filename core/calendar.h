#pragma once
// WorkCalendar: China's working calendar for deadlines (时限).
//
// A day is a working day unless the calendar file lists it as `holiday`;
// Saturdays and Sundays are rest days unless listed as `workday` (调休上班).
// The file covers the years it mentions; for a date in any other year the
// calendar falls back to plain weekends and says so in a warning, never
// silently. Working hours are periods of local time on working days, e.g.
// 08:30–12:00 and 14:30–18:00. Local time is China Standard Time (UTC+8,
// no daylight saving).
//
// Limits come in four units:
//   working_hours  count only time inside working periods of working days
//   working_days   end of working time on the Nth working day after the day
//                  the clock starts (a report made on a rest day or after
//                  hours starts counting from the next working day)
//   natural_days   N x 24 hours
//   natural_hours  N hours
//
// Immutable after Load; safe from many threads.
//
//   auto cal = WorkCalendar::Load(csv_text, {{510, 720}, {870, 1080}});
//   Deadline d = cal->Add(reported_at, {4, TimeUnit::kWorkingHours});
//   for (auto& w : d.warnings) std::cerr << w;

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace wangge::core {

using Time = std::chrono::sys_seconds;

// Stored in configuration: values are fixed.
enum class TimeUnit {
  kWorkingHours = 1,
  kWorkingDays = 2,
  kNaturalDays = 3,
  kNaturalHours = 4,
};

// "working_hours" etc.; Parse fails with kInvalidArgument listing the units.
const char* TimeUnitName(TimeUnit unit);
Result<TimeUnit> ParseTimeUnit(const std::string& name);

struct TimeLimit {
  double value = 0;  // may be fractional, e.g. 0.5 working hours
  TimeUnit unit = TimeUnit::kWorkingHours;
};

// A working period in minutes after local midnight, [begin, end).
struct WorkPeriod {
  int begin = 0;
  int end = 0;
};

struct Deadline {
  Time at;
  std::vector<std::string> warnings;  // e.g. days past the calendar's end
};

class WorkCalendar {
 public:
  // `csv` has a header `date,kind,name` (or 日期,类型,名称) and rows
  // `2026-10-01,holiday,国庆节`, as people type them in Excel too: dates
  // 2026-10-1, 2026/10/1, 2026.10.1 or 2026年10月1日; kind holiday (休, 假,
  // 放假, 节假日) or workday (班, 上班, 补班, 调休上班, 工作日), English in
  // any case. `hours` are sorted, non-overlapping periods. Errors name the
  // line and what is wrong with it. `strict` (a calendar being set up, not
  // one stored before these rules) also refuses years outside 2000-2099 and
  // a workday on a Monday-Friday (调休 workdays are weekend days: the date
  // is mistyped).
  static Result<WorkCalendar> Load(const std::string& csv,
                                   std::vector<WorkPeriod> hours,
                                   const std::string& file = "calendar.csv",
                                   bool strict = true);

  // Whether `day` (local date) is a working day; adds a warning to
  // `warnings` when the day lies outside the years the file covers.
  bool IsWorkingDay(std::chrono::year_month_day day,
                    std::set<std::string>* warnings = nullptr) const;

  // The deadline `limit` after `start`.
  Deadline Add(Time start, TimeLimit limit) const;
  // Working hours between `from` and `to` (0 if to <= from): the parts of
  // the working periods of working days that lie between them.
  double WorkingHoursBetween(Time from, Time to) const;

  const std::vector<WorkPeriod>& hours() const { return hours_; }
  const std::set<int>& covered_years() const { return years_; }

 private:
  std::map<std::chrono::sys_days, bool> exceptions_;  // day -> working?
  std::set<int> years_;
  std::vector<WorkPeriod> hours_;
};

// Local (UTC+8) ISO 8601 text, e.g. "2026-10-08T18:00:00+08:00".
std::string FormatLocal(Time t);
// UTC ISO 8601 text, e.g. "2026-10-08T10:00:00Z" (token expiry, versions).
std::string FormatUtc(Time t);
// Parses "2026-10-08T09:30", "2026-10-08 09:30:00", with an optional "Z" or
// "+08:00"-style offset (at most ±14:00); no offset means China Standard
// Time. Fractions of a second ("09:30:00.123Z") are dropped. Years
// 1-9998 only: times are stored and compared as text.
Result<Time> ParseTime(const std::string& text);

}  // namespace wangge::core
