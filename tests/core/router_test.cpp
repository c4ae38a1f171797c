#include "core/router.h"

#include <doctest/doctest.h>

#include "tests/core/town_fixture.h"

using namespace wangge;
using namespace wangge::core;
using namespace wangge::testing;

namespace {

constexpr const char* kTaiyao = "610522102002";  // 太要社区 (town centre)
constexpr const char* kLaohu = "610522102206";   // 老虎城村

Time At(const std::string& text) { return *ParseTime(text); }

spatial::Placement Place(LonLat at) {
  auto p = Town().locator->Locate(at);
  REQUIRE(p);
  return *p;
}

Assignment RouteAt(LonLat at, const std::string& category,
                   const std::string& when = "2026-11-26T10:00") {
  auto a = Route(Place(at), category, At(when), Town().config);
  REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
  return *a;
}

bool HasReason(const Assignment& a, const std::string& part) {
  for (const auto& r : a.reasons) {
    if (r.find(part) != std::string::npos) return true;
  }
  return false;
}

// A point inside a cell of 老虎城村 that lies in no zone.
LonLat QuietPoint() {
  for (int i = 0;; ++i) {
    LonLat p = InsidePoint(CellIn(kLaohu, i));
    if (Place(p).zones.empty()) return p;
  }
}

}  // namespace

TEST_CASE("Route: an event goes to the cell's branch, the office co-handles") {
  const auto& cell = CellIn(kLaohu, 3);
  Assignment a = RouteAt(InsidePoint(cell), "01001");  // 邻里纠纷
  CHECK_FALSE(a.outside);
  CHECK(a.cell == cell.code);
  CHECK(a.branch == cell.Attribute("branch"));
  CHECK(a.lead == "branch");
  REQUIRE(a.grid_leader);
  CHECK(a.grid_leader->id == cell.Attribute("leader"));
  REQUIRE(a.committee_member);
  CHECK(a.committee_member->id == cell.Attribute("member"));
  REQUIRE(a.offices.size() == 1);
  CHECK(a.offices[0].code == "SFS");
  CHECK_FALSE(a.offices[0].lead);
  CHECK(HasReason(a, "先属地后属主"));
  CHECK(HasReason(a, cell.code));
}

TEST_CASE("Route: every 大类 routes to its configured office") {
  LonLat p = QuietPoint();
  struct Want {
    const char* category;
    const char* office;
  };
  for (Want w :
       {Want{"01002", "NYB"}, Want{"02001", "PCS"}, Want{"03003", "AJB"},
        Want{"04003", "HBB"}, Want{"05001", "NYB"}, Want{"06002", "CJB"},
        Want{"07001", "XFB"}, Want{"08001", "MZB"}}) {
    CAPTURE(w.category);
    Assignment a = RouteAt(p, w.category);
    REQUIRE_FALSE(a.offices.empty());
    CHECK(a.offices[0].code == w.office);
    CHECK(a.category_name.find('/') != std::string::npos);
  }
  // Co-handling offices from the category are added.
  Assignment traffic = RouteAt(p, "03004");
  REQUIRE(traffic.offices.size() == 2);
  CHECK(traffic.offices[1].code == "PCS");
}

TEST_CASE("Route: 市容秩序 in the town centre village goes to 城管执法中队") {
  Assignment centre = RouteAt(InsidePoint(CellIn(kTaiyao, 5)), "06001");
  CHECK(centre.offices[0].code == "CGZD");
  CHECK(HasReason(centre, "特别规则"));
  Assignment village = RouteAt(QuietPoint(), "06001");
  CHECK(village.offices[0].code == "CJB");
  CHECK_FALSE(HasReason(village, "特别规则"));
}

TEST_CASE(
    "Route: a zone override by theme, and the zone's member is notified") {
  const spatial::Feature* farm = nullptr;
  for (const auto& z : Town().layers.zones) {
    if (z.Attribute("theme") == "肉牛养殖场") farm = &z;
  }
  REQUIRE(farm);
  LonLat p = InsidePoint(*farm);
  Assignment a = RouteAt(p, "04001");  // 露天焚烧
  CHECK(a.offices[0].code == "NYB");
  CHECK(HasReason(a, "养殖场"));
  bool notified = false;
  for (const auto& m : a.zone_members) {
    notified |= m.id == farm->Attribute("member");
  }
  CHECK(notified);
  // The same category elsewhere stays with 生态环保办.
  CHECK(RouteAt(QuietPoint(), "04001").offices[0].code == "HBB");
}

TEST_CASE("Route: a component goes by owner first") {
  Assignment a = RouteAt(QuietPoint(), "05002");  // 路灯、井盖
  CHECK(a.kind == CategoryKind::kComponent);
  CHECK(a.lead == "office");
  CHECK(a.offices[0].code == "CJB");
  CHECK(a.offices[0].lead);
  CHECK_FALSE(a.branch.empty());  // the territory still assists
  CHECK(HasReason(a, "先属主后属地"));
}

TEST_CASE("Route: outside every cell is accepted, flagged and goes to triage") {
  Assignment a = RouteAt({110.19, 34.5}, "01001");
  CHECK(a.outside);
  CHECK(a.cell.empty());
  CHECK(a.lead == "office");
  REQUIRE(a.offices.size() >= 1);
  CHECK(a.offices[0].code == "ZZZX");
  CHECK(a.offices[0].lead);
  CHECK(HasReason(a, "不在任何网格内"));
  CHECK(a.accept_by > a.reported_at);
}

TEST_CASE("Route: deadlines follow the category and the working calendar") {
  LonLat p = QuietPoint();
  // 露天焚烧: accept within 1 natural hour, handle within 4 working hours;
  // reported the evening before 国庆节.
  Assignment a = RouteAt(p, "04001", "2026-09-30T17:30");
  CHECK(FormatLocal(a.accept_by) == "2026-09-30T18:30:00+08:00");
  CHECK(FormatLocal(a.handle_by) == "2026-10-08T15:00:00+08:00");
  CHECK(a.warnings.empty());
  // 燃气安全隐患 starts at town level.
  CHECK(RouteAt(p, "03002").level == Level::kTown);
  CHECK(RouteAt(p, "01001").level == Level::kGrid);
  // Past the calendar: a warning, not silence.
  Assignment late = RouteAt(p, "01001", "2026-12-31T17:00");
  CHECK_FALSE(late.warnings.empty());
}

TEST_CASE("Route: unknown or too coarse categories are refused") {
  LonLat p = QuietPoint();
  auto unknown =
      Route(Place(p), "99001", At("2026-11-26T10:00"), Town().config);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(unknown.error().field == "category");
  auto group = Route(Place(p), "04", At("2026-11-26T10:00"), Town().config);
  REQUIRE_FALSE(group);
  CHECK(group.error().code == ErrorCode::kInvalidArgument);
  CHECK(group.error().message.find("大类") != std::string::npos);
}
