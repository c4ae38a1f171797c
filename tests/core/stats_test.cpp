// Statistics on a fixture of 34 cases whose expected figures are worked out
// by hand below (32 received in November 2026, 2 just outside it).
#include "core/stats.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/town.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::core;
using nlohmann::json;
using wangge::testing::TempDir;

namespace {

const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

// One case of the fixture: when it came in, its deadline, and what happened.
struct Given {
  std::string category;
  std::string received;  // local time
  std::string handle_by;
  std::string handled;  // "" = never handled
  std::string closed;   // "" = not closed
  std::string status;   // status now
  int rework = 0;
  std::string evaluation;
  std::string office = "ZZZX";
};

std::vector<Given> Fixture() {
  std::vector<Given> g;
  auto day = [](int d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2026-11-%02dT10:00", d);
    return std::string(buf);
  };
  // Category 01001: 16 cases, all due 2026-11-20 18:00.
  const std::string due_a = "2026-11-20T18:00";
  for (int i = 1; i <= 16; ++i) {
    Given c{"01001", day(i + 1), due_a};
    if (i <= 8) {  // handled and closed on time
      c.handled = "2026-11-18T10:00";
      c.closed = "2026-11-19T10:00";
      c.status = "closed";
      c.rework = i <= 2 ? 1 : 0;
      if (i <= 4) c.evaluation = i <= 3 ? "satisfied" : "unsatisfied";
    } else if (i <= 12) {  // handled and closed late
      c.handled = "2026-11-25T10:00";
      c.closed = "2026-11-26T10:00";
      c.status = "closed";
      if (i == 9) c.evaluation = "satisfied";
    } else if (i <= 14) {  // handled on time, not yet verified
      c.handled = "2026-11-19T10:00";
      c.status = "handled";
    } else {  // never handled: still reported
      c.status = "reported";
    }
    g.push_back(c);
  }
  // The 13th (received Saturday 2026-11-14 10:00, handled Thursday 11-19
  // 10:00) has an office of its own, for the working-hours figure.
  g[12].office = "TEST";
  REQUIRE(g[12].received == "2026-11-14T10:00");
  // Category 05001: 16 cases, all due 2026-12-10 18:00 (after `now`).
  const std::string due_b = "2026-12-10T18:00";
  for (int i = 1; i <= 16; ++i) {
    Given c{"05001", day(i + 2), due_b};
    if (i <= 10) {
      c.handled = "2026-11-20T10:00";
      c.closed = "2026-11-21T10:00";
      c.status = "closed";
      c.rework = i <= 3 ? 1 : 0;
      if (i <= 6) c.evaluation = i <= 3 ? "satisfied" : "unsatisfied";
    } else {
      c.status = "accepted";
    }
    g.push_back(c);
  }
  // Just outside November: never counted.
  g.push_back({"01001", "2026-10-31T23:59:59", due_a, "2026-11-02T10:00",
               "2026-11-03T10:00", "closed"});
  g.push_back({"05001", "2026-12-01T00:00:00", due_b, "", "", "reported"});
  return g;
}

struct Db {
  TempDir dir;
  std::unique_ptr<Store> store;
  Town town;
};

std::unique_ptr<Db> Build() {
  auto db = std::make_unique<Db>();
  auto input = ReadTownFolder(kTown);
  REQUIRE(input);
  auto store = Store::Create(db->dir / "town.db");
  REQUIRE(store);
  REQUIRE((*store)->AddVersion(*input));
  REQUIRE(CreatePeopleAccounts(**store, "a-long-password"));
  auto reporter = (*store)->FindUser("p0035");
  REQUIRE(reporter);
  auto town = LoadTown(**store, std::nullopt);
  REQUIRE(town);
  int n = 0;
  for (const Given& g : Fixture()) {
    ++n;
    CaseRecord c;
    c.status = "reported";
    c.category = g.category;
    c.description = "fixture " + std::to_string(n);
    c.lon = 110.2444;
    c.lat = 34.518;
    c.received_at = FormatLocal(*ParseTime(g.received));
    c.reported_at = c.received_at;
    c.reporter = reporter->id;
    c.idempotency_key = "k" + std::to_string(n);
    c.request_hash = "h";
    c.cell = "610522102002038";
    c.village = "610522102002";
    c.branch = "610522102002-02";
    c.office = g.office;
    c.boundary_version = 1;
    c.accept_by = c.received_at;
    c.handle_by = FormatLocal(*ParseTime(g.handle_by));
    c.level = "grid";
    c.assignment = "{}";
    CaseEvent first{.actor = reporter->id,
                    .at = c.received_at,
                    .to = "reported",
                    .action = "report"};
    auto in = (*store)->InsertCase(c, first);
    REQUIRE(in);
    CaseRecord now = in->record;
    std::vector<CaseEvent> events;
    if (!g.handled.empty()) {
      events.push_back({.actor = reporter->id,
                        .at = FormatLocal(*ParseTime(g.handled)),
                        .from = "in_progress",
                        .to = "handled",
                        .action = "handle"});
    }
    if (!g.closed.empty()) {
      events.push_back({.actor = reporter->id,
                        .at = FormatLocal(*ParseTime(g.closed)),
                        .from = "verifying",
                        .to = "closed",
                        .action = "pass"});
    }
    now.status = g.status;
    now.rework_count = g.rework;
    now.evaluation = g.evaluation;
    now.version = 1 + int64_t(events.size());
    if (!events.empty() || g.status != "reported") {
      REQUIRE((*store)->AppendEvents(now, 1, events));
    }
  }
  db->store = std::move(*store);
  db->town = std::move(*town);
  return db;
}

json Row(const json& stats, const std::string& key) {
  for (const auto& r : stats["rows"]) {
    if (r["key"] == key) return r;
  }
  FAIL("no row " << key);
  return {};
}

}  // namespace

