#include "core/boundary_import.h"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/accounts.h"
#include "core/intake.h"
#include "core/town.h"
#include "tests/cli.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::core;
using nlohmann::json;
using wangge::testing::Slurp;
using wangge::testing::TempDir;

namespace {

const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

}  // namespace

TEST_CASE("ImportLayer: lists the open cases in cells the import changes") {
  TempDir dir;
  auto input = ReadTownFolder(kTown);
  REQUIRE(input);
  auto store = Store::Create(dir / "town.db");
  REQUIRE(store);
  REQUIRE((*store)->AddVersion(*input));
  REQUIRE(CreatePeopleAccounts(**store, "a-long-password"));
  auto user = (*store)->FindUser("p0021");
  REQUIRE(user);

  // Move one vertex shared by two cells of one village (not on a village
  // border) in both cells.
  json cells = json::parse(Slurp(kTown + "/cells.geojson"));
  std::set<std::string> borders;
  json villages = json::parse(Slurp(kTown + "/villages.geojson"));
  for (const auto& f : villages["features"]) {
    for (const auto& p : f["geometry"]["coordinates"][0])
      borders.insert(p.dump());
  }
  std::map<std::string, std::set<std::string>> users;
  for (const auto& f : cells["features"]) {
    for (const auto& p : f["geometry"]["coordinates"][0]) {
      users[p.dump()].insert(f["properties"]["code"]);
    }
  }
  std::string vertex;
  std::set<std::string> moved;
  for (const auto& [v, codes] : users) {
    if (codes.size() == 2 && !borders.count(v)) {
      vertex = v;
      moved = codes;
      break;
    }
  }
  REQUIRE_FALSE(vertex.empty());
  std::string changed_cell = *moved.begin();
  json shifted = json::parse(vertex);
  shifted[1] = shifted[1].get<double>() + 0.00001;
  LonLat inside{};
  for (auto& f : cells["features"]) {
    double sx = 0, sy = 0;
    auto& ring = f["geometry"]["coordinates"][0];
    for (auto& p : ring) {
      sx += p[0].get<double>();
      sy += p[1].get<double>();
      if (p.dump() == vertex) p = shifted;
    }
    if (f["properties"]["code"] == changed_cell) {
      inside = {sx / ring.size(), sy / ring.size()};
    }
  }
  // A case in the changed cell, one in an untouched cell.
  auto town = LoadTown(**store, std::nullopt);
  REQUIRE(town);
  REQUIRE(town->locator->Locate(inside)->cell == changed_cell);
  ReportInput report{.category = "01001",
                     .description = "邻里纠纷",
                     .lon = inside.lon,
                     .lat = inside.lat};
  auto now = *ParseTime("2026-11-26T10:00");
  auto in_changed = SubmitReport(**store, *town, *user, report, "k1", now);
  REQUIRE(in_changed);
  ReportInput elsewhere = report;
  elsewhere.lon = 110.19;  // outside every cell
  REQUIRE(SubmitReport(**store, *town, *user, elsewhere, "k2", now));

  std::string source = dir.Write("cells-v2.geojson", cells.dump());
  spatial::ImportOptions options{.source = source,
                                 .layer = spatial::LayerKind::kCells};
  auto outcome = ImportLayer(**store, options, "test", /*dry_run=*/true);
  REQUIRE(outcome);
  REQUIRE_MESSAGE(
      outcome->report.accepted(),
      (outcome->report.problems.empty() ? ""
                                        : outcome->report.problems[0].message));
  CHECK_FALSE(outcome->version);
  REQUIRE(outcome->affected_cases.size() == 1);
  CHECK(outcome->affected_cases[0].id == in_changed->record.id);
  CHECK(outcome->diff.changes.size() == 2);
}
