#include "core/calendar.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string_view>

#include "base/code.h"

namespace wangge::core {
namespace {

using namespace std::chrono;
constexpr auto kOffset = hours(8);  // China Standard Time

sys_days LocalDay(Time t) { return floor<days>(t + kOffset); }

// Local midnight of `day` as a Time.
Time Midnight(sys_days day) { return Time(day) - kOffset; }

// A field without the spaces and the quotes Excel may put around it.
std::string_view Field(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// 2026-10-01, 2026-10-1, 2026/10/1, 2026.10.1 or 2026年10月1日: four digits,
// one or two, one or two, with the same separator twice (or 年 月 日).
std::optional<sys_days> ParseDay(std::string_view s) {
  static constexpr std::string_view kSeparators[][3] = {
      {"-", "-", ""}, {"/", "/", ""}, {".", ".", ""}, {"年", "月", "日"}};
  for (const auto& sep : kSeparators) {
    int part[3] = {0, 0, 0};
    std::string_view rest = s;
    bool ok = true;
    for (int k = 0; k < 3 && ok; ++k) {
      size_t digits = 0;
      while (digits < rest.size() && digits < 4 && rest[digits] >= '0' &&
             rest[digits] <= '9') {
        part[k] = part[k] * 10 + (rest[digits] - '0');
        ++digits;
      }
      ok = (k == 0 ? digits == 4 : digits >= 1 && digits <= 2) &&
           rest.substr(digits).starts_with(sep[k]);
      rest.remove_prefix(std::min(rest.size(), digits + sep[k].size()));
    }
    if (!ok || !rest.empty()) continue;
    year_month_day ymd{year(part[0]), month(unsigned(part[1])),
                       day(unsigned(part[2]))};
    if (!ymd.ok()) return std::nullopt;
    return sys_days(ymd);
  }
  return std::nullopt;
}

// 1 holiday, 0 workday, -1 neither.
int ParseKind(std::string_view s) {
  std::string lower = AsciiLower(std::string(s));
  for (std::string_view h : {"holiday", "休", "假", "放假", "节假日"}) {
    if (lower == h) return 1;
  }
  for (std::string_view w :
       {"workday", "班", "上班", "补班", "调休上班", "工作日"}) {
    if (lower == w) return 0;
  }
  return -1;
}

}  // namespace

const char* TimeUnitName(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kWorkingHours:
      return "working_hours";
    case TimeUnit::kWorkingDays:
      return "working_days";
    case TimeUnit::kNaturalDays:
      return "natural_days";
    case TimeUnit::kNaturalHours:
      return "natural_hours";
  }
  return "working_hours";
}

Result<TimeUnit> ParseTimeUnit(const std::string& name) {
  for (TimeUnit u : {TimeUnit::kWorkingHours, TimeUnit::kWorkingDays,
                     TimeUnit::kNaturalDays, TimeUnit::kNaturalHours}) {
    if (name == TimeUnitName(u)) return u;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unit \"" + name +
                  "\" is not one of working_hours, working_days, "
                  "natural_days, natural_hours",
              "unit");
}

Result<WorkCalendar> WorkCalendar::Load(const std::string& csv,
                                        std::vector<WorkPeriod> hours,
                                        const std::string& file, bool strict) {
  WorkCalendar cal;
  if (hours.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no working hours given; list periods like 08:30-12:00",
                "working_hours");
  }
  for (size_t i = 0; i < hours.size(); ++i) {
    const WorkPeriod& p = hours[i];
    if (p.begin < 0 || p.end > 24 * 60 || p.begin >= p.end ||
        (i > 0 && p.begin < hours[i - 1].end)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "working hours must be increasing, non-overlapping periods "
                  "within one day (period " +
                      std::to_string(i + 1) + " is not)",
                  "working_hours");
    }
  }
  cal.hours_ = std::move(hours);
  std::istringstream in(csv);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (line.empty()) continue;
    auto comma = line.find(',');
    std::string_view first = Field(std::string_view(line).substr(0, comma));
    if (line_no == 1) {
      std::string head = AsciiLower(std::string(first));
      if (comma == std::string::npos || (head != "date" && head != "日期")) {
        return Fail(ErrorCode::kInvalidArgument,
                    file +
                        ": 第一行须是表头 / the first line must be the header "
                        "`date,kind,name` (or 日期,类型,名称)");
      }
      continue;
    }
    std::string where = file + ", line " + std::to_string(line_no) + ": ";
    if (comma == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + "应为 日期,类型,名称 / expected `date,kind,name`");
    }
    auto comma2 = line.find(',', comma + 1);
    std::string_view kind_text = Field(std::string_view(line).substr(
        comma + 1,
        comma2 == std::string::npos ? std::string::npos : comma2 - comma - 1));
    std::string date(first);
    auto day = ParseDay(first);
    if (!day) {
      return Fail(
          ErrorCode::kInvalidArgument,
          where + "`" + date +
              "` 不是日期 / is not a date like 2026-10-01 or 2026/10/1");
    }
    int y = int(year_month_day(*day).year());
    if (strict && (y < 2000 || y > 2099)) {
      return Fail(
          ErrorCode::kInvalidArgument,
          where + "`" + date +
              "`: 年份不对 / the year is not 2000-2099; check the date");
    }
    int kind = ParseKind(kind_text);
    if (kind < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + "类型 / kind `" + std::string(kind_text) +
                      "` must be holiday (休) or workday (班)");
    }
    weekday wd(*day);
    if (strict && kind == 0 && wd != Saturday && wd != Sunday) {
      static constexpr const char* kNames[] = {"日", "一", "二", "三",
                                               "四", "五", "六"};
      return Fail(ErrorCode::kInvalidArgument,
                  where + date + " 是星期" + kNames[wd.c_encoding()] +
                      "，本来就是工作日 / is a weekday, a working day anyway: "
                      "调休上班 days fall on a Saturday or Sunday; check the "
                      "date");
    }
    if (cal.exceptions_.count(*day)) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + date + " 出现两次 / is listed twice");
    }
    cal.exceptions_[*day] = (kind == 0);
    cal.years_.insert(y);
  }
  return cal;
}

