#include "core/calendar.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace wangge;
using namespace wangge::core;

namespace {

std::string Calendar2026() {
  std::ifstream in(std::string(WANGGE_DATA_DIR) + "/taiyao/calendar.csv");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 08:30–12:00 and 14:30–18:00.
WorkCalendar Office() {
  auto cal = WorkCalendar::Load(Calendar2026(), {{510, 720}, {870, 1080}});
  REQUIRE(cal);
  return *cal;
}

Time At(const std::string& text) {
  auto t = ParseTime(text);
  REQUIRE_MESSAGE(t, text);
  return *t;
}

std::string Due(const WorkCalendar& cal, const std::string& start,
                TimeLimit limit) {
  return FormatLocal(cal.Add(At(start), limit).at);
}

}  // namespace

TEST_CASE("ParseTime and FormatLocal: China Standard Time round trip") {
  CHECK(FormatLocal(At("2026-10-08T09:30")) == "2026-10-08T09:30:00+08:00");
  CHECK(FormatLocal(At("2026-10-08 09:30:15")) == "2026-10-08T09:30:15+08:00");
  CHECK(FormatLocal(At("2026-10-08T01:30:00Z")) == "2026-10-08T09:30:00+08:00");
  CHECK(FormatLocal(At("2026-10-08T09:30+09:00")) ==
        "2026-10-08T08:30:00+08:00");
  // Every field padded; the years a four-digit form cannot hold as well.
  CHECK(FormatUtc(At("0987-01-02T03:04:05Z")) == "0987-01-02T03:04:05Z");
  CHECK(FormatLocal(At("2026-12-31T23:59:59+08:00")) ==
        "2026-12-31T23:59:59+08:00");
  CHECK(FormatUtc(At("9998-12-31T23:00:00Z") + std::chrono::days(365) +
                  std::chrono::hours(2)) == "10000-01-01T01:00:00Z");
  // What Format writes reads back exactly, in either zone and with offsets.
  for (int64_t k = 0; k < 2000; ++k) {
    Time t = At("1999-12-31T23:59:59Z") + std::chrono::seconds(k * 86'413'577);
    CAPTURE(FormatUtc(t));
    CHECK(At(FormatLocal(t)) == t);
    CHECK(At(FormatUtc(t)) == t);
  }
  CHECK(FormatUtc(At("2026-10-08T09:30:00-05:30")) == "2026-10-08T15:00:00Z");
  CHECK_FALSE(ParseTime("2026-02-30T09:00:00+08:00"));
  CHECK_FALSE(ParseTime("2026-10-08T24:00:00Z"));
  CHECK_FALSE(ParseTime("2026-10-08T09:30:00+08:00x"));
  CHECK_FALSE(ParseTime("2026-10-08T09:30:00*08:00"));
  CHECK_FALSE(ParseTime("2026-1a-08T09:30:00+08:00"));
  CHECK_FALSE(ParseTime("2026-10-08T-1:30"));  // sscanf reads -1
  CHECK_FALSE(ParseTime("2026-13-01T09:00"));
  CHECK_FALSE(ParseTime("2026-02-30T09:00"));
  CHECK_FALSE(ParseTime("yesterday"));
  CHECK_FALSE(ParseTime("2026-10-08T25:00"));
  // JavaScript's toISOString(): the fraction of a second is dropped.
  CHECK(At("2026-12-02T01:23:45.678Z") == At("2026-12-02T01:23:45Z"));
  CHECK(At("2026-12-02T09:23:45.1+08:00") == At("2026-12-02T01:23:45Z"));
  CHECK_FALSE(ParseTime("2026-12-02T01:23:45.Z"));
  CHECK_FALSE(ParseTime("2026-12-02T01:23:45.1234567890Z"));
  // Offsets beyond ±14:00 or with minutes past 59, in either parser.
  for (const char* bad : {"2026-10-08T09:30:00+99:99", "2026-10-08T09:30+15:00",
                          "2026-10-08T09:30:00+08:60"}) {
    CAPTURE(bad);
    auto t = ParseTime(bad);
    REQUIRE_FALSE(t);
    CHECK(t.error().field == "time");
  }
  CHECK(ParseTime("2026-10-08T09:30:00-14:00"));
  // A year past 9998 could turn into year 10000 in China's offset, which
  // sorts before every four-digit year as text.
  auto late = ParseTime("9999-12-31T23:00:00Z");
  REQUIRE_FALSE(late);
  CHECK(late.error().message.find("1-9998") != std::string::npos);
  CHECK(ParseTime("9998-12-31T23:00:00Z"));
}

TEST_CASE("WorkCalendar: holidays, weekends and make-up working days") {
  WorkCalendar cal = Office();
  using std::chrono::year_month_day;
  auto day = [](int y, unsigned m, unsigned d) {
    return year_month_day{std::chrono::year(y), std::chrono::month(m),
                          std::chrono::day(d)};
  };
  CHECK(cal.IsWorkingDay(day(2026, 10, 8)));         // Thursday
  CHECK_FALSE(cal.IsWorkingDay(day(2026, 10, 5)));   // 国庆节, a Monday
  CHECK(cal.IsWorkingDay(day(2026, 10, 10)));        // 调休 Saturday
  CHECK_FALSE(cal.IsWorkingDay(day(2026, 10, 17)));  // plain Saturday
  CHECK(cal.IsWorkingDay(day(2026, 9, 20)));         // 调休 Sunday
}

TEST_CASE("WorkCalendar: working days skip a weekend") {
  WorkCalendar cal = Office();
  // Friday 2026-11-27 + 1 working day = end of Monday 11-30.
  CHECK(Due(cal, "2026-11-27T10:00", {1, TimeUnit::kWorkingDays}) ==
        "2026-11-30T18:00:00+08:00");
  // Reported on Saturday: Monday is the first working day after it.
  CHECK(Due(cal, "2026-11-28T10:00", {1, TimeUnit::kWorkingDays}) ==
        "2026-11-30T18:00:00+08:00");
  CHECK(Due(cal, "2026-11-27T10:00", {3, TimeUnit::kWorkingDays}) ==
        "2026-12-02T18:00:00+08:00");
}

TEST_CASE(
    "WorkCalendar: working days across 国庆节 2026 onto a make-up Saturday") {
  WorkCalendar cal = Office();
  // Wed 09-30 + 1 → Thu 10-08 (10-01..07 are holidays).
  CHECK(Due(cal, "2026-09-30T10:00", {1, TimeUnit::kWorkingDays}) ==
        "2026-10-08T18:00:00+08:00");
  // + 3 → 10-08, 10-09, Saturday 10-10 (调休上班).
  CHECK(Due(cal, "2026-09-30T10:00", {3, TimeUnit::kWorkingDays}) ==
        "2026-10-10T18:00:00+08:00");
  // + 4 → the Sunday after is a rest day again: Monday 10-12.
  CHECK(Due(cal, "2026-09-30T10:00", {4, TimeUnit::kWorkingDays}) ==
        "2026-10-12T18:00:00+08:00");
}

TEST_CASE("WorkCalendar: working hours cross a lunch break and a night") {
  WorkCalendar cal = Office();
  // 11:00 + 2 h: 1 h before lunch, 1 h after 14:30.
  CHECK(Due(cal, "2026-11-26T11:00", {2, TimeUnit::kWorkingHours}) ==
        "2026-11-26T15:30:00+08:00");
  // 17:00 + 2 h: 1 h today, 1 h from 08:30 tomorrow.
  CHECK(Due(cal, "2026-11-26T17:00", {2, TimeUnit::kWorkingHours}) ==
        "2026-11-27T09:30:00+08:00");
  // Reported at lunch: the clock starts at 14:30.
  CHECK(Due(cal, "2026-11-26T12:30", {0.5, TimeUnit::kWorkingHours}) ==
        "2026-11-26T15:00:00+08:00");
  // Friday evening + 4 h → Monday, across the weekend.
  CHECK(Due(cal, "2026-11-27T19:00", {4, TimeUnit::kWorkingHours}) ==
        "2026-11-30T15:00:00+08:00");
  // Ends exactly at the end of a period.
  CHECK(Due(cal, "2026-11-26T08:30", {3.5, TimeUnit::kWorkingHours}) ==
        "2026-11-26T12:00:00+08:00");
}

TEST_CASE("WorkCalendar: natural days and hours ignore the calendar") {
  WorkCalendar cal = Office();
  CHECK(Due(cal, "2026-10-01T10:00", {1, TimeUnit::kNaturalDays}) ==
        "2026-10-02T10:00:00+08:00");
  CHECK(Due(cal, "2026-10-01T23:30", {1, TimeUnit::kNaturalHours}) ==
        "2026-10-02T00:30:00+08:00");
}

TEST_CASE(
    "WorkCalendar: past the calendar's end, plain weekends and a warning") {
  WorkCalendar cal = Office();
  Deadline d = cal.Add(At("2026-12-31T10:00"), {1, TimeUnit::kWorkingDays});
  // 2027-01-01 is a Friday; with no 2027 data it counts as a working day.
  CHECK(FormatLocal(d.at) == "2027-01-01T18:00:00+08:00");
  REQUIRE(d.warnings.size() == 1);
  CHECK(d.warnings[0].find("no entries for 2027") != std::string::npos);
  Deadline inside =
      cal.Add(At("2026-11-27T10:00"), {1, TimeUnit::kWorkingDays});
  CHECK(inside.warnings.empty());
}

TEST_CASE("WorkCalendar: bad calendar files name the line") {
  SUBCASE("bad date") {
    auto c = WorkCalendar::Load("date,kind,name\n2026-02-30,holiday,x\n",
                                {{510, 720}});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("line 2") != std::string::npos);
  }
  SUBCASE("bad kind") {
    auto c =
        WorkCalendar::Load("date,kind,name\n2026-02-03,rest,x\n", {{510, 720}});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("kind `rest`") != std::string::npos);
  }
  SUBCASE("date twice") {
    auto c = WorkCalendar::Load(
        "date,kind,name\n2026-02-07,holiday,x\n2026-02-07,workday,y\n",
        {{510, 720}});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("listed twice") != std::string::npos);
  }
  SUBCASE("overlapping working hours") {
    auto c = WorkCalendar::Load("date,kind,name\n", {{510, 720}, {700, 800}});
    REQUIRE_FALSE(c);
    CHECK(c.error().field == "working_hours");
  }
  SUBCASE("no header") {
    auto c = WorkCalendar::Load("2026-02-03,holiday,x\n", {{510, 720}});
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("header") != std::string::npos);
  }
}

