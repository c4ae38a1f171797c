// wangge init / import / versions / diff / locate --db, run as a user would.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/cli.h"
#include "tests/gis_fixtures.h"
#include "tests/temp_dir.h"

using nlohmann::json;
using namespace wangge::testing;

namespace {

// cells.geojson with one vertex shared by exactly two cells moved by 1e-5°
// in both, so the tiling stays exact; returns the two codes.
std::set<std::string> MoveSharedVertex(json& cells, const json& villages) {
  std::set<std::string> on_village_borders;
  for (const auto& f : villages["features"]) {
    for (const auto& p : f["geometry"]["coordinates"][0]) {
      on_village_borders.insert(p.dump());
    }
  }
  std::map<std::string, std::set<std::string>> users;
  for (const auto& f : cells["features"]) {
    for (const auto& p : f["geometry"]["coordinates"][0]) {
      users[p.dump()].insert(f["properties"]["code"]);
    }
  }
  // Prefer an interior vertex of an edge between two cells of one village.
  for (const auto& [vertex, codes] : users) {
    if (codes.size() != 2 || on_village_borders.count(vertex)) continue;
    if (codes.begin()->substr(0, 12) != codes.rbegin()->substr(0, 12)) continue;
    json moved = json::parse(vertex);
    moved[1] = moved[1].get<double>() + 0.00001;
    for (auto& f : cells["features"]) {
      for (auto& p : f["geometry"]["coordinates"][0]) {
        if (p.dump() == vertex) p = moved;
      }
    }
    return codes;
  }
  FAIL("no vertex shared by two cells");
  return {};
}

}  // namespace

TEST_CASE("wangge init: creates version 1 and never overwrites") {
  TempDir dir;
  std::string db = dir / "town.db";
  Run init = Wangge("init --db '" + db + "' --data '" + kTown + "'");
  REQUIRE_MESSAGE(init.status == 0, init.err);
  Run versions = Wangge("versions --db '" + db + "' --json");
  REQUIRE(versions.status == 0);
  json v = json::parse(versions.out);
  REQUIRE(v.size() == 1);
  CHECK(v[0]["version"] == 1);
  CHECK(v[0]["layers"].size() == 5);
  std::string before = Slurp(db);
  Run again = Wangge("init --db '" + db + "' --data '" + kTown + "'");
  CHECK(again.status == 1);
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(Slurp(db) == before);
  Run located = Wangge("locate --db '" + db + "' 110.2444 34.518");
  REQUIRE(located.status == 0);
  CHECK(json::parse(located.out)["boundary_version"] == 1);
  Run routed = Wangge("route --db '" + db +
                      "' 110.2444 34.518 01001 --at 2026-11-26T10:00");
  REQUIRE_MESSAGE(routed.status == 0, routed.err);
  CHECK(json::parse(routed.out)["cell"] == "610522102002038");
}