bool WorkCalendar::IsWorkingDay(year_month_day ymd,
                                std::set<std::string>* warnings) const {
  sys_days d(ymd);
  if (auto it = exceptions_.find(d); it != exceptions_.end()) {
    return it->second;
  }
  if (warnings && !years_.count(int(ymd.year()))) {
    int y = int(ymd.year());
    warnings->insert("calendar.csv has no entries for " + std::to_string(y) +
                     ", so days in " + std::to_string(y) +
                     " are counted by plain weekends with no holidays; add " +
                     std::to_string(y) +
                     "'s holidays and make-up working "
                     "days to calendar.csv");
  }
  weekday wd(d);
  return wd != Saturday && wd != Sunday;
}

double WorkCalendar::WorkingHoursBetween(Time from, Time to) const {
  if (to <= from) return 0;
  int64_t seconds = 0;
  for (sys_days day = LocalDay(from); day <= LocalDay(to); day += days(1)) {
    if (!IsWorkingDay(year_month_day(day))) continue;
    for (const WorkPeriod& p : hours_) {
      Time begin = Midnight(day) + minutes(p.begin);
      Time end = Midnight(day) + minutes(p.end);
      Time a = std::max(begin, from), b = std::min(end, to);
      if (b > a) seconds += (b - a).count();
    }
  }
  return double(seconds) / 3600;
}

Deadline WorkCalendar::Add(Time start, TimeLimit limit) const {
  std::set<std::string> warnings;
  Deadline out;
  auto seconds_of = [](double hours_value) {
    return std::chrono::seconds(std::llround(hours_value * 3600));
  };
  switch (limit.unit) {
    case TimeUnit::kNaturalHours:
      out.at = start + seconds_of(limit.value);
      break;
    case TimeUnit::kNaturalDays:
      out.at = start + seconds_of(limit.value * 24);
      break;
    case TimeUnit::kWorkingHours: {
      auto remaining = seconds_of(limit.value);
      sys_days day = LocalDay(start);
      // Walk working periods from `start` until the time is used up. The
      // bound stops a misconfigured calendar from looping forever.
      for (int guard = 0; guard < 3660; ++guard, day += days(1)) {
        if (!IsWorkingDay(year_month_day(day), &warnings)) continue;
        for (const WorkPeriod& p : hours_) {
          Time begin = Midnight(day) + minutes(p.begin);
          Time end = Midnight(day) + minutes(p.end);
          if (end <= start) continue;
          if (begin < start) begin = start;
          if (remaining <= end - begin) {
            out.at = begin + remaining;
            out.warnings.assign(warnings.begin(), warnings.end());
            return out;
          }
          remaining -= end - begin;
        }
      }
      out.at = start + seconds_of(limit.value);
      break;
    }
    case TimeUnit::kWorkingDays: {
      // Whole days: end of the Nth working day after the start day; a
      // fraction counts as a whole day.
      int n = int(std::ceil(limit.value));
      sys_days day = LocalDay(start);
      int counted = 0;
      for (int guard = 0; guard < 3660 && counted < n; ++guard) {
        day += days(1);
        if (IsWorkingDay(year_month_day(day), &warnings)) ++counted;
      }
      out.at = Midnight(day) + minutes(hours_.back().end);
      break;
    }
  }
  out.warnings.assign(warnings.begin(), warnings.end());
  return out;
}

namespace {

// Called several times a report on the intake path: digits written by hand
// (snprintf with seven fields was ~1.5% of the server's samples).
std::string Format(Time t, const char* zone) {
  sys_days d = floor<days>(t);
  hh_mm_ss hms(t - d);
  year_month_day ymd(d);
  int year = int(ymd.year());
  if (year < 0 || year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d%s", year,
                  unsigned(ymd.month()), unsigned(ymd.day()),
                  int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()), zone);
    return buf;
  }
  char buf[19] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0',
                  'T', '0', '0', ':', '0', '0', ':', '0', '0'};
  auto put = [&](int at, int digits, int value) {
    for (int k = at + digits - 1; k >= at; --k, value /= 10) {
      buf[k] = char('0' + value % 10);
    }
  };
  put(0, 4, year);
  put(5, 2, int(unsigned(ymd.month())));
  put(8, 2, int(unsigned(ymd.day())));
  put(11, 2, int(hms.hours().count()));
  put(14, 2, int(hms.minutes().count()));
  put(17, 2, int(hms.seconds().count()));
  return std::string(buf, sizeof buf) + zone;
}

}  // namespace

