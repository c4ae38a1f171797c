// WriteLayer: every format written, read back through ReadLayer, compared.
#include "spatial/layer_writer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "spatial/import.h"
#include "spatial/layer_reader.h"
#include "tests/gis_fixtures.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::spatial;
using namespace wangge::testing;

namespace {

const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

ImportResult Read(const std::string& source, LayerKind layer,
                  const std::string& source_srs = "") {
  ImportOptions o;
  o.source = source;
  o.layer = layer;
  o.source_srs = source_srs;
  o.check_topology = false;
  auto r = ReadLayer(o);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  INFO(FormatReport(*r));
  REQUIRE(r->accepted());
  return *r;
}

const ImportResult& SampleCells() {
  static ImportResult cells = Read(kTown + "/cells.geojson", LayerKind::kCells);
  return cells;
}

const ImportResult& SampleHouseholds() {
  static ImportResult households =
      Read(kTown + "/households.geojson", LayerKind::kHouseholds);
  return households;
}

// Largest coordinate difference in nanodegrees between two rings, allowing
// another start vertex and the other direction; nullopt if they differ in
// size.
std::optional<int64_t> RingDeviation(const Ring& a, const Ring& b) {
  if (a.size() != b.size() || a.empty()) return std::nullopt;
  size_t n = a.size();
  auto gap = [](Pt p, Pt q) {
    return std::max(std::llabs(p.x - q.x), std::llabs(p.y - q.y));
  };
  size_t start = 0;
  for (size_t j = 1; j < n; ++j) {
    if (gap(a[0], b[j]) < gap(a[0], b[start])) start = j;
  }
  std::optional<int64_t> best;
  for (int direction : {1, -1}) {
    int64_t worst = 0;
    for (size_t i = 0; i < n; ++i) {
      size_t j = (start + n + direction * static_cast<int64_t>(i)) % n;
      worst = std::max<int64_t>(worst, gap(a[i], b[j]));
    }
    if (!best || worst < *best) best = worst;
  }
  return best;
}

std::optional<int64_t> ShapeDeviation(const Shape& a, const Shape& b) {
  if (a.parts.size() != b.parts.size()) return std::nullopt;
  int64_t worst = 0;
  for (size_t p = 0; p < a.parts.size(); ++p) {
    const auto& ra = a.parts[p].rings;
    const auto& rb = b.parts[p].rings;
    if (ra.size() != rb.size()) return std::nullopt;
    for (size_t r = 0; r < ra.size(); ++r) {
      auto d = RingDeviation(ra[r], rb[r]);
      if (!d) return std::nullopt;
      worst = std::max(worst, *d);
    }
  }
  return worst;
}

// Compares what was written with what was read back: same codes in the same
// order, same names and (unless `shapefile_fields`) the same attributes;
// returns the largest vertex difference in nanodegrees.
int64_t CompareFeatures(const std::vector<Feature>& written,
                        const std::vector<Feature>& read) {
  REQUIRE(read.size() == written.size());
  int64_t worst = 0;
  for (size_t i = 0; i < written.size(); ++i) {
    INFO("feature " << written[i].code);
    REQUIRE(read[i].code == written[i].code);
    CHECK(read[i].name == written[i].name);
    for (const auto& [key, value] : written[i].attributes) {
      CHECK(read[i].Attribute(key) == value);
    }
    auto d = ShapeDeviation(written[i].shape, read[i].shape);
    REQUIRE_MESSAGE(d.has_value(), "parts or rings differ");
    worst = std::max(worst, *d);
  }
  return worst;
}

int64_t ComparePoints(const std::vector<PointFeature>& written,
                      const std::vector<PointFeature>& read,
                      bool short_field_names) {
  REQUIRE(read.size() == written.size());
  int64_t worst = 0;
  for (size_t i = 0; i < written.size(); ++i) {
    INFO("point " << written[i].code);
    REQUIRE(read[i].code == written[i].code);
    CHECK(read[i].name == written[i].name);
    for (const auto& [key, value] : written[i].attributes) {
      // A DBF field name holds 10 characters; GDAL cuts longer ones.
      std::string field = short_field_names ? key.substr(0, 10) : key;
      CHECK(read[i].Attribute(field) == value);
    }
    worst =
        std::max<int64_t>({worst, std::llabs(read[i].at.x - written[i].at.x),
                           std::llabs(read[i].at.y - written[i].at.y)});
  }
  return worst;
}

struct FormatCase {
  ExportFormat format;
  const char* extension;
  // Largest vertex change allowed, in nanodegrees: none, for every format
  // (measured: 0 for all five). GeoPackage and Shapefile keep IEEE doubles and
  // GeoJSON is written with 17 significant digits, which name each double
  // exactly; CSV (WKT) and KML write 15 significant digits, and a lon/lat
  // needs at most 3 + 9 = 12 to name its nanodegree, so reading rounds back
  // to the very vertex. The sample holds 34.466000002, which GDAL's GeoJSON
  // writer trimmed to 34.466 at COORDINATE_PRECISION=9: a bound of 0 catches
  // that kind of loss.
  int64_t bound;
  const char* source_srs;  // CSV records no CRS
};

const FormatCase kFormats[] = {
    {ExportFormat::kGeoJson, ".geojson", 0, ""},
    {ExportFormat::kGeoPackage, ".gpkg", 0, ""},
    {ExportFormat::kShapefile, ".shp", 0, ""},
    {ExportFormat::kCsv, ".csv", 0, "EPSG:4326"},
    {ExportFormat::kKml, ".kml", 0, ""},
};

// A WKT literal as a stored shape (open rings, cleaned).
Shape Clean(const char* wkt) {
  auto parsed = ParseWkt(wkt);
  REQUIRE(parsed.has_value());
  auto cleaned = CleanShape(*parsed);
  REQUIRE(cleaned.has_value());
  return cleaned->shape;
}

}  // namespace