TEST_CASE(
    "wangge init: a person with several login roles gets an account for the "
    "first, and the command that adds each other one") {
  TempDir dir;
  std::filesystem::copy(kTown, dir / "town",
                        std::filesystem::copy_options::recursive);
  // The first branch secretary is also a grid leader and office staff
  // (and branch is listed twice).
  std::string people = Slurp(dir / "town/people.json");
  size_t at = people.find("\"roles\": [", people.find("\"id\": \"P0023\""));
  REQUIRE(at != std::string::npos);
  people.replace(at, people.find(']', at) + 1 - at,
                 R"("roles": ["branch", "grid_leader", "office", "branch"],)"
                 R"( "office": "ZZZX")");
  dir.Write("town/people.json", people);
  std::string db = dir / "t.db";
  Run init = Wangge("init --db " + Q(db) + " --data " + Q(dir / "town"));
  REQUIRE_MESSAGE(init.status == 0, init.err);
  CHECK(init.err.find("297 accounts for people.json") != std::string::npos);
  const std::string add = "add one: wangge user add --db " + db;
  std::vector<std::string> commands;
  for (size_t from = 0; (from = init.err.find(add, from)) != std::string::npos;
       from += add.size()) {
    commands.push_back(
        init.err.substr(from + 9, init.err.find('\n', from) - from - 9));
  }
  REQUIRE(commands.size() == 2);
  CHECK(commands[0] == "wangge user add --db " + db +
                           " --username p0023-grid_leader --role grid_leader "
                           "--person P0023 --password-stdin");
  CHECK(commands[1] == "wangge user add --db " + db +
                           " --username p0023-office --role office --scope "
                           "ZZZX --person P0023 --password-stdin");
  CHECK(init.err.find("P0023 示例太要社区第一支部书记: 账号 p0023 的角色为 "
                      "branch") != std::string::npos);
  // The commands work as printed.
  for (const std::string& command : commands) {
    Run added = Wangge(command.substr(7), "a-long-password\n");
    CHECK_MESSAGE(added.status == 0, added.err);
  }
  std::string users = Wangge("user list --db " + Q(db)).out;
  CHECK(users.find("p0023\tbranch\t610522102002-01\t") != std::string::npos);
  // Each with the person's name (`user add --person` without --name).
  CHECK(
      users.find("p0023-grid_leader\tgrid_leader\t-\tactive\t示例太要社区第一支"
                 "部书记") != std::string::npos);
  CHECK(users.find(
            "p0023-office\toffice\tZZZX\tactive\t示例太要社区第一支部书记") !=
        std::string::npos);
}

TEST_CASE(
    "wangge import: a GBK file name is stored as text; a GBK --actor is "
    "refused; the town still loads") {
  TempDir dir;
  std::string db = InitDb(dir);
  // 网格.geojson in GBK bytes, as unzip leaves a Chinese Windows zip.
  std::string gbk_name = dir / "\xCD\xF8\xB8\xF1.geojson";
  std::filesystem::copy_file(kTown + "/cells.geojson", gbk_name);
  Run refused = Wangge("import --db '" + db + "' --layer cells '" + gbk_name +
                       "' --actor $(printf '\\325\\305\\310\\375')");
  CHECK(refused.status == 2);
  CHECK(refused.err.find("--actor takes a name in UTF-8") != std::string::npos);
  Run imported = Wangge("import --db '" + db + "' --layer cells '" + gbk_name +
                        "' --report json");
  REQUIRE_MESSAGE(imported.status == 0, (imported.err + imported.out));
  CHECK(json::parse(imported.out)["file"] ==
        "\uFFFD\uFFFD\uFFFD\uFFFD.geojson");
  Run versions = Wangge("versions --db '" + db + "' --json");
  REQUIRE_MESSAGE(versions.status == 0, versions.err);
  json v = json::parse(versions.out);
  REQUIRE(v.size() == 2);
  CHECK(v[1]["source"] == "\uFFFD\uFFFD\uFFFD\uFFFD.geojson");
  // Loading the town (as `wangge serve` does at every start) still works.
  Run located = Wangge("locate --db '" + db + "' 110.2444 34.518");
  REQUIRE_MESSAGE(located.status == 0, located.err);
  CHECK(json::parse(located.out)["boundary_version"] == 2);
}

TEST_CASE(
    "wangge serve: a boundary version imported beside it is served within "
    "seconds") {
  TempDir dir;
  std::string db = InitDb(dir);
  std::string log = dir / "log";
  ServeProcess server(db, log, 2);
  std::string healthz =
      "curl -sS http://127.0.0.1:" + std::to_string(server.port()) + "/healthz";
  auto served = [&] {
    Run r = Sh(healthz);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return json::parse(r.out)["boundary_version"].get<int>();
  };
  CHECK(served() == 1);
  json cells = json::parse(Slurp(kTown + "/cells.geojson"));
  MoveSharedVertex(cells, json::parse(Slurp(kTown + "/villages.geojson")));
  Run imported = Wangge("import --db '" + db + "' --layer cells '" +
                        dir.Write("cells-v2.geojson", cells.dump()) + "'");
  REQUIRE_MESSAGE(imported.status == 0, (imported.err + imported.out));
  CHECK(imported.out.find("switches to it within seconds") !=
        std::string::npos);
  int version = 1;
  for (int i = 0; i < 150 && version == 1; ++i) {  // checked every 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    version = served();
  }
  CHECK(version == 2);
  CHECK(Slurp(log).find("now serving boundary version 2") != std::string::npos);
}

