// wangge export, run as a user would: export, open with ogrinfo, import into
// a fresh database, export again as GeoJSON and compare.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/cli.h"
#include "tests/gis_fixtures.h"
#include "tests/temp_dir.h"

using nlohmann::json;
using namespace wangge::testing;

namespace {

struct Vertex {
  double lon = 0, lat = 0;
};
struct Exported {
  std::string name;
  std::vector<std::vector<Vertex>> rings;  // points: one ring of one vertex
};

void AddRings(const json& geometry, Exported& out) {
  const std::string type = geometry["type"];
  auto ring_of = [](const json& coordinates) {
    std::vector<Vertex> ring;
    for (const auto& p : coordinates) ring.push_back({p[0], p[1]});
    if (ring.size() > 1) ring.pop_back();  // the closing vertex
    return ring;
  };
  if (type == "Point") {
    out.rings.push_back(
        {{geometry["coordinates"][0], geometry["coordinates"][1]}});
  } else if (type == "Polygon") {
    for (const auto& r : geometry["coordinates"])
      out.rings.push_back(ring_of(r));
  } else if (type == "MultiPolygon") {
    for (const auto& poly : geometry["coordinates"]) {
      for (const auto& r : poly) out.rings.push_back(ring_of(r));
    }
  } else {
    FAIL("unexpected geometry " << type);
  }
}

// code -> feature of a GeoJSON export.
std::map<std::string, Exported> ReadGeoJson(const std::string& path) {
  json j = json::parse(Slurp(path));
  std::map<std::string, Exported> out;
  for (const auto& f : j["features"]) {
    Exported e;
    e.name = f["properties"]["name"];
    AddRings(f["geometry"], e);
    out[f["properties"]["code"]] = e;
  }
  return out;
}

// Largest difference in degrees between the vertices of two exports, with
// the same codes and names; a ring may start elsewhere or run the other way.
double Deviation(const std::map<std::string, Exported>& a,
                 const std::map<std::string, Exported>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (const auto& [code, fa] : a) {
    INFO("feature " << code);
    auto it = b.find(code);
    REQUIRE(it != b.end());
    CHECK(it->second.name == fa.name);
    REQUIRE(it->second.rings.size() == fa.rings.size());
    for (size_t r = 0; r < fa.rings.size(); ++r) {
      const auto& ra = fa.rings[r];
      const auto& rb = it->second.rings[r];
      REQUIRE(ra.size() == rb.size());
      size_t n = ra.size();
      auto gap = [](Vertex p, Vertex q) {
        return std::max(std::abs(p.lon - q.lon), std::abs(p.lat - q.lat));
      };
      size_t start = 0;
      for (size_t k = 1; k < n; ++k) {
        if (gap(ra[0], rb[k]) < gap(ra[0], rb[start])) start = k;
      }
      double best = INFINITY;
      for (long direction : {1L, -1L}) {
        double ring_worst = 0;
        for (size_t i = 0; i < n; ++i) {
          size_t k = (start + n + direction * long(i)) % n;
          ring_worst = std::max(ring_worst, gap(ra[i], rb[k]));
        }
        best = std::min(best, ring_worst);
      }
      worst = std::max(worst, best);
    }
  }
  return worst;
}

struct Format {
  const char* name;
  const char* extension;
  const char* import_flags;  // CSV records no CRS
};

const Format kFormats[] = {
    {"geojson", ".geojson", ""}, {"gpkg", ".gpkg", ""},
    {"shp", ".shp", ""},         {"csv", ".csv", " --s-srs EPSG:4326"},
    {"kml", ".kml", ""},
};

// Largest change in degrees allowed after export -> import -> GeoJSON: less
// than one nanodegree, i.e. the very same stored vertex (measured: 0 for all
// five formats; tests/spatial/layer_writer_test.cpp says why each format
// keeps the nanodegree grid). Both sides are printed from nanodegrees with
// 17 significant digits, so equal vertices give equal numbers.
constexpr double kSameVertex = 1e-10;

}  // namespace