TEST_CASE(
    "WriteLayer: cells read back with the same codes, names, attributes "
    "and vertices in every format") {
  const auto& cells = SampleCells().features;
  REQUIRE(cells.size() == 225);
  for (const FormatCase& c : kFormats) {
    std::string format = ExportFormatName(c.format);
    CAPTURE(format);
    TempDir dir;
    std::string out = dir / (std::string("cells") + c.extension);
    WriteOptions o{.path = out, .format = c.format, .layer = LayerKind::kCells};
    auto written = WriteLayer(o, cells, {});
    REQUIRE_MESSAGE(written.has_value(),
                    (written ? "" : written.error().message));
    CHECK(written->features == 225);
    CHECK(written->files.front() == std::filesystem::absolute(out).string());
    ImportResult back = Read(out, LayerKind::kCells, c.source_srs);
    int64_t worst = CompareFeatures(cells, back.features);
    MESSAGE(format << " cells: largest vertex change " << worst
                   << " nanodegrees");
    CHECK(worst <= c.bound);
  }
}

TEST_CASE(
    "WriteLayer: households read back as the same points in every "
    "format") {
  const auto& households = SampleHouseholds().points;
  REQUIRE(households.size() == 176);
  for (const FormatCase& c : kFormats) {
    std::string format = ExportFormatName(c.format);
    CAPTURE(format);
    TempDir dir;
    std::string out = dir / (std::string("households") + c.extension);
    WriteOptions o{
        .path = out, .format = c.format, .layer = LayerKind::kHouseholds};
    auto written = WriteLayer(o, {}, households);
    REQUIRE_MESSAGE(written.has_value(),
                    (written ? "" : written.error().message));
    CHECK(written->features == 176);
    ImportResult back = Read(out, LayerKind::kHouseholds, c.source_srs);
    bool shp = c.format == ExportFormat::kShapefile;
    int64_t worst = ComparePoints(households, back.points, shp);
    MESSAGE(format << " households: largest change " << worst
                   << " nanodegrees");
    CHECK(worst <= c.bound);
    if (shp) {
      // linked_households does not fit a DBF field name: said, not hidden.
      bool told = false;
      for (const auto& w : written->warnings) {
        told |= w.find("linked_households") != std::string::npos;
      }
      CHECK(told);
    }
  }
}

