// Runs the real `wangge validate` on files GDAL writes at test time.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli.h"
#include "tests/gis_fixtures.h"
#include "tests/temp_dir.h"

using namespace wangge::testing;

namespace {

Run Validate(const std::string& args) { return Wangge("validate " + args); }

}  // namespace

TEST_CASE(
    "wangge validate: the sample town's cells pass against its villages") {
  Run r = Validate("--layer cells " + Q(kTown + "/cells.geojson") +
                   " --villages " + Q(kTown + "/villages.geojson"));
  CHECK_MESSAGE(r.status == 0, r.out << r.err);
  CHECK(Has(r.out, "通过 accepted"));
  CHECK(Has(r.out, "坐标系 CRS: EPSG:4326"));
}

TEST_CASE(
    "wangge validate: a GBK shapefile without .cpg is refused until "
    "--encoding GBK") {
  TempDir dir;
  std::string shp = dir / "cells.shp";
  GbkGaussKrugerShapefile(kTown + "/cells.geojson", shp);
  std::filesystem::remove(dir / "cells.cpg");
  Run refused = Validate("--layer cells " + Q(shp));
  CHECK(refused.status == 1);
  CHECK(Has(refused.err, "is not UTF-8"));
  CHECK(Has(refused.err, "--encoding GBK"));
  Run json = Validate("--layer cells " + Q(shp) + " --report json");
  CHECK(json.status == 1);
  auto e = nlohmann::json::parse(json.out);
  CHECK(e["accepted"] == false);
  CHECK(e["error"]["field"] == "encoding");

  Run ok =
      Validate("--layer cells " + Q(shp) + " --encoding GBK --report json");
  REQUIRE_MESSAGE(ok.status == 0, ok.out << ok.err);
  auto j = nlohmann::json::parse(ok.out);
  CHECK(j["accepted"] == true);
  CHECK(j["crs"].get<std::string>().starts_with("EPSG:4525"));
  CHECK(j["encoding"] == "GBK (--encoding)");
  CHECK(j["features"] == j["features_read"]);
  CHECK(j["problems"].empty());
}

TEST_CASE("wangge validate: overlapping cells are refused with m² and place") {
  TempDir dir;
  std::string geojson = dir.Write(
      "cells.geojson",
      R"({"type":"FeatureCollection","features":[)"
      R"({"type":"Feature","properties":{"code":"C1","name":"一","village":"V1","branch":"B1"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110.01,34.5],[110.01,34.51],[110,34.51],[110,34.5]]]}},)"
      R"({"type":"Feature","properties":{"code":"C2","name":"二","village":"V1","branch":"B1"},"geometry":{"type":"Polygon","coordinates":[[[110.005,34.5],[110.015,34.5],[110.015,34.51],[110.005,34.51],[110.005,34.5]]]}}]})");
  // As GIS staff would hand it over: a GeoPackage in CGCS2000 lon/lat.
  Ogr2ogr("-f GPKG " + Q(dir / "cells.gpkg") + " " + Q(geojson) +
          " -t_srs EPSG:4490");
  Run r = Validate("--layer cells " + Q(dir / "cells.gpkg") + " --report json");
  CHECK(r.status == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["accepted"] == false);
  REQUIRE(j["problems"].size() == 1);
  auto p = j["problems"][0];
  CHECK(p["kind"] == "overlap");
  CHECK(p["feature"] == "C1");
  CHECK(p["other"] == "C2");
  CHECK(p["area_m2"].get<double>() > 0.4e6);
  CHECK(p["area_m2"].get<double>() < 0.6e6);
  CHECK(p["lon"].get<double>() > 110.005);
  CHECK(p["lon"].get<double>() < 110.01);
  Run text = Validate("--layer cells " + Q(dir / "cells.gpkg"));
  CHECK(text.status == 1);
  CHECK(Has(text.out, "[重叠 overlap] cells.gpkg, feature C1 overlaps C2 by"));
  CHECK(Has(text.out, "拒绝 refused"));
}

TEST_CASE("wangge validate: field options map a KML's fields") {
  TempDir dir;
  Ogr2ogr("-f KML " + Q(dir / "v.kml") + " " + Q(kTown + "/villages.geojson") +
          " -sql 'SELECT code AS DM, name AS MC FROM villages'");
  Run missing = Validate("--layer villages " + Q(dir / "v.kml"));
  CHECK(missing.status == 1);
  CHECK(Has(missing.out, "has no `code` attribute"));
  Run r = Validate("--layer villages " + Q(dir / "v.kml") +
                   " --code-field DM --name-field MC --report json");
  CHECK_MESSAGE(r.status == 0, r.out << r.err);
}

TEST_CASE("wangge validate: bad arguments print usage and exit 2") {
  SUBCASE("no layer") {
    Run r = Validate(Q(kTown + "/cells.geojson"));
    CHECK(r.status == 2);
    CHECK(Has(r.err, "Usage: wangge validate"));
  }
  SUBCASE("unknown layer") {
    Run r = Validate("--layer roads " + Q(kTown + "/cells.geojson"));
    CHECK(r.status == 2);
    CHECK(Has(r.err, "unknown layer `roads`"));
  }
  SUBCASE("two sources") {
    CHECK(Validate("--layer cells a.shp b.shp").status == 2);
  }
  SUBCASE("a bad tolerance") {
    Run r = Validate("--layer cells x.shp --snap-tolerance wide");
    CHECK(r.status == 2);
    CHECK(Has(r.err, "--snap-tolerance"));
  }
  SUBCASE("an empty value, as an unset shell variable gives") {
    for (std::string flag : {"--s-srs", "--encoding", "--code-field"}) {
      Run r = Validate("--layer cells " + Q(kTown + "/cells.geojson") + " " +
                       flag + " ''");
      CHECK(r.status == 2);
      CHECK(Has(r.err, flag + " is empty"));
    }
  }
  SUBCASE("--villages for a layer other than cells") {
    CHECK(Validate("--layer zones x.shp --villages v.shp").status == 2);
  }
  SUBCASE("a missing file is not an argument error") {
    Run r = Validate("--layer cells /nonexistent/cells.shp");
    CHECK(r.status == 1);
    CHECK(Has(r.err, "no such file"));
  }
}