TEST_CASE(
    "wangge export: every format opens in ogrinfo and imports back to "
    "the same codes, names and geometry") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  for (const char* layer : {"cells", "households"}) {
    std::string reference = dir / (std::string(layer) + "-ref.geojson");
    Run ref = Wangge("export --db " + Q(db) + " --layer " + layer +
                     " --format geojson --out " + Q(reference));
    REQUIRE_MESSAGE(ref.status == 0, ref.err);
    auto expected = ReadGeoJson(reference);
    CHECK(expected.size() == (std::string(layer) == "cells" ? 225u : 176u));
    for (const Format& f : kFormats) {
      std::string layer_name = layer, format = f.name;
      CAPTURE(layer_name);
      CAPTURE(format);
      std::string out = dir / (std::string(layer) + "-out" + f.extension);
      Run exported = Wangge("export --db " + Q(db) + " --layer " + layer +
                            " --format " + f.name + " --out " + Q(out));
      REQUIRE_MESSAGE(exported.status == 0, exported.err);
      CHECK(exported.err.find("boundary version 1") != std::string::npos);

      Run info = Sh("ogrinfo -ro -so -al " + Q(out));
      CHECK_MESSAGE(info.status == 0, info.err);
      CHECK(
          info.out.find("Feature Count: " + std::to_string(expected.size())) !=
          std::string::npos);

      TempDir fresh;
      std::string db2 = InitDb(fresh, "fresh.db");
      Run imported = Wangge("import --db " + Q(db2) + " --layer " + layer +
                            " " + Q(out) + f.import_flags);
      REQUIRE_MESSAGE(imported.status == 0, (imported.out + imported.err));
      std::string again = fresh / "again.geojson";
      Run back = Wangge("export --db " + Q(db2) + " --layer " + layer +
                        " --format geojson --out " + Q(again));
      REQUIRE_MESSAGE(back.status == 0, back.err);
      // A round trip that changed nothing stores no new version.
      bool identical = imported.out.find("identical to boundary version 1") !=
                       std::string::npos;
      CHECK(back.err.find(identical
                              ? "boundary version 1"
                              : "boundary version 2") != std::string::npos);
      double worst = Deviation(expected, ReadGeoJson(again));
      MESSAGE(layer_name << " via " << format << ": largest change " << worst
                         << " degrees"
                         << std::string(identical ? ", identical" : ""));
      CHECK(worst <= kSameVertex);
    }
  }
}

TEST_CASE(
    "wangge export: a GBK shapefile imports back with the right "
    "Chinese and its DBF is not UTF-8") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  std::filesystem::create_directories(dir.path() / "gbk");
  std::string out = dir / "gbk/cells.shp";
  Run exported =
      Wangge("export --db " + Q(db) +
             " --layer cells --format shp --encoding GBK --out " + Q(out));
  REQUIRE_MESSAGE(exported.status == 0, exported.err);
  CHECK(Listing(dir.path() / "gbk") ==
        std::vector<std::string>{"cells.cpg", "cells.dbf", "cells.prj",
                                 "cells.shp", "cells.shx"});
  CHECK(Slurp(dir / "gbk/cells.cpg").starts_with("GBK"));
  std::string dbf = Slurp(dir / "gbk/cells.dbf");
  CHECK(dbf.find("太要社区") == std::string::npos);
  CHECK(dbf.find("\xCC\xAB\xD2\xAA\xC9\xE7\xC7\xF8") != std::string::npos);
  CHECK_FALSE(IsUtf8(DbfRecords(dbf)));
  // The same export in UTF-8 passes that check: it can tell the two apart.
  std::string utf8 = dir / "cells-utf8.shp";
  REQUIRE(Wangge("export --db " + Q(db) + " --layer cells --format shp --out " +
                 Q(utf8))
              .status == 0);
  CHECK(IsUtf8(DbfRecords(Slurp(dir / "cells-utf8.dbf"))));

  std::string reference = dir / "ref.geojson";
  REQUIRE(Wangge("export --db " + Q(db) +
                 " --layer cells --format geojson --out " + Q(reference))
              .status == 0);
  TempDir fresh;
  std::string db2 = InitDb(fresh, "fresh.db");
  Run imported = Wangge("import --db " + Q(db2) + " --layer cells " + Q(out));
  REQUIRE_MESSAGE(imported.status == 0, (imported.out + imported.err));
  CHECK(imported.out.find("GBK") != std::string::npos);
  std::string again = fresh / "again.geojson";
  REQUIRE(Wangge("export --db " + Q(db2) +
                 " --layer cells --format geojson --out " + Q(again))
              .status == 0);
  auto back = ReadGeoJson(again);
  CHECK(back.at("610522102002001").name == "太要社区第1网格");
  CHECK(Deviation(ReadGeoJson(reference), back) <= kSameVertex);
}