TEST_CASE(
    "WriteLayer: a feature of several parts makes every feature a "
    "MultiPolygon that reads back part by part") {
  Shape two = Clean(
      "MULTIPOLYGON(((110.1 34.1,110.2 34.1,110.2 34.2,110.1 34.2,110.1 34.1)),"
      "((110.3 34.1,110.4 34.1,110.4 34.2,110.3 34.2,110.3 34.1),"
      "(110.33 34.13,110.37 34.13,110.37 34.17,110.33 34.17,110.33 34.13)))");
  Shape one = Clean("POLYGON((110.5 34.1,110.6 34.1,110.55 34.2,110.5 34.1))");
  std::vector<Feature> zones = {
      {"Z1", "示范区一", {{"member", "P1"}}, two},
      {"Z2", "示范区二", {{"member", "P2"}}, one},
  };
  for (const FormatCase& c : kFormats) {
    std::string format = ExportFormatName(c.format);
    CAPTURE(format);
    TempDir dir;
    std::string out = dir / ("zones." + format);
    auto written = WriteLayer(
        {.path = out, .format = c.format, .layer = LayerKind::kZones}, zones,
        {});
    REQUIRE_MESSAGE(written.has_value(),
                    (written ? "" : written.error().message));
    ImportResult back = Read(out, LayerKind::kZones, c.source_srs);
    CHECK(CompareFeatures(zones, back.features) == 0);
    CHECK(back.features[0].shape.parts.size() == 2);
    CHECK(back.features[0].shape.parts[1].rings.size() == 2);
  }
}

TEST_CASE(
    "WriteLayer: a GBK shapefile says GBK in its .cpg, holds GBK bytes "
    "and reads back as the same Chinese") {
  const auto& cells = SampleCells().features;
  TempDir dir;
  std::string out = dir / "cells.shp";
  auto written = WriteLayer({.path = out,
                             .format = ExportFormat::kShapefile,
                             .layer = LayerKind::kCells,
                             .encoding = "GBK"},
                            cells, {});
  REQUIRE_MESSAGE(written.has_value(),
                  (written ? "" : written.error().message));
  CHECK(Listing(dir.path()) ==
        std::vector<std::string>{"cells.cpg", "cells.dbf", "cells.prj",
                                 "cells.shp", "cells.shx"});
  CHECK(Slurp(dir / "cells.cpg").starts_with("GBK"));
  std::string dbf = Slurp(dir / "cells.dbf");
  CHECK_FALSE(IsUtf8(DbfRecords(dbf)));
  // 太要社区 in GBK: CC AB D2 AA C9 E7 C7 F8.
  CHECK(dbf.find("\xCC\xAB\xD2\xAA\xC9\xE7\xC7\xF8") != std::string::npos);
  CHECK(dbf.find("太要社区") == std::string::npos);
  ImportResult back = Read(out, LayerKind::kCells);
  CHECK(back.encoding.find("GBK") != std::string::npos);
  CHECK(CompareFeatures(cells, back.features) == 0);
  CHECK(back.features[0].name == "太要社区第1网格");
}

TEST_CASE("WriteLayer: a UTF-8 shapefile gets a .cpg saying UTF-8") {
  TempDir dir;
  auto written = WriteLayer({.path = dir / "cells.shp",
                             .format = ExportFormat::kShapefile,
                             .layer = LayerKind::kCells},
                            SampleCells().features, {});
  REQUIRE(written.has_value());
  CHECK(Slurp(dir / "cells.cpg").starts_with("UTF-8"));
  std::string dbf = Slurp(dir / "cells.dbf");
  CHECK(dbf.find("太要社区") != std::string::npos);
  CHECK(IsUtf8(DbfRecords(dbf)));  // the check above can tell the two apart
}

TEST_CASE(
    "WriteLayer: text GBK cannot hold is refused naming the feature and "
    "nothing is left behind") {
  std::vector<Feature> cells = SampleCells().features;
  cells[3].name = "网格\xF0\x9F\x98\x80";  // an emoji: not in GBK
  TempDir dir;
  auto written = WriteLayer({.path = dir / "cells.shp",
                             .format = ExportFormat::kShapefile,
                             .layer = LayerKind::kCells,
                             .encoding = "gbk"},
                            cells, {});
  REQUIRE_FALSE(written.has_value());
  CHECK(written.error().message.find(cells[3].code) != std::string::npos);
  CHECK(written.error().message.find("--encoding UTF-8") != std::string::npos);
  CHECK(Listing(dir.path()).empty());
}

