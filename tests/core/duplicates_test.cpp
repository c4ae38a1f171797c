#include "core/duplicates.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

namespace wangge::core {
namespace {

using std::chrono::hours;

Time At(const char* text) { return *ParseTime(text); }

CaseRecord Stored(int64_t id, const std::string& category, double lon,
                  double lat, Time received) {
  return CaseRecord{.id = id,
                    .category = category,
                    .lon = lon,
                    .lat = lat,
                    .received_at = FormatLocal(received)};
}

std::vector<int64_t> Ids(const std::vector<RecentCases::Candidate>& near) {
  std::vector<int64_t> ids;
  for (const auto& c : near) ids.push_back(c.recent->id);
  return ids;
}

TEST_CASE("RecentCases: within the radius, the category and the window") {
  Time t = At("2026-11-26T10:00:00+08:00");
  RecentCases recent;
  // 1/500-degree squares meet at 110.2; the cases sit on both sides of it,
  // and a degree of longitude is ~92 km at 34.5 N.
  recent.Add(Stored(1, "04001", 110.1999, 34.5, t));  // ~9 m west
  recent.Add(Stored(2, "04001", 110.2012, 34.5, t));  // ~110 m east
  recent.Add(Stored(3, "04001", 110.2030, 34.5, t));  // ~276 m east
  recent.Add(Stored(4, "01001", 110.2000, 34.5, t));  // other category
  recent.Add(Stored(5, "04001", 110.2, 34.5, t - hours(200)));  // too old
  recent.Add(Stored(6, "04001", 110.2, 34.4999, t));            // ~11 m south
  auto near = recent.Near("04001", 110.2, 34.5, 250, t - hours(168), 20);
  CHECK(Ids(near) == std::vector<int64_t>{6, 2, 1});  // newest first
  CHECK(near[1].distance_m == doctest::Approx(110.1).epsilon(0.01));
  CHECK(recent.Near("04002", 110.2, 34.5, 250, t, 20).empty());
  // The limit keeps the most recent.
  CHECK(Ids(recent.Near("04001", 110.2, 34.5, 250, t - hours(168), 2)) ==
        std::vector<int64_t>{6, 2});
  // A radius over more than 64 squares walks the category's squares.
  CHECK(Ids(recent.Near("04001", 110.2, 34.5, 5000, t - hours(168), 20)) ==
        std::vector<int64_t>{6, 3, 2, 1});
  // So does a radius of over a degree, or one that is not a number.
  CHECK(Ids(recent.Near("04001", 110.2, 34.5, 1e300, t - hours(168), 20)) ==
        std::vector<int64_t>{6, 3, 2, 1});
  CHECK(recent.Near("04001", 110.2, 34.5, std::nan(""), t - hours(168), 20)
            .empty());
}

TEST_CASE(
    "RecentCases: the newest within the radius, however many a square holds") {
  Time t = At("2026-11-26T10:00:00+08:00");
  RecentCases recent;
  // One 1/500-degree square (110.2-110.202): odd ids at the search's point,
  // even ids ~165 m east, beyond its 100 m.
  for (int64_t id = 1; id <= 100; ++id) {
    recent.Add(Stored(id, "04001", id % 2 ? 110.2001 : 110.2019, 34.5001, t));
  }
  CHECK(Ids(recent.Near("04001", 110.2001, 34.5001, 100, t, 5)) ==
        std::vector<int64_t>{99, 97, 95, 93, 91});
  CHECK(recent.Near("04001", 110.2001, 34.5001, 100, t, 1000).size() == 50);
  // A case with a lower id told after a higher one (another connection's)
  // still counts as the older.
  recent.Add(Stored(150, "04001", 110.2001, 34.5001, t));
  recent.Add(Stored(120, "04001", 110.2001, 34.5001, t));
  CHECK(Ids(recent.Near("04001", 110.2001, 34.5001, 100, t, 1)) ==
        std::vector<int64_t>{150});
  CHECK(Ids(recent.Near("04001", 110.2001, 34.5001, 100, t, 3)) ==
        std::vector<int64_t>{150, 120, 99});
  // Across squares the newest win, whichever square holds them.
  recent.Add(Stored(200, "04001", 110.1999, 34.5001, t));  // the next square
  CHECK(Ids(recent.Near("04001", 110.2001, 34.5001, 100, t, 2)) ==
        std::vector<int64_t>{200, 150});
}

TEST_CASE("RecentCases: west and south of zero, squares round down") {
  Time t = At("2026-11-26T10:00:00+08:00");
  RecentCases recent;
  recent.Add(Stored(1, "04001", -0.0001, -0.0001, t));
  recent.Add(Stored(2, "04001", 0.0001, 0.0001, t));
  CHECK(Ids(recent.Near("04001", 0, 0, 50, t, 20)) ==
        std::vector<int64_t>{2, 1});
  CHECK(Ids(recent.Near("04001", -0.0001, -0.0001, 10, t, 20)) ==
        std::vector<int64_t>{1});
}

TEST_CASE("RecentCases: cases a search's window has passed are dropped") {
  Time t = At("2026-11-26T10:00:00+08:00");
  RecentCases recent;
  recent.Add(Stored(1, "04001", 110.2, 34.5, t));
  recent.Add(Stored(2, "04001", 110.2, 34.5, t + hours(30)));
  recent.Add(Stored(3, "04001", 110.2, 34.5, t + hours(60)));
  CHECK(recent.size() == 3);
  // Within an hour's slack the first stays (received_at follows the ids
  // only roughly); beyond, it goes.
  CHECK(Ids(recent.Near("04001", 110.2, 34.5, 100, t + std::chrono::minutes(30),
                        20)) == std::vector<int64_t>{3, 2});
  CHECK(recent.size() == 3);
  CHECK(Ids(recent.Near("04001", 110.2, 34.5, 100, t + hours(40), 20)) ==
        std::vector<int64_t>{3});
  CHECK(recent.size() == 1);
}

TEST_CASE(
    "RecentCases: cases without a time or a finite position are left "
    "out") {
  Time t = At("2026-11-26T10:00:00+08:00");
  RecentCases recent;
  CaseRecord bad_time = Stored(1, "04001", 110.2, 34.5, t);
  bad_time.received_at = "yesterday";
  recent.Add(bad_time);
  recent.Add(Stored(2, "04001", std::nan(""), 34.5, t));
  CHECK(recent.size() == 0);
  CHECK(recent.Near("04001", std::nan(""), 34.5, 100, t, 20).empty());
}

}  // namespace
}  // namespace wangge::core