TEST_CASE(
    "wangge export: --t-srs EPSG:4525 writes a Gauss-Kruger zone 37 .prj "
    "and imports back to the same lon/lat within 1e-7 degrees") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  std::string out = dir / "cells.shp";
  Run exported =
      Wangge("export --db " + Q(db) +
             " --layer cells --format shp --t-srs EPSG:4525 --out " + Q(out));
  REQUIRE_MESSAGE(exported.status == 0, exported.err);
  std::string prj = Slurp(dir / "cells.prj");
  CHECK(prj.find("CGCS2000") != std::string::npos);
  CHECK(prj.find("Zone_37") != std::string::npos);
  Run info = Sh("ogrinfo -ro -so " + Q(out) + " cells");
  REQUIRE(info.status == 0);
  // Eastings carry the zone prefix 37 (37 400 000 m and up).
  CHECK(info.out.find("Extent: (374") != std::string::npos);

  std::string gpkg = dir / "cells.gpkg";
  Run as_gpkg =
      Wangge("export --db " + Q(db) +
             " --layer cells --format gpkg --t-srs EPSG:4525 --out " + Q(gpkg));
  REQUIRE_MESSAGE(as_gpkg.status == 0, as_gpkg.err);

  std::string reference = dir / "ref.geojson";
  REQUIRE(Wangge("export --db " + Q(db) +
                 " --layer cells --format geojson --out " + Q(reference))
              .status == 0);
  for (const std::string& source : {out, gpkg}) {
    CAPTURE(source);
    TempDir fresh;
    std::string db2 = InitDb(fresh, "fresh.db");
    Run imported =
        Wangge("import --db " + Q(db2) + " --layer cells " + Q(source));
    REQUIRE_MESSAGE(imported.status == 0, (imported.out + imported.err));
    CHECK(imported.out.find("4525") != std::string::npos);
    std::string again = fresh / "again.geojson";
    REQUIRE(Wangge("export --db " + Q(db2) +
                   " --layer cells --format geojson --out " + Q(again))
                .status == 0);
    double worst = Deviation(ReadGeoJson(reference), ReadGeoJson(again));
    MESSAGE("cells via EPSG:4525 (" << source << "): largest change " << worst
                                    << " degrees");
    CHECK(worst <= 1e-7);
  }
}

TEST_CASE(
    "wangge export: --version 1 after an import exports the old "
    "geometry") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  json households = json::parse(Slurp(kTown + "/households.geojson"));
  auto& first = households["features"][0];
  std::string code = first["properties"]["code"];
  double old_lat = first["geometry"]["coordinates"][1];
  first["geometry"]["coordinates"][1] = old_lat + 0.001;
  std::string moved = dir.Write("moved.geojson", households.dump());
  Run imported =
      Wangge("import --db " + Q(db) + " --layer households " + Q(moved));
  REQUIRE_MESSAGE(imported.status == 0, (imported.out + imported.err));

  std::string v1 = dir / "v1.geojson", now = dir / "now.geojson";
  Run old_export = Wangge("export --db " + Q(db) +
                          " --layer households --format geojson --version 1 "
                          "--out " +
                          Q(v1));
  REQUIRE_MESSAGE(old_export.status == 0, old_export.err);
  CHECK(old_export.err.find("boundary version 1") != std::string::npos);
  Run new_export =
      Wangge("export --db " + Q(db) +
             " --layer households --format geojson --out " + Q(now));
  REQUIRE_MESSAGE(new_export.status == 0, new_export.err);
  CHECK(new_export.err.find("boundary version 2") != std::string::npos);
  CHECK(std::abs(ReadGeoJson(v1).at(code).rings[0][0].lat - old_lat) < 1e-9);
  CHECK(std::abs(ReadGeoJson(now).at(code).rings[0][0].lat -
                 (old_lat + 0.001)) < 1e-9);

  Run missing = Wangge("export --db " + Q(db) +
                       " --layer households --format geojson --version 9 "
                       "--out " +
                       Q(dir / "v9.geojson"));
  CHECK(missing.status == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "v9.geojson"));
}