TEST_CASE("wangge init: a broken town folder creates nothing") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "town");
  for (const auto& e : std::filesystem::directory_iterator(kTown)) {
    std::filesystem::copy_file(
        e.path(), dir.path() / "town" / e.path().filename(),
        std::filesystem::copy_options::overwrite_existing);
  }
  dir.Write("town/offices.json", "[{\"code\": \"ZZZX\"}]");
  Run init = Wangge("init --db '" + (dir / "t.db") + "' --data '" +
                    (dir / "town") + "'");
  CHECK(init.status == 1);
  CHECK(init.err.find("offices.json") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "t.db"));
}

TEST_CASE(
    "wangge import: a valid re-import makes version 2 and diff shows the "
    "changed cells") {
  TempDir dir;
  std::string db = InitDb(dir);
  json cells = json::parse(Slurp(kTown + "/cells.geojson"));
  std::set<std::string> moved =
      MoveSharedVertex(cells, json::parse(Slurp(kTown + "/villages.geojson")));
  std::string source = dir.Write("cells-v2.geojson", cells.dump());

  SUBCASE("dry run stores nothing") {
    std::string before = Slurp(db);
    Run dry = Wangge("import --db '" + db + "' --layer cells '" + source +
                     "' --dry-run --report json");
    REQUIRE_MESSAGE(dry.status == 0, (dry.err + dry.out));
    CHECK(json::parse(dry.out)["version"].is_null());
    CHECK(Slurp(db) == before);
  }
  Run imported = Wangge("import --db '" + db + "' --layer cells '" + source +
                        "' --actor 测试员 --report json");
  REQUIRE_MESSAGE(imported.status == 0, (imported.err + imported.out));
  json report = json::parse(imported.out);
  CHECK(report["version"] == 2);
  CHECK(report["accepted"] == true);

  Run diff = Wangge("diff --db '" + db + "' --from 1 --to 2 --json");
  REQUIRE(diff.status == 0);
  json d = json::parse(diff.out);
  std::set<std::string> changed;
  double total_change = 0;
  for (const auto& c : d["cells"]) {
    changed.insert(c["code"]);
    CHECK(c["change"] == "geometry");
    total_change += c["area_change_m2"].get<double>();
  }
  CHECK(changed == moved);
  CHECK(std::abs(total_change) < 1.0);  // one cell's loss is the other's gain

  Run versions = Wangge("versions --db '" + db + "' --json");
  json v = json::parse(versions.out);
  REQUIRE(v.size() == 2);
  CHECK(v[1]["actor"] == "测试员");
  CHECK(v[1]["layers"] == json::array({"cells"}));
  CHECK(v[1]["source"] == "cells-v2.geojson");
  CHECK(json::parse(Wangge("locate --db '" + db + "' 110.2444 34.518")
                        .out)["boundary_version"] == 2);

  // The same file again, or the sample's own households: nothing new.
  Run again = Wangge("import --db '" + db + "' --layer cells '" + source +
                     "' --report json");
  REQUIRE_MESSAGE(again.status == 0, (again.err + again.out));
  json same = json::parse(again.out);
  CHECK(same["version"].is_null());
  CHECK(same["unchanged_from"] == 2);
  Run points = Wangge("import --db '" + db + "' --layer households '" + kTown +
                      "/households.geojson'");
  CHECK(points.status == 0);
  CHECK(points.out.find("identical to boundary version 2: nothing stored") !=
        std::string::npos);
  CHECK(json::parse(Wangge("versions --db '" + db + "' --json").out).size() ==
        2);
}