TEST_CASE("WorkCalendar: working hours between two times skip 国庆节") {
  auto town = LoadTown(TownSource{.data = kTown});
  REQUIRE(town);
  const WorkCalendar& cal = town->config.calendar;
  // Wed 09-30 17:00-18:00 (1 h), Oct 1-7 holidays, Thu 10-08 and Fri 10-09
  // (7 h each), Sat 10-10 a make-up working day 08:30-09:30 (1 h).
  CHECK(cal.WorkingHoursBetween(*ParseTime("2026-09-30T17:00"),
                                *ParseTime("2026-10-10T09:30")) ==
        doctest::Approx(16));
  CHECK(cal.WorkingHoursBetween(*ParseTime("2026-11-16T12:30"),
                                *ParseTime("2026-11-16T14:00")) == 0);
  CHECK(cal.WorkingHoursBetween(*ParseTime("2026-11-17T10:00"),
                                *ParseTime("2026-11-16T10:00")) == 0);
}

TEST_CASE("Stats: figures by category equal the hand-worked values") {
  auto db = Build();
  Time from = *ParseTime("2026-11-01T00:00");
  Time to = *ParseTime("2026-12-01T00:00");
  Time now = *ParseTime("2026-11-30T12:00");
  auto stats = ComputeStats(*db->store, db->town, "category", from, to, now);
  REQUIRE(stats);
  json j = json::parse(StatsJson(*stats, from, to));
  REQUIRE(j["rows"].size() == 2);
  json a = Row(j, "01001");
  CHECK(a["received"] == 16);
  CHECK(a["closed"] == 12);
  CHECK(a["close_rate"] == 0.75);
  CHECK(a["closed_on_time"] == 8);
  CHECK(a["on_time_close_rate"] == 0.6667);  // 8 / 12
  CHECK(a["handled"] == 14);
  CHECK(a["handled_on_time"] == 10);          // 1-8, 13, 14
  CHECK(a["on_time_handle_rate"] == 0.7143);  // 10 / 14
  CHECK(a["reworked"] == 2);
  CHECK(a["rework_rate"] == 0.1429);  // 2 / 14
  CHECK(a["overdue_now"] == 4);       // 13-16: open, due 11-20
  CHECK(a["evaluated"] == 5);
  CHECK(a["satisfied"] == 4);
  CHECK(a["satisfaction_rate"] == 0.8);
  json b = Row(j, "05001");
  CHECK(b["received"] == 16);
  CHECK(b["closed"] == 10);
  CHECK(b["close_rate"] == 0.625);
  CHECK(b["on_time_close_rate"] == 1.0);
  CHECK(b["handled"] == 10);
  CHECK(b["on_time_handle_rate"] == 1.0);
  CHECK(b["rework_rate"] == 0.3);
  CHECK(b["overdue_now"] == 0);
  CHECK(b["satisfaction_rate"] == 0.5);  // 3 / 6
  json t = j["total"];
  CHECK(t["received"] == 32);
  CHECK(t["closed"] == 22);
  CHECK(t["closed_on_time"] == 18);
  CHECK(t["handled"] == 24);
  CHECK(t["handled_on_time"] == 20);
  CHECK(t["reworked"] == 5);
  CHECK(t["overdue_now"] == 4);
  CHECK(t["evaluated"] == 11);
  CHECK(t["satisfied"] == 7);
  CHECK(t["close_rate"] == 0.6875);  // 22 / 32
}

TEST_CASE("Stats: grouping by office, mean working hours, bad input") {
  auto db = Build();
  Time from = *ParseTime("2026-11-01T00:00");
  Time to = *ParseTime("2026-12-01T00:00");
  Time now = *ParseTime("2026-11-30T12:00");
  auto stats = ComputeStats(*db->store, db->town, "office", from, to, now);
  REQUIRE(stats);
  json j = json::parse(StatsJson(*stats, from, to));
  json test = Row(j, "TEST");
  CHECK(test["received"] == 1);
  CHECK(test["handled"] == 1);
  CHECK(test["overdue_now"] == 1);
  // Sat 11-14 and Sun 11-15 are not working days; Mon, Tue, Wed 7 h each
  // (08:30-12:00, 14:30-18:00), Thu 11-19 08:30-10:00 1.5 h.
  CHECK(test["mean_handle_working_hours"] == 22.5);
  CHECK(Row(j, "ZZZX")["received"] == 31);
  // A period with nothing in it: rates are null, not NaN.
  auto empty = ComputeStats(*db->store, db->town, "branch",
                            *ParseTime("2025-01-01T00:00"),
                            *ParseTime("2025-02-01T00:00"), now);
  REQUIRE(empty);
  json e = json::parse(StatsJson(*empty, from, to));
  CHECK(e["rows"].empty());
  CHECK(e["total"]["close_rate"].is_null());
  auto bad = ComputeStats(*db->store, db->town, "weather", from, to, now);
  REQUIRE(!bad);
  CHECK(bad.error().field == "group");
  CHECK(!ComputeStats(*db->store, db->town, "branch", to, from, now));
}