TEST_CASE("wangge export: an existing file is kept unless --force is given") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  std::filesystem::create_directories(dir.path() / "out");
  std::string out = dir / "out/cells.gpkg";
  std::string cmd =
      "export --db " + Q(db) + " --layer cells --format gpkg --out " + Q(out);
  REQUIRE(Wangge(cmd).status == 0);
  std::string before = Slurp(out);
  Run again = Wangge(cmd);
  CHECK(again.status == 1);
  CHECK(again.err.find(out) != std::string::npos);
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(again.err.find("--force") != std::string::npos);
  CHECK(Slurp(out) == before);
  CHECK(Listing(dir.path() / "out") == std::vector<std::string>{"cells.gpkg"});

  dir.Write("out/cells.gpkg", "not a geopackage");
  Run forced = Wangge(cmd + " --force");
  CHECK_MESSAGE(forced.status == 0, forced.err);
  CHECK(Sh("ogrinfo -ro -so " + Q(out)).status == 0);
  CHECK(Listing(dir.path() / "out") == std::vector<std::string>{"cells.gpkg"});
}

TEST_CASE(
    "wangge export: bad arguments print Usage and exit 2, failures name "
    "the file and exit 1") {
  TempDir dir;
  std::string db = InitDb(dir, "town.db");
  std::string base = "export --db " + Q(db) + " --layer cells ";
  struct BadCase {
    std::string args;
    std::string says;
  };
  const BadCase bad[] = {
      {base + "--format geojson", "--out is required"},
      {"export --layer cells --format shp --out x.shp", "--db is required"},
      {base + "--format xlsx --out c.xlsx", "geojson, gpkg, shp, csv or kml"},
      {"export --db " + Q(db) + " --layer roads --format shp --out c.shp",
       "roads"},
      {base + "--format shp --out " + Q(dir / "c.txt"), "ending in .shp"},
      {base + "--format geojson --t-srs EPSG:4525 --out " +
           Q(dir / "c.geojson"),
       "WGS84 lon/lat by definition"},
      {base + "--format kml --t-srs EPSG:4525 --out " + Q(dir / "c.kml"),
       "WGS84 lon/lat by definition"},
      {base + "--format csv --t-srs EPSG:4525 --out " + Q(dir / "c.csv"),
       "nowhere to record its CRS"},
      {base + "--format gpkg --t-srs EPSG:99999999 --out " + Q(dir / "c.gpkg"),
       "not a CRS GDAL knows"},
      {base + "--format gpkg --encoding GBK --out " + Q(dir / "c.gpkg"),
       "always UTF-8"},
      {base + "--format shp --encoding Latin9 --out " + Q(dir / "c.shp"),
       "GBK or UTF-8"},
      {base + "--format shp --version 0 --out " + Q(dir / "c.shp"),
       "--version takes"},
      {base + "--format shp --out " + Q(dir / "c.shp") + " extra", "extra"},
      {base + "--format shp --colour red --out " + Q(dir / "c.shp"),
       "--colour"},
  };
  for (const BadCase& c : bad) {
    CAPTURE(c.args);
    Run r = Wangge(c.args);
    CHECK(r.status == 2);
    CHECK(r.err.find("Usage:") != std::string::npos);
    CHECK(r.err.find(c.says) != std::string::npos);
  }
  CHECK(Listing(dir.path()) == std::vector<std::string>{"town.db"});

  Run no_db = Wangge("export --db " + Q(dir / "none.db") +
                     " --layer cells --format shp --out " + Q(dir / "c.shp"));
  CHECK(no_db.status == 1);
  CHECK(no_db.err.find("none.db") != std::string::npos);
  Run no_folder = Wangge(base + "--format shp --out " + Q(dir / "nope/c.shp"));
  CHECK(no_folder.status == 1);
  CHECK(no_folder.err.find("nope") != std::string::npos);
  CHECK(no_folder.err.find("create it first") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "c.shp"));
}