TEST_CASE(
    "wangge import: refused imports leave the database byte for byte "
    "unchanged") {
  TempDir dir;
  std::string db = InitDb(dir);
  std::string before = Slurp(db);
  json cells = json::parse(Slurp(kTown + "/cells.geojson"));
  std::string bad;
  SUBCASE("a cell names an unknown branch") {
    cells["features"][0]["properties"]["branch"] = "no-such-branch";
    bad = "no-such-branch";
  }
  SUBCASE("a bow-tie cell") {
    cells["features"][5]["geometry"]["coordinates"][0] = json::parse(
        "[[110.25,34.5],[110.26,34.51],[110.26,34.5],[110.25,34.51],[110.25,34."
        "5]]");
    bad = "self-intersect";
  }
  SUBCASE("two cells overlap") {
    cells["features"][7]["geometry"] = cells["features"][8]["geometry"];
    bad = "overlap";
  }
  SUBCASE("a cell left out: a gap in its village") {
    cells["features"].erase(cells["features"].begin() + 20);
    bad = "gap";
  }
  std::string source = dir.Write("cells-bad.geojson", cells.dump());
  Run r = Wangge("import --db '" + db + "' --layer cells '" + source + "'");
  CHECK(r.status == 1);
  CHECK_MESSAGE((r.out + r.err).find(bad) != std::string::npos,
                (r.out + r.err));
  CHECK(Slurp(db) == before);
  CHECK(json::parse(Wangge("versions --db '" + db + "' --json").out).size() ==
        1);
}

TEST_CASE(
    "wangge import: a GBK shapefile in CGCS2000 Gauss-Krüger keeps names and "
    "places") {
  TempDir dir;
  std::string db = InitDb(dir);
  GbkGaussKrugerShapefile(kTown + "/cells.geojson", dir / "cells_gk.shp");
  CHECK(Slurp(dir / "cells_gk.cpg").find("GBK") != std::string::npos);
  CHECK(Slurp(dir / "cells_gk.prj").find("Zone_37") != std::string::npos);
  Run imported = Wangge("import --db '" + db + "' --layer cells '" +
                        (dir / "cells_gk.shp") + "' --report json");
  REQUIRE_MESSAGE(imported.status == 0, (imported.err + imported.out));
  Run diff = Wangge("diff --db '" + db + "' --from 1 --to 2 --json");
  json d = json::parse(diff.out);
  for (const auto& c : d["cells"]) {
    CAPTURE(c.dump());
    // The projection round trip moves vertices by far less than a metre and
    // no name or attribute changes: the GBK text decoded correctly.
    CHECK(c["change"] == "geometry");
    CHECK(std::abs(c["area_change_m2"].get<double>()) < 1.0);
  }
  Run located = Wangge("locate --db '" + db + "' 110.2444 34.518");
  CHECK(json::parse(located.out)["cell"] == "610522102002038");
}

TEST_CASE(
    "wangge import, versions, diff: bad arguments and missing databases") {
  CHECK(Wangge("import --layer cells x.geojson").status == 2);
  CHECK(Wangge("diff --db x.db --from one --to 2").status == 2);
  Run missing = Wangge("versions --db /nonexistent/town.db");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("wangge init") != std::string::npos);
  TempDir dir;
  std::string db = InitDb(dir);
  Run unknown = Wangge("diff --db '" + db + "' --from 1 --to 9");
  CHECK(unknown.status == 1);
  CHECK(unknown.err.find("version 9 does not exist") != std::string::npos);
  std::string text = dir.Write("not-a-db.db", "hello, this is text");
  Run not_db = Wangge("versions --db '" + text + "'");
  CHECK(not_db.status == 1);
  CHECK(not_db.err.find("not a wangge database") != std::string::npos);
}
