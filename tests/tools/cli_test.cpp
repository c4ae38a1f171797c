// Runs the real `wangge` executable and checks its output and exit status.
#include "tests/cli.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/temp_dir.h"

using namespace wangge::testing;

TEST_CASE("wangge locate: a point in the sample town prints its cell as JSON") {
  // The middle of cell (col 3, row 4) of the 15 x 15 grid: 太要社区, whose
  // rows 0-3 hold 8 + 8 + 9 + 9 cells, so sequence 34 + 3 + 1 = 38.
  Run r = Wangge("locate --data '" + kTown + "' 110.2444 34.518");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["inside"] == true);
  CHECK(j["cell"] == "610522102002038");
  CHECK(j["village"] == "610522102002");
  CHECK(j["zones"].is_array());
  CHECK(j["boundary_version"] == 0);
}

TEST_CASE("wangge locate: a point west of the town is outside, with metres") {
  Run r = Wangge("locate --data '" + kTown + "' 110.19 34.5");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["inside"] == false);
  CHECK(j["cell"].is_null());
  CHECK(j["nearest_cell"].get<std::string>().starts_with("610522102206"));
  // The town's west edge is near 110.219 ± 20% of a cell: 2.4-3.9 km away.
  CHECK(j["distance_m"].get<double>() > 2400);
  CHECK(j["distance_m"].get<double>() < 3900);
}

TEST_CASE("wangge locate --csv: rows in, placements out") {
  std::string csv =
      "\xEF\xBB\xBFid,lon,lat\r\n"
      "a,110.2444,34.518\r\n"
      "\"b, quoted\",110.19,34.5\r\n";
  Run r = Wangge("locate --data '" + kTown + "' --csv -", csv);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::istringstream lines(r.out);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK(header == "id,cell,village,zones,outside_m");
  CHECK(first.starts_with("a,610522102002038,610522102002,"));
  CHECK(first.ends_with(","));  // inside: outside_m empty
  CHECK(second.starts_with("\"b, quoted\",,"));
  double metres = std::stod(second.substr(second.rfind(',') + 1));
  CHECK(metres > 1500);
}

TEST_CASE("wangge locate --csv: bad rows are all reported, nothing written") {
  Run r = Wangge("locate --data '" + kTown + "' --csv -",
                 "id,lon,lat\n1,110.24,34.5\n2,abc,34.5\n3,110.2,134.5\n");
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(Has(r.err, "line 3: lon/lat `abc`"));
  CHECK(Has(r.err, "line 4: latitude 134.5"));
}

TEST_CASE("wangge locate: bad arguments print usage and exit 2") {
  SUBCASE("no arguments") {
    Run r = Wangge("locate");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "Usage: wangge locate"));
  }
  SUBCASE("a coordinate that is not a number") {
    Run r = Wangge("locate --data '" + kTown + "' east 34.5");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "must be numbers"));
  }
  SUBCASE("an out-of-range latitude names the value") {
    Run r = Wangge("locate --data '" + kTown + "' 34.5 110.2");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "latitude 110.2"));
  }
  SUBCASE("NaN") {
    Run r = Wangge("locate --data '" + kTown + "' nan 34.5");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "longitude is not a finite number"));
  }
  SUBCASE("unknown option") {
    Run r = Wangge("locate --dta x 1 2");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "unknown option --dta"));
  }
  SUBCASE("unknown command") {
    Run r = Wangge("lokate");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "unknown command 'lokate'"));
  }
}