TEST_CASE(
    "WriteLayer: reprojecting to EPSG:4525 names the Gauss-Kruger zone "
    "and reads back to the same lon/lat within 1e-7 degrees") {
  const auto& cells = SampleCells().features;
  for (ExportFormat format :
       {ExportFormat::kShapefile, ExportFormat::kGeoPackage}) {
    std::string name = ExportFormatName(format);
    CAPTURE(name);
    TempDir dir;
    std::string out = dir / ("cells." + name);
    auto written = WriteLayer({.path = out,
                               .format = format,
                               .layer = LayerKind::kCells,
                               .target_srs = "EPSG:4525"},
                              cells, {});
    REQUIRE_MESSAGE(written.has_value(),
                    (written ? "" : written.error().message));
    ImportResult back = Read(out, LayerKind::kCells);
    CHECK(back.crs.find("4525") != std::string::npos);
    int64_t worst = CompareFeatures(cells, back.features);
    MESSAGE(name << " via EPSG:4525: largest vertex change " << worst
                 << " nanodegrees");
    CHECK(worst <= 100);  // 1e-7 degree
    if (format == ExportFormat::kShapefile) {
      std::string prj = Slurp(dir / "cells.prj");
      CHECK(prj.find("Zone_37") != std::string::npos);
      CHECK(prj.find("CGCS2000") != std::string::npos);
    }
  }
}

TEST_CASE("WriteLayer: an existing file is refused unless overwrite is set") {
  TempDir dir;
  std::string out = dir / "cells.shp";
  dir.Write("cells.dbf", "not ours");
  WriteOptions o{.path = out,
                 .format = ExportFormat::kShapefile,
                 .layer = LayerKind::kCells};
  auto refused = WriteLayer(o, SampleCells().features, {});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("cells.dbf already exists") !=
        std::string::npos);
  CHECK(refused.error().message.find("--force") != std::string::npos);
  CHECK(Slurp(dir / "cells.dbf") == "not ours");
  CHECK(Listing(dir.path()) == std::vector<std::string>{"cells.dbf"});

  dir.Write("cells.qix", "stale index");
  o.overwrite = true;
  auto replaced = WriteLayer(o, SampleCells().features, {});
  REQUIRE_MESSAGE(replaced.has_value(),
                  (replaced ? "" : replaced.error().message));
  CHECK(Listing(dir.path()) ==
        std::vector<std::string>{"cells.cpg", "cells.dbf", "cells.prj",
                                 "cells.shp", "cells.shx"});
  CHECK(Read(out, LayerKind::kCells).features.size() == 225);
}

TEST_CASE(
    "CheckWriteOptions: options that cannot work are refused naming the "
    "option") {
  auto field_of = [](WriteOptions o) {
    auto r = CheckWriteOptions(o);
    return r ? std::string("ok") : r.error().field;
  };
  using F = ExportFormat;
  CHECK(field_of({.path = "c.geojson", .format = F::kGeoJson}) == "ok");
  CHECK(field_of({.path = "c.json", .format = F::kGeoJson}) == "ok");
  CHECK(field_of({.path = "c.txt", .format = F::kShapefile}) == "out");
  CHECK(field_of({.path = "c.shp", .format = F::kGeoPackage}) == "out");
  CHECK(field_of({.path = "", .format = F::kCsv}) == "out");
  CHECK(field_of(
            {.path = "c.shp", .format = F::kShapefile, .encoding = "Big5"}) ==
        "encoding");
  CHECK(field_of(
            {.path = "c.gpkg", .format = F::kGeoPackage, .encoding = "GBK"}) ==
        "encoding");
  CHECK(field_of({.path = "c.gpkg",
                  .format = F::kGeoPackage,
                  .encoding = "utf-8"}) == "ok");
  for (auto [path, format] :
       {std::pair{"c.geojson", F::kGeoJson}, std::pair{"c.kml", F::kKml},
        std::pair{"c.csv", F::kCsv}}) {
    auto r = CheckWriteOptions(
        {.path = path, .format = format, .target_srs = "EPSG:4525"});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().field == "t-srs");
    CHECK(r.error().message.find("gpkg or shp") != std::string::npos);
  }
  CHECK(field_of({.path = "c.gpkg",
                  .format = F::kGeoPackage,
                  .target_srs = "EPSG:4525"}) == "ok");
  CHECK(field_of({.path = "c.gpkg",
                  .format = F::kGeoPackage,
                  .target_srs = "EPSG:99999999"}) == "t-srs");
  CHECK(ParseExportFormat("GPKG") == F::kGeoPackage);
  CHECK_FALSE(ParseExportFormat("xlsx").has_value());
}
