#include "spatial/layer_reader.h"

#include <doctest/doctest.h>

#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::spatial;
using wangge::testing::TempDir;

namespace {

std::string Collection(const std::string& features) {
  return R"({"type":"FeatureCollection","features":[)" + features + "]}";
}

std::string Square(const std::string& props, double x = 110, double y = 34.5) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      R"({"type":"Feature","properties":%s,"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}})",
      props.c_str(), x, y, x + 0.01, y, x + 0.01, y + 0.01, x, y + 0.01, x, y);
  return buf;
}

}  // namespace

TEST_CASE("ReadLayersDir: reads the sample town") {
  auto layers = ReadLayersDir(std::string(WANGGE_DATA_DIR) + "/taiyao");
  REQUIRE_MESSAGE(layers, (layers ? "" : layers.error().message));
  CHECK(layers->villages.size() == 4);
  CHECK(layers->cells.size() == 225);
  CHECK(layers->zones.size() == 36);
  const Feature& cell = layers->cells.front();
  CHECK(cell.code.size() == 15);
  CHECK(cell.Attribute("village") == cell.code.substr(0, 12));
  CHECK_FALSE(cell.Attribute("branch").empty());
  CHECK_FALSE(cell.name.empty());
}

TEST_CASE("ReadPolygonLayer: dirty rings are repaired and counted") {
  TempDir dir;
  std::string path = dir.Write(
      "dirty.geojson",
      Collection(
          R"({"type":"Feature","properties":{"code":"D1"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110,34.5],[110.01,34.5],[110.01,34.505],[110.02,34.505],[110.01,34.505],[110.01,34.51],[110,34.51],[110,34.5]]]}})"));
  auto read = ReadPolygonLayer(path, {});
  REQUIRE(read);
  CHECK(read->repairs.repeated_vertices == 1);
  CHECK(read->repairs.spikes == 1);
  CHECK(read->features[0].shape.parts[0].rings[0].size() == 5);
}

TEST_CASE(
    "ReadPolygonLayer: malformed data is refused, naming file and feature") {
  TempDir dir;
  SUBCASE("missing file") {
    auto r = ReadPolygonLayer(dir / "nope.geojson", {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("nope.geojson: 找不到文件 / no such file") !=
          std::string::npos);
  }
  SUBCASE("not a vector file") {
    auto r =
        ReadPolygonLayer(dir.Write("broken.geojson", "{\"type\": \"Feat"), {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("broken.geojson: 无法读取 / cannot be read") !=
          std::string::npos);
  }
  SUBCASE("feature without a code") {
    auto r = ReadPolygonLayer(
        dir.Write("cells.geojson",
                  Collection(Square(R"({"code":"A"})") + "," +
                             Square(R"({"code":null,"name":"x"})", 110.01))),
        {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("cells.geojson, feature #2: has no `code`") !=
          std::string::npos);
  }
  SUBCASE("no code field at all") {
    auto r = ReadPolygonLayer(
        dir.Write("cells.geojson", Collection(Square(R"({"name":"x"})"))), {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("has no `code` attribute") !=
          std::string::npos);
  }
  SUBCASE("a required attribute is empty") {
    auto r = ReadPolygonLayer(
        dir.Write("cells.geojson",
                  Collection(Square(R"({"code":"A","village":""})"))),
        {"village"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("feature A: has no `village` value") !=
          std::string::npos);
  }
  SUBCASE("non-polygon geometry") {
    auto r = ReadPolygonLayer(
        dir.Write(
            "cells.geojson",
            Collection(
                R"({"type":"Feature","properties":{"code":"L1"},"geometry":{"type":"LineString","coordinates":[[110,34.5],[110.01,34.5]]}})")),
        {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(
              "cells.geojson, feature L1: geometry is a Line String") !=
          std::string::npos);
  }
  SUBCASE("a bow-tie ring") {
    auto r = ReadPolygonLayer(
        dir.Write(
            "cells.geojson",
            Collection(
                R"({"type":"Feature","properties":{"code":"X1"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110.01,34.51],[110.01,34.5],[110,34.51],[110,34.5]]]}})")),
        {});
    REQUIRE_FALSE(r);
    CHECK(
        r.error().message.find(
            "cells.geojson, feature X1: ring self-intersects near (110.005") !=
        std::string::npos);
  }
  SUBCASE("projected metres without a CRS") {
    auto r = ReadPolygonLayer(
        dir.Write(
            "cells.geojson",
            Collection(
                R"({"type":"Feature","properties":{"code":"P1"},"geometry":{"type":"Polygon","coordinates":[[[37420000,3820000],[37421000,3820000],[37421000,3821000],[37420000,3820000]]]}})")),
        {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("projected metres") != std::string::npos);
  }
}