TEST_CASE("wangge locate: bad data exits 1 naming the file and feature") {
  TempDir dir;
  std::string village =
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"V"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110.01,34.5],[110.01,34.51],[110,34.51],[110,34.5]]]}}]})";
  dir.Write("villages.geojson", village);
  SUBCASE("missing cells file") {
    Run r = Wangge("locate --data '" + dir.path().string() + "' 110 34.5");
    CHECK(r.status == 1);
    CHECK(Has(r.err, "cells.geojson: 找不到文件 / no such file"));
  }
  SUBCASE("a cell with a bow-tie ring") {
    dir.Write(
        "cells.geojson",
        R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"C9","village":"V"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110.01,34.51],[110.01,34.5],[110,34.51],[110,34.5]]]}}]})");
    Run r = Wangge("locate --data '" + dir.path().string() + "' 110 34.5");
    CHECK(r.status == 1);
    CHECK(Has(r.err, "cells.geojson, feature C9: ring self-intersects"));
  }
  SUBCASE("a point geometry among cells") {
    dir.Write(
        "cells.geojson",
        R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"C1","village":"V"},"geometry":{"type":"Point","coordinates":[110,34.5]}}]})");
    Run r = Wangge("locate --data '" + dir.path().string() + "' 110 34.5");
    CHECK(r.status == 1);
    CHECK(Has(r.err, "cells.geojson, feature C1: geometry is a Point"));
  }
}

TEST_CASE(
    "wangge gen-sample: same seed gives the same bytes and data/taiyao is "
    "current") {
  TempDir a, b;
  REQUIRE(Wangge("gen-sample --out '" + a.path().string() + "'").status == 0);
  REQUIRE(Wangge("gen-sample --out '" + b.path().string() + "' --seed 20260101")
              .status == 0);
  auto names = [](const std::filesystem::path& dir) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      out.insert(e.path().filename().string());
    }
    return out;
  };
  std::set<std::string> files = names(a.path());
  CHECK(files.size() >= 13);
  CHECK(files == names(kTown));  // nothing missing, nothing extra
  for (const std::string& f : files) {
    CAPTURE(f);
    std::string generated = Slurp(a / f);
    CHECK(generated.size() > 100);
    CHECK(generated == Slurp(b / f));
    CHECK(generated == Slurp(kTown + "/" + f));
  }
  CHECK(Has(Slurp(a / "cells.geojson"), "\"synthetic\":true"));
  TempDir c;
  REQUIRE(
      Wangge("gen-sample --out '" + c.path().string() + "' --seed 7").status ==
      0);
  CHECK(Slurp(c / "cells.geojson") != Slurp(a / "cells.geojson"));
  CHECK(Wangge("gen-sample --seed x --out /tmp").status == 2);
}

TEST_CASE("wangge route: prints the assignment with reasons and deadlines") {
  Run r = Wangge("route --data '" + kTown +
                 "' 110.2444 34.518 04001 --at 2026-09-30T17:30");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["cell"] == "610522102002038");
  CHECK(j["branch"]["code"].get<std::string>().starts_with("610522102002-"));
  CHECK(j["offices"][0]["code"] == "HBB");
  CHECK(j["accept_by"] == "2026-09-30T18:30:00+08:00");
  CHECK(j["handle_by"] == "2026-10-08T15:00:00+08:00");
  CHECK(j["reasons"].size() >= 3);
  CHECK(j["warnings"].empty());
}

TEST_CASE("wangge route: bad input is refused with what to fix") {
  SUBCASE("unknown category") {
    Run r = Wangge("route --data '" + kTown + "' 110.2444 34.518 99999");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "\"99999\" is not in categories.json"));
  }
  SUBCASE("bad time") {
    Run r =
        Wangge("route --data '" + kTown + "' 110.2444 34.518 04001 --at soon");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "time `soon`"));
  }
  SUBCASE("missing category") {
    Run r = Wangge("route --data '" + kTown + "' 110.2444 34.518");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "Usage: wangge route"));
  }
  SUBCASE("past the calendar, a warning on stderr") {
    Run r = Wangge("route --data '" + kTown +
                   "' 110.2444 34.518 01001 --at 2026-12-31T17:00");
    CHECK(r.status == 0);
    CHECK(Has(r.err, "warning: calendar.csv has no entries for 2027"));
  }
}