TEST_CASE("WorkCalendar: dates and kinds as Excel users write them") {
  using std::chrono::October;
  using std::chrono::year;
  auto one = [](const std::string& csv, bool strict = true) {
    return WorkCalendar::Load(csv, {{510, 720}}, "calendar.csv", strict);
  };
  // 2026-10-01 is a Thursday, 2026-10-10 a Saturday.
  for (std::string row :
       {"2026-10-01,holiday,国庆节", "2026-10-1,holiday,x", "2026/10/1,休,x",
        "2026.10.01,假,x", "2026年10月1日,节假日,x", "\"2026/10/1\",Holiday,x",
        " 2026/10/1 , 放假 ,x"}) {
    CAPTURE(row);
    auto c = one("date,kind,name\n" + row + "\n");
    REQUIRE_MESSAGE(c, c.error().message);
    CHECK_FALSE(c->IsWorkingDay(year(2026) / October / 1));
    CHECK(c->IsWorkingDay(year(2026) / October / 2));
  }
  for (std::string kind :
       {"workday", "WORKDAY", "班", "上班", "补班", "调休上班", "工作日"}) {
    CAPTURE(kind);
    auto c = one("日期,类型,名称\n2026/10/10," + kind + ",国庆调休\n");
    REQUIRE_MESSAGE(c, c.error().message);
    CHECK(c->IsWorkingDay(year(2026) / October / 10));
    CHECK_FALSE(c->IsWorkingDay(year(2026) / October / 11));
  }
  for (std::string date :
       {"2026-10/1", "26/10/1", "10/1/2026", "2026-100-1", "2026-10-01x",
        "2026年10月1", "2026/10/", "", "２０２６-10-01"}) {
    CAPTURE(date);
    auto c = one("date,kind,name\n" + date + ",holiday,x\n");
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("line 2: `" + date + "` 不是日期") !=
          std::string::npos);
  }
  // A mistyped year or a workday on a weekday is refused when the calendar
  // is set up, read as before from a town stored earlier.
  for (std::string row : {"1926-10-01,holiday,x", "2206-10-01,holiday,x",
                          "2026-10-12,workday,x"}) {
    CAPTURE(row);
    auto c = one("date,kind,name\n" + row + "\n");
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("calendar.csv, line 2: ") == 0);
    CHECK(c.error().message.find("check the date") != std::string::npos);
    CHECK(one("date,kind,name\n" + row + "\n", false));
  }
  auto monday = one("date,kind,name\n2026-10-12,workday,x\n");
  REQUIRE_FALSE(monday);
  CHECK(monday.error().message.find("是星期一") != std::string::npos);
  auto header = one("day,kind\n2026-10-01,holiday\n");
  REQUIRE_FALSE(header);
  CHECK(header.error().message.find("日期,类型,名称") != std::string::npos);
}