std::string FormatLocal(Time t) { return Format(t + kOffset, "+08:00"); }

std::string FormatUtc(Time t) { return Format(t, "Z"); }

namespace {

// The time of these fields, or nullopt for a field out of its range.
// Times are stored as text in China's offset and compared as text, which
// holds for four-digit years only (9999-12-31T23:00Z would be year 10000).
constexpr int kFirstYear = 1, kLastYear = 9998;

std::optional<Time> Compose(int y, int mo, int d, int h, int mi, int s,
                            minutes offset) {
  if (y < kFirstYear || y > kLastYear || mo < 0 || d < 0 || h < 0 || mi < 0 ||
      s < 0 || offset > hours(14) || offset < -hours(14)) {
    return std::nullopt;
  }
  year_month_day ymd{year(y), month(unsigned(mo)), day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  return Time(sys_days(ymd)) + hours(h) + minutes(mi) + seconds(s) - offset;
}

// The form Format() writes (2026-10-08T09:30:00+08:00, or Z), read without
// sscanf: the intake writer reads one a report. Anything else: nullopt.
std::optional<Time> ParseWritten(std::string_view text) {
  if (text.size() != 20 && text.size() != 25) return std::nullopt;
  auto number = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t k = at; k < at + n; ++k) {
      if (text[k] < '0' || text[k] > '9') return -1;
      v = v * 10 + (text[k] - '0');
    }
    return v;
  };
  auto at = [&](size_t k, char c) { return text[k] == c; };
  if (!at(4, '-') || !at(7, '-') || !at(10, 'T') || !at(13, ':') ||
      !at(16, ':')) {
    return std::nullopt;
  }
  int y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  int h = number(11, 2), mi = number(14, 2), s = number(17, 2);
  int offset = 0;  // minutes
  if (text.size() == 20) {
    if (!at(19, 'Z')) return std::nullopt;
  } else {
    int oh = number(20, 2), om = number(23, 2);
    if ((!at(19, '+') && !at(19, '-')) || !at(22, ':') || oh < 0 || om < 0 ||
        om > 59) {
      return std::nullopt;
    }
    offset = (at(19, '-') ? -1 : 1) * (oh * 60 + om);
  }
  return Compose(y, mo, d, h, mi, s, minutes(offset));
}

}  // namespace

Result<Time> ParseTime(const std::string& text) {
  if (auto t = ParseWritten(text)) return *t;
  int y, mo, d, h = 0, mi = 0, s = 0;
  char sep;
  int used = 0;
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "time `" + text +
                    "` is not like 2026-10-08T09:30 or "
                    "2026-10-08T09:30:00+08:00",
                "time");
  };
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h,
                  &mi, &used) != 6 ||
      (sep != 'T' && sep != ' ')) {
    return bad();
  }
  std::string rest = text.substr(used);
  if (rest.starts_with(":")) {
    int more = 0;
    if (std::sscanf(rest.c_str(), ":%2d%n", &s, &more) != 1) return bad();
    rest = rest.substr(more);
    // Fractions of a second (JavaScript's toISOString() writes .123Z) are
    // dropped: times are kept to the second.
    if (rest.starts_with(".")) {
      size_t digits = 1;
      while (digits < rest.size() && digits <= 9 &&
             std::isdigit(static_cast<unsigned char>(rest[digits]))) {
        ++digits;
      }
      if (digits == 1) return bad();
      rest = rest.substr(digits);
    }
  }
  minutes offset = kOffset;
  if (rest == "Z") {
    offset = minutes(0);
  } else if (!rest.empty()) {
    int oh, om;
    char sign;
    if (std::sscanf(rest.c_str(), "%c%2d:%2d", &sign, &oh, &om) != 3 ||
        (sign != '+' && sign != '-') || rest.size() != 6) {
      return bad();
    }
    if (oh > 14 || om > 59) {
      return Fail(
          ErrorCode::kInvalidArgument,
          "time `" + text +
              "` has an offset no time zone has (they run from -12:00 to "
              "+14:00); China's is +08:00",
          "time");
    }
    offset = minutes((sign == '-' ? -1 : 1) * (oh * 60 + om));
  }
  if (y < kFirstYear || y > kLastYear) {
    return Fail(ErrorCode::kInvalidArgument,
                "time `" + text + "` is outside the years " +
                    std::to_string(kFirstYear) + "-" +
                    std::to_string(kLastYear),
                "time");
  }
  auto t = Compose(y, mo, d, h, mi, s, offset);
  if (!t) return bad();
  return *t;
}

}  // namespace wangge::core
