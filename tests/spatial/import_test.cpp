// ReadLayer on inputs made the way GIS staff make them: each fixture is
// written at test time by GDAL's own ogr2ogr (gdal-bin), mostly from the
// sample town in data/taiyao read through the reader itself.
#include "spatial/import.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/gis_fixtures.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::spatial;
using namespace wangge::testing;

namespace {

const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

std::string Square(double x, double y, double size) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "POLYGON((%.9f %.9f,%.9f %.9f,%.9f %.9f,%.9f %.9f,%.9f %.9f))",
                x, y, x + size, y, x + size, y + size, x, y + size, x, y);
  return buf;
}

// A CSV of cells with a WKT column, as GIS staff export from a spreadsheet.
std::string CellsCsv(const TempDir& dir, const std::string& name,
                     const std::vector<std::string>& rows) {
  std::string text = "code,name,village,branch,WKT\n";
  for (const std::string& row : rows) text += row + "\n";
  return dir.Write(name, text);
}

std::string Row(const std::string& code, const std::string& name,
                const std::string& wkt) {
  return code + "," + name + ",V1,B1,\"" + wkt + "\"";
}

// ogr2ogr's options to read such a CSV.
const std::string kFromCsv =
    " -oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO -a_srs EPSG:4326 ";

Result<ImportResult> Read(const std::string& source, LayerKind layer,
                          ImportOptions options = {}) {
  options.source = source;
  options.layer = layer;
  return ReadLayer(options);
}

std::map<std::string, const Feature*> ByCode(
    const std::vector<Feature>& features) {
  std::map<std::string, const Feature*> out;
  for (const Feature& f : features) out[f.code] = &f;
  return out;
}

// Largest distance, in nanodegrees, from a vertex of `a` to the nearest
// vertex of `b` (rings may run the other way after a round trip).
int64_t VertexDistance(const Shape& a, const Shape& b) {
  int64_t worst = 0;
  for (const Polygon& pa : a.parts) {
    for (const Ring& ra : pa.rings) {
      for (const Pt& p : ra) {
        int64_t best = INT64_MAX;
        for (const Polygon& pb : b.parts) {
          for (const Ring& rb : pb.rings) {
            for (const Pt& q : rb) {
              best = std::min(
                  best, std::max(std::abs(p.x - q.x), std::abs(p.y - q.y)));
            }
          }
        }
        worst = std::max(worst, best);
      }
    }
  }
  return worst;
}

// The sample town's cells, read through the reader: the reference.
const ImportResult& TownCells() {
  static const ImportResult cells = [] {
    auto r = Read(kTown + "/cells.geojson", LayerKind::kCells);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return *r;
  }();
  return cells;
}

// Checks that `got` holds the town's cells: same codes, names, villages and
// branches, and vertices within 1e-7 degrees (1 cm) of the original.
void CheckSameAsTown(const ImportResult& got) {
  const ImportResult& town = TownCells();
  REQUIRE(got.features.size() == town.features.size());
  auto mine = ByCode(got.features);
  int64_t worst = 0;
  for (const Feature& want : town.features) {
    CAPTURE(want.code);
    REQUIRE(mine.count(want.code) == 1);
    const Feature& f = *mine[want.code];
    CHECK(f.name == want.name);
    CHECK(f.Attribute("village") == want.Attribute("village"));
    CHECK(f.Attribute("branch") == want.Attribute("branch"));
    worst = std::max(worst, VertexDistance(want.shape, f.shape));
  }
  CHECK(worst <= 100);
}

}  // namespace

TEST_CASE("ReadLayer: the sample town is accepted layer by layer") {
  ImportOptions with_villages;
  with_villages.villages_source = kTown + "/villages.geojson";
  for (auto [file, kind] : std::vector<std::pair<std::string, LayerKind>>{
           {"villages.geojson", LayerKind::kVillages},
           {"cells.geojson", LayerKind::kCells},
           {"zones.geojson", LayerKind::kZones}}) {
    CAPTURE(file);
    auto r = Read(kTown + "/" + file, kind,
                  kind == LayerKind::kCells ? with_villages : ImportOptions{});
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK_MESSAGE(r->accepted(), FormatReport(*r));
    CHECK(r->features.size() == size_t(r->features_read));
    CHECK(r->features_read > 0);
  }
  CHECK(TownCells().features.front().name.find("网格") != std::string::npos);
}

TEST_CASE(
    "ReadLayer: a GBK shapefile with .cpg in CGCS2000 Gauss-Kruger reads with "
    "the right names and lon/lat") {
  TempDir dir;
  struct Crs {
    std::string epsg, name_part;
  };
  for (const Crs& crs :
       {Crs{"EPSG:4525", "zone 37"}, Crs{"EPSG:4546", "CM 111E"},
        Crs{"EPSG:4490", "China Geodetic"}}) {
    CAPTURE(crs.epsg);
    std::string shp = dir / ("cells" + crs.epsg.substr(5) + ".shp");
    Ogr2ogr("-f 'ESRI Shapefile' " + Q(shp) + " " +
            Q(kTown + "/cells.geojson") + " -t_srs " + crs.epsg +
            " -lco ENCODING=GBK -nln cells" + crs.epsg.substr(5));
    std::string base = shp.substr(0, shp.size() - 4);
    // The fixture really is GBK: no UTF-8 "网格" in the DBF, a GBK .cpg.
    CHECK(Slurp(base + ".cpg") == "GBK");
    CHECK_FALSE(Has(Slurp(base + ".dbf"), "网格"));
    CHECK(Has(Slurp(base + ".dbf"), "\xCD\xF8\xB8\xF1"));  // 网格 in GBK
    auto r = Read(shp, LayerKind::kCells);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK_MESSAGE(r->accepted(), FormatReport(*r));
    CHECK(Has(r->crs, crs.epsg));
    CHECK(Has(r->crs, crs.name_part));
    CHECK(r->encoding == "GBK (.cpg)");
    CheckSameAsTown(*r);
  }
}

TEST_CASE(
    "ReadLayer: a .prj that disagrees with the coordinates about the "
    "Gauss-Kruger zone prefix names the CRS meant") {
  TempDir dir;
  // The coordinates of one CRS with the .prj of the other, as a GIS office
  // hands them over after "Define Projection" on the wrong one.
  struct Mix {
    std::string drawn, declared, meant, message;
  };
  for (const Mix& mix :
       {Mix{"EPSG:4525", "EPSG:4546", "EPSG:4525",
            "carry the Gauss-Kruger zone prefix 37, but the CRS has none "
            "(false easting 500000): its .prj says EPSG:4546"},
        Mix{"EPSG:4546", "EPSG:4525", "EPSG:4546",
            "have no Gauss-Kruger zone prefix, but the CRS expects one "
            "(false easting 37500000): its .prj says EPSG:4525"},
        // 6-degree zone 19 shares 111E with 3-degree zone 37.
        Mix{"EPSG:4508", "EPSG:4497", "EPSG:4508",
            "have no Gauss-Kruger zone prefix, but the CRS expects one "
            "(false easting 19500000)"},
        // Older county data: Xi'an 1980 and Beijing 1954.
        Mix{"EPSG:2382", "EPSG:2361", "EPSG:2382",
            "have no Gauss-Kruger zone prefix, but the CRS expects one "
            "(false easting 37500000)"},
        Mix{"EPSG:2413", "EPSG:2434", "EPSG:2413",
            "carry the Gauss-Kruger zone prefix 37, but the CRS has none"},
        Mix{"EPSG:21459", "EPSG:21419", "EPSG:21459",
            "have no Gauss-Kruger zone prefix, but the CRS expects one "
            "(false easting 19500000)"}}) {
    CAPTURE(mix.drawn);
    std::string drawn = dir / ("drawn" + mix.drawn.substr(5) + ".shp");
    std::string declared = dir / ("declared" + mix.declared.substr(5) + ".shp");
    Ogr2ogr("-f 'ESRI Shapefile' " + Q(drawn) + " " +
            Q(kTown + "/cells.geojson") + " -t_srs " + mix.drawn +
            " -lco ENCODING=UTF-8");
    Ogr2ogr("-f 'ESRI Shapefile' " + Q(declared) + " " +
            Q(kTown + "/cells.geojson") + " -t_srs " + mix.declared +
            " -lco ENCODING=UTF-8");
    auto base = [](const std::string& shp) {
      return shp.substr(0, shp.size() - 4);
    };
    std::filesystem::copy_file(
        base(declared) + ".prj", base(drawn) + ".prj",
        std::filesystem::copy_options::overwrite_existing);
    auto refused = Read(drawn, LayerKind::kCells);
    REQUIRE_FALSE(refused);
    CHECK(Has(refused.error().message, "坐标带号与坐标系不符"));
    CHECK(Has(refused.error().message, mix.message));
    CHECK(Has(refused.error().message, "Give --s-srs " + mix.meant + " ("));
    CHECK(refused.error().field == "s-srs");
    // Read with the CRS named, it is the town.
    ImportOptions meant;
    meant.source_srs = mix.meant;
    auto r = Read(drawn, LayerKind::kCells, meant);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CheckSameAsTown(*r);
  }
}

TEST_CASE(
    "ReadLayer: a GBK shapefile without .cpg is refused and reads with "
    "--encoding GBK") {
  TempDir dir;
  std::string shp = dir / "cells.shp";
  GbkGaussKrugerShapefile(kTown + "/cells.geojson", shp);
  std::filesystem::remove(dir / "cells.cpg");
  auto refused = Read(shp, LayerKind::kCells);
  REQUIRE_FALSE(refused);
  CHECK(Has(refused.error().message, "cells.shp: text in field `name`"));
  CHECK(Has(refused.error().message, "no .cpg"));
  CHECK(Has(refused.error().message, "--encoding GBK"));
  CHECK(refused.error().field == "encoding");

  ImportOptions gbk;
  gbk.encoding = "GBK";
  auto r = Read(shp, LayerKind::kCells, gbk);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->encoding == "GBK (--encoding)");
  CheckSameAsTown(*r);

  SUBCASE("a .cpg that lies (UTF-8) is refused too, and --encoding wins") {
    dir.Write("cells.cpg", "UTF-8");
    auto lied = Read(shp, LayerKind::kCells);
    REQUIRE_FALSE(lied);
    CHECK(Has(lied.error().message, "not UTF-8 although the file declares"));
    auto fixed = Read(shp, LayerKind::kCells, gbk);
    REQUIRE(fixed);
    CheckSameAsTown(*fixed);
  }
  SUBCASE("the DBF's code page byte (LDID 0x4D, GBK) is honoured too") {
    std::fstream dbf(dir / "cells.dbf",
                     std::ios::binary | std::ios::in | std::ios::out);
    dbf.seekp(29);
    dbf.put('\x4D');
    dbf.close();
    auto ldid = Read(shp, LayerKind::kCells);
    REQUIRE_MESSAGE(ldid, (ldid ? "" : ldid.error().message));
    CHECK(ldid->encoding == "CP936 (DBF code page)");
    CheckSameAsTown(*ldid);
  }
  SUBCASE("an encoding nobody knows is an argument error") {
    ImportOptions bad;
    bad.encoding = "KLINGON-8";
    auto r2 = Read(shp, LayerKind::kCells, bad);
    REQUIRE_FALSE(r2);
    CHECK(Has(r2.error().message, "--encoding KLINGON-8 is not an encoding"));
  }
}

TEST_CASE(
    "ReadLayer: UTF-8 text under a .cpg or --encoding that says otherwise is "
    "refused, not stored garbled") {
  TempDir dir;
  std::string shp = dir / "cells.shp";
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(shp) + " " + Q(kTown + "/cells.geojson") +
          " -t_srs EPSG:4525 -lco ENCODING=UTF-8");
  for (std::string cpg : {"GBK", "936", "ISO-8859-1"}) {
    CAPTURE(cpg);
    dir.Write("cells.cpg", cpg);
    auto lied = Read(shp, LayerKind::kCells);
    REQUIRE_FALSE(lied);
    CHECK(Has(lied.error().message, "its text is UTF-8, but it is read as"));
    CHECK(Has(lied.error().message, "`太要社区第1网格` would be stored as `"));
    CHECK(Has(lied.error().message, "put UTF-8 in the .cpg"));
    CHECK(lied.error().field == "encoding");
  }
  // GBK's own 澶瑕 reading, as the message shows it.
  dir.Write("cells.cpg", "GBK");
  CHECK(Has(Read(shp, LayerKind::kCells).error().message, "`澶瑕"));
  ImportOptions utf8;
  utf8.encoding = "UTF-8";
  auto fixed = Read(shp, LayerKind::kCells, utf8);
  REQUIRE_MESSAGE(fixed, (fixed ? "" : fixed.error().message));
  CheckSameAsTown(*fixed);

  std::filesystem::remove(dir / "cells.cpg");
  ImportOptions big5;
  big5.encoding = "BIG5";
  auto forced = Read(shp, LayerKind::kCells, big5);
  REQUIRE_FALSE(forced);
  CHECK(Has(forced.error().message, "run again without --encoding"));
  // A GeoJSON (decoded by wangge, not the driver) is checked the same way.
  ImportOptions gbk;
  gbk.encoding = "GBK";
  auto json = Read(kTown + "/cells.geojson", LayerKind::kCells, gbk);
  REQUIRE_FALSE(json);
  CHECK(Has(json.error().message, "its text is UTF-8"));
}

TEST_CASE(
    "ReadLayer: codes, names and fields as spreadsheets leave them are "
    "refused, each naming the feature") {
  TempDir dir;
  // GeoJSON text as written by hand or by a script from a spreadsheet.
  auto feature = [](const std::string& props, double x) {
    char ring[256];
    std::snprintf(ring, sizeof ring,
                  "[[[%.4f,34.5],[%.4f,34.5],[%.4f,34.501],[%.4f,34.501],"
                  "[%.4f,34.5]]]",
                  x, x + 0.001, x + 0.001, x, x);
    return R"({"type":"Feature","properties":{)" + props +
           R"(},"geometry":{"type":"Polygon","coordinates":)" + ring + "}}";
  };
  auto layer = [](const std::vector<std::string>& features) {
    std::string text = R"({"type":"FeatureCollection","features":[)";
    for (size_t i = 0; i < features.size(); ++i) {
      text += (i ? "," : "") + features[i];
    }
    return text + "]}";
  };
  auto cell = [&](const std::string& code, const std::string& name, double x) {
    return feature(R"("code":")" + code + R"(","name":")" + name +
                       R"(","village":"V1","branch":"B1")",
                   x);
  };
  std::vector<std::string> bad_codes = {
      " 610522102002001",       "610522102 002001",
      "610522102002001\\n",     "610522102002001\\u00a0",
      "610522102002001\\u200b", "\\uff16\\uff11\\uff10",
      std::string(65, '6'),     "A/B"};
  std::vector<std::string> features;
  double x = 110.0;
  for (const std::string& code : bad_codes) {
    features.push_back(cell(code, "网格", x += 0.002));
  }
  features.push_back(cell("GOOD-1.a_b", "好网格", x += 0.002));
  features.push_back(cell("BLANK", "  \\u3000 ", x += 0.002));
  features.push_back(cell("BELL", "太要\\u0007社区", x += 0.002));
  ImportOptions options;
  options.check_topology = false;
  auto r = Read(dir.Write("cells.geojson", layer(features)), LayerKind::kCells,
                options);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK_FALSE(r->accepted());
  std::vector<std::string> kinds;
  for (const Problem& p : r->problems) kinds.push_back(p.kind);
  std::vector<std::string> want(bad_codes.size(), "bad_code");
  want.push_back("missing_value");
  want.push_back("bad_text");
  CHECK(kinds == want);
  REQUIRE(r->features.size() == 1);
  CHECK(r->features[0].code == "GOOD-1.a_b");
  // Messages stay on one line and show what is wrong.
  for (const Problem& p : r->problems) {
    CHECK_MESSAGE(p.message.find('\n') == std::string::npos, p.message);
  }
  CHECK(Has(r->problems[2].message, "`610522102002001\\x0A` holds a control"));
  CHECK(Has(r->problems[1].message, "holds a space"));
  CHECK(Has(r->problems[3].message, "other than ASCII"));
  CHECK(Has(r->problems[7].message, "holds `/`"));
  CHECK(
      Has(r->problems.back().message, "value `太要\\x07社区` holds a control"));

  SUBCASE("fields that differ only in case") {
    auto both =
        Read(dir.Write("case.geojson",
                       layer({feature(R"("CODE":"X1","code":"C1","name":"n",)"
                                      R"("village":"V1","branch":"B1")",
                                      110.0)})),
             LayerKind::kCells, options);
    REQUIRE(both);
    CHECK_FALSE(both->accepted());
    REQUIRE(!both->problems.empty());
    CHECK(both->problems[0].kind == "ambiguous_field");
    CHECK(Has(both->problems[0].message, "differ only in case"));
  }
}

TEST_CASE("ReadLayer: a feature of over 100,000 vertices is refused") {
  TempDir dir;
  auto ring = [](int n) {
    std::string text = "[[";
    for (int i = 0; i <= n; ++i) {
      double a = 2 * M_PI * (i % n) / n;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s[%.9f,%.9f]", i ? "," : "",
                    110.2 + 0.01 * std::cos(a), 34.5 + 0.01 * std::sin(a));
      text += buf;
    }
    return text + "]]";
  };
  std::string text = R"({"type":"FeatureCollection","features":[)";
  int x = 0;
  for (int n : {100001, 500}) {
    text += std::string(x++ ? "," : "") +
            R"({"type":"Feature","properties":{"code":"Z)" + std::to_string(n) +
            R"(","name":"区"},"geometry":{"type":"Polygon","coordinates":)" +
            ring(n) + "}}";
  }
  text += "]}";
  auto r = Read(dir.Write("zones.geojson", text), LayerKind::kZones);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  REQUIRE(r->problems.size() == 1);
  CHECK(r->problems[0].kind == "too_many_vertices");
  CHECK(r->problems[0].feature == "Z100001");
  CHECK(Has(r->problems[0].message, "vertices, more than 100000"));
  CHECK(Has(r->problems[0].message, "Simplify"));
  REQUIRE(r->features.size() == 1);
  CHECK(r->features[0].code == "Z500");
}

TEST_CASE(
    "ReadLayer: projected metres without .prj are called out and --s-srs "
    "places them") {
  TempDir dir;
  std::string shp = dir / "cells.shp";
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(shp) + " " + Q(kTown + "/cells.geojson") +
          " -t_srs EPSG:4525 -lco ENCODING=UTF-8");
  std::filesystem::remove(dir / "cells.prj");
  auto refused = Read(shp, LayerKind::kCells);
  REQUIRE_FALSE(refused);
  CHECK(Has(refused.error().message, "cells.shp: has no CRS (no .prj)"));
  CHECK(Has(refused.error().message, "projected metres"));
  // The zone prefix 37 of the eastings points to the right EPSG code.
  CHECK(Has(refused.error().message, "EPSG:4525"));

  ImportOptions srs;
  srs.source_srs = "EPSG:4525";
  auto r = Read(shp, LayerKind::kCells, srs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CheckSameAsTown(*r);

  SUBCASE("the wrong --s-srs cannot pass as lon/lat") {
    ImportOptions wrong;
    wrong.source_srs = "EPSG:4490";
    auto w = Read(shp, LayerKind::kCells, wrong);
    REQUIRE(w);
    CHECK_FALSE(w->accepted());
    CHECK(w->problems.front().kind == "bad_coordinate");
  }
  SUBCASE("lon/lat without a CRS still needs --s-srs") {
    Ogr2ogr("-f 'ESRI Shapefile' " + Q(dir / "ll.shp") + " " +
            Q(kTown + "/villages.geojson"));
    std::filesystem::remove(dir / "ll.prj");
    auto ll = Read(dir / "ll.shp", LayerKind::kVillages);
    REQUIRE_FALSE(ll);
    CHECK(Has(ll.error().message, "has no CRS"));
    CHECK(Has(ll.error().message, "--s-srs"));
    CHECK_FALSE(Has(ll.error().message, "projected metres"));
  }
}

TEST_CASE("ReadLayer: a zipped shapefile is read through /vsizip/") {
  TempDir dir;
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(dir / "cells.shp.zip") + " " +
          Q(kTown + "/cells.geojson") +
          " -t_srs EPSG:4546 -lco ENCODING=GBK -nln cells");
  // As handed over: any name ending in .zip.
  std::filesystem::rename(dir / "cells.shp.zip", dir / "太要镇网格.zip");
  auto r = Read(dir / "太要镇网格.zip", LayerKind::kCells);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->driver == "ESRI Shapefile");
  CHECK(r->accepted());
  CheckSameAsTown(*r);
}

TEST_CASE(
    "ReadLayer: a zip of folders (GBK or UTF-8 names, macOS extras) finds its "
    "one shapefile; several, or one without .shx, are named") {
  TempDir dir;
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(dir / "shp") + " " +
          Q(kTown + "/cells.geojson") + " -lco ENCODING=UTF-8 -nln cells");
  // Entries written as Windows' zip does (GBK names, no UTF-8 mark) or as
  // Info-ZIP does (UTF-8 bytes, no mark), by Python's zipfile.
  auto zip = [&](const std::string& name, const std::string& entries_py) {
    std::string script =
        dir.Write(name + ".py",
                  "import zipfile, glob, os\n"
                  "def raw(s, enc): return s.encode(enc).decode('cp437')\n"
                  "with zipfile.ZipFile(" +
                      Q(dir / name) +
                      ", 'w') as z:\n"
                      "  for f in glob.glob(" +
                      Q(dir / "shp/cells.*") +
                      "):\n"
                      "    ext = os.path.splitext(f)[1]\n"
                      "    data = open(f, 'rb').read()\n" +
                      entries_py);
    REQUIRE(std::system(("python3 " + Q(script)).c_str()) == 0);
    return dir / name;
  };
  std::string gbk = zip("gbk.zip",
                        "    z.writestr(zipfile.ZipInfo(raw('县/2026/网格' + "
                        "ext, 'gbk')), data)\n"
                        "    z.writestr('__MACOSX/县/._网格' + ext, b'x')\n");
  auto r = Read(gbk, LayerKind::kCells);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->accepted());
  CheckSameAsTown(*r);

  std::string two = zip("two.zip",
                        "    for d in ['太要镇', '潼关县']:\n"
                        "      z.writestr(zipfile.ZipInfo(raw(d + '/网格' + "
                        "ext, 'utf-8')), data)\n");
  auto several = Read(two, LayerKind::kCells);
  REQUIRE_FALSE(several);
  CHECK(Has(several.error().message,
            "holds several layers in its folders (太要镇/网格.shp, "
            "潼关县/网格.shp)"));

  std::string no_shx = zip("noshx.zip",
                           "    if ext != '.shx':\n"
                           "      z.writestr(zipfile.ZipInfo(raw('a/网格' + "
                           "ext, 'gbk')), data)\n");
  auto missing = Read(no_shx, LayerKind::kCells);
  REQUIRE_FALSE(missing);
  CHECK(Has(missing.error().message, "a/网格.shp has no 网格.shx beside it"));
}

TEST_CASE("ReadLayer: a .prj GDAL cannot read is called damaged, not absent") {
  TempDir dir;
  std::string shp = dir / "cells.shp";
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(shp) + " " + Q(kTown + "/cells.geojson") +
          " -t_srs EPSG:4525 -lco ENCODING=UTF-8");
  dir.Write("cells.prj", "");
  auto r = Read(shp, LayerKind::kCells);
  REQUIRE_FALSE(r);
  CHECK(Has(r.error().message, "its cells.prj is empty or not a CRS"));
  CHECK_FALSE(Has(r.error().message, "no .prj"));
}

TEST_CASE("ReadLayer: a GeoPackage layer is chosen by name") {
  TempDir dir;
  std::string gpkg = dir / "town.gpkg";
  Ogr2ogr("-f GPKG " + Q(gpkg) + " " + Q(kTown + "/cells.geojson") +
          " -nln 网格 -t_srs EPSG:4490");
  Ogr2ogr("-f GPKG -update " + Q(gpkg) + " " + Q(kTown + "/zones.geojson") +
          " -nln zones");
  auto several = Read(gpkg, LayerKind::kCells);
  REQUIRE_FALSE(several);
  CHECK(Has(several.error().message, "several layers"));
  CHECK(Has(several.error().message, "网格"));
  CHECK(Has(several.error().message, "--source-layer"));
  ImportOptions pick;
  pick.source_layer = "网格";
  auto r = Read(gpkg, LayerKind::kCells, pick);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->driver == "GPKG");
  CheckSameAsTown(*r);
  // A layer named like ours is taken without --source-layer.
  auto zones = Read(gpkg, LayerKind::kZones);
  REQUIRE_MESSAGE(zones, (zones ? "" : zones.error().message));
  CHECK(zones->source_layer == "zones");
  pick.source_layer = "nope";
  auto missing = Read(gpkg, LayerKind::kCells, pick);
  REQUIRE_FALSE(missing);
  CHECK(Has(missing.error().message, "has no layer `nope`"));
}

TEST_CASE("ReadLayer: KML villages keep their Chinese names") {
  TempDir dir;
  Ogr2ogr("-f KML " + Q(dir / "villages.kml") + " " +
          Q(kTown + "/villages.geojson"));
  auto r = Read(dir / "villages.kml", LayerKind::kVillages);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK_MESSAGE(r->accepted(), FormatReport(*r));
  auto reference = Read(kTown + "/villages.geojson", LayerKind::kVillages);
  REQUIRE(reference);
  REQUIRE(r->features.size() == reference->features.size());
  auto mine = ByCode(r->features);
  for (const Feature& want : reference->features) {
    REQUIRE(mine.count(want.code) == 1);
    CHECK(mine[want.code]->name == want.name);  // KML's `Name` field
    CHECK(VertexDistance(want.shape, mine[want.code]->shape) <= 100);
  }
}

TEST_CASE("ReadLayer: CSV with WKT or lon/lat columns needs its CRS") {
  TempDir dir;
  std::string csv =
      CellsCsv(dir, "cells.csv",
               {Row("C1", "东街网格", Square(110, 34.5, 0.01)),
                Row("C2", "西街网格", Square(110.01, 34.5, 0.01))});
  auto refused = Read(csv, LayerKind::kCells);
  REQUIRE_FALSE(refused);
  CHECK(Has(refused.error().message, "cells.csv: has no CRS"));
  ImportOptions srs;
  srs.source_srs = "EPSG:4326";
  auto r = Read(csv, LayerKind::kCells, srs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK_MESSAGE(r->accepted(), FormatReport(*r));
  REQUIRE(r->features.size() == 2);
  CHECK(r->features[0].name == "东街网格");
  CHECK(r->features[1].shape.parts[0].rings[0].size() == 4);

  std::string points = dir.Write(
      "shops.csv",
      "code,name,lon,lat\nMQB1,示例商铺,110.2242329,34.52718\nMQB2,第二家,"
      "110.23,34.53\n");
  auto shops = Read(points, LayerKind::kShopfronts, srs);
  REQUIRE_MESSAGE(shops, (shops ? "" : shops.error().message));
  CHECK_MESSAGE(shops->accepted(), FormatReport(*shops));
  REQUIRE(shops->points.size() == 2);
  CHECK(shops->points[0].name == "示例商铺");
  CHECK(shops->points[0].at == Pt{110224232900, 34527180000});
}

TEST_CASE("ReadLayer: point layers read points and refuse polygons") {
  auto households = Read(kTown + "/households.geojson", LayerKind::kHouseholds);
  REQUIRE_MESSAGE(households, (households ? "" : households.error().message));
  CHECK_MESSAGE(households->accepted(), FormatReport(*households));
  CHECK(households->points.size() == size_t(households->features_read));
  CHECK(households->features.empty());
  auto wrong = Read(kTown + "/zones.geojson", LayerKind::kShopfronts);
  REQUIRE(wrong);
  CHECK_FALSE(wrong->accepted());
  CHECK(wrong->problems.front().kind == "wrong_geometry_type");
  CHECK(Has(wrong->problems.front().message, "point layers need one Point"));
}

TEST_CASE(
    "ReadLayer: every problem is reported in one pass, with its feature") {
  TempDir dir;
  std::string bowtie =
      "POLYGON((110.1 34.5,110.11 34.51,110.11 34.5,110.1 "
      "34.51,110.1 34.5))";
  std::string csv = CellsCsv(
      dir, "cells.csv",
      {Row("C1", "一", Square(110, 34.5, 0.01)),
       Row("C1", "二", Square(110.02, 34.5, 0.01)),         // duplicate code
       Row("", "三", Square(110.04, 34.5, 0.01)),           // no code
       "C4,四,,B1,\"" + Square(110.06, 34.5, 0.01) + "\"",  // no village
       Row("C5", "五", "LINESTRING(110 34.6,110.01 34.6)"),
       Row("C6", "六", bowtie), Row("C7", "七", "POLYGON EMPTY")});
  ImportOptions srs;
  srs.source_srs = "EPSG:4326";
  auto r = Read(csv, LayerKind::kCells, srs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK_FALSE(r->accepted());
  std::map<std::string, std::string> kind_of;
  for (const Problem& p : r->problems) kind_of[p.feature] += p.kind + " ";
  CHECK(kind_of["C1"] == "duplicate_code ");
  CHECK(kind_of["#3"] == "missing_code ");
  CHECK(kind_of["C4"] == "missing_value ");
  CHECK(kind_of["C5"] == "wrong_geometry_type ");
  CHECK(kind_of["C6"] == "invalid_geometry ");
  CHECK(kind_of["C7"] == "empty_geometry ");
  for (const Problem& p : r->problems) {
    CAPTURE(p.message);
    CHECK(p.message.starts_with("cells.csv, feature " + p.feature + ": "));
    if (p.kind == "invalid_geometry") {
      REQUIRE(p.where);
      CHECK(std::abs(p.where->lon - 110.105) < 1e-6);
    }
  }
  CHECK(Has(FormatReport(*r), "拒绝 refused"));
  // The valid first C1 is kept for the report; nothing else.
  CHECK(r->features.size() == 1);
}

TEST_CASE(
    "ReadLayer: rings closed, arcs turned into vertices and Z values dropped "
    "are reported as repairs") {
  TempDir dir;
  std::string csv = CellsCsv(
      dir, "cells.csv",
      {Row("C1", "一", Square(110, 34.5, 0.01)),
       Row("C2", "二",
           "POLYGON((110.02 34.5,110.03 34.5,110.03 34.51,110.02 34.51))"),
       Row("C3", "三",
           "POLYGON Z((110.04 34.5 412,110.05 34.5 413,110.05 34.51 415,"
           "110.04 34.51 414,110.04 34.5 412))"),
       Row("C4", "四",
           "CURVEPOLYGON(CIRCULARSTRING(110.065 34.5,110.075 34.51,110.065 "
           "34.52,110.055 34.51,110.065 34.5))")});
  ImportOptions srs;
  srs.source_srs = "EPSG:4326";
  auto r = Read(csv, LayerKind::kCells, srs);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK_MESSAGE(r->accepted(), FormatReport(*r));
  CHECK(r->features.size() == 4);
  CHECK(r->repairs.unclosed_rings == 1);
  CHECK(r->repairs.z_or_m == 1);
  CHECK(r->repairs.curves == 1);
  std::string report = FormatReport(*r);
  CHECK(Has(report, "1 未闭合环 rings closed"));
  CHECK(Has(report, "1 曲线 features with arcs turned into vertices"));
  CHECK(Has(report, "1 Z/M 值 features whose Z or M values were dropped"));
  auto json = nlohmann::json::parse(ReportJson(*r))["repairs"];
  CHECK(json["unclosed_rings"] == 1);
  CHECK(json["curves"] == 1);
  CHECK(json["z_or_m"] == 1);
  CHECK(json["total"] == 3);
  // The arc became a ring of many vertices, not its five control points.
  auto by_code = ByCode(r->features);
  REQUIRE(by_code.count("C4"));
  CHECK(by_code["C4"]->shape.parts.at(0).rings.at(0).size() > 16);
}

TEST_CASE(
    "ReadLayer: missing fields are named once, and field options map them") {
  TempDir dir;
  std::string csv =
      dir.Write("cells.csv", "DM,MC,CUN,ZHIBU,WKT\nC1,东网格,V1,B1,\"" +
                                 Square(110, 34.5, 0.01) + "\"\n");
  ImportOptions srs;
  srs.source_srs = "EPSG:4326";
  auto r = Read(csv, LayerKind::kCells, srs);
  REQUIRE(r);
  std::vector<std::string> missing;
  for (const Problem& p : r->problems) {
    CHECK(p.kind == "missing_field");
    missing.push_back(p.other);
  }
  CHECK(missing ==
        std::vector<std::string>{"code", "name", "village", "branch"});
  CHECK(Has(r->problems[0].message, "has no `code` attribute"));
  CHECK(Has(r->problems[0].message, "--code-field"));
  CHECK(Has(r->problems[0].message, "DM, MC, CUN, ZHIBU"));

  srs.fields = {
      .code = "DM", .name = "MC", .village = "CUN", .branch = "ZHIBU"};
  auto mapped = Read(csv, LayerKind::kCells, srs);
  REQUIRE(mapped);
  CHECK_MESSAGE(mapped->accepted(), FormatReport(*mapped));
  REQUIRE(mapped->features.size() == 1);
  const Feature& f = mapped->features[0];
  CHECK(f.code == "C1");
  CHECK(f.name == "东网格");
  CHECK(f.Attribute("village") == "V1");
  CHECK(f.Attribute("branch") == "B1");
}

TEST_CASE("ReadLayer: dirty rings in a shapefile are repaired and counted") {
  TempDir dir;
  // C1: a repeated vertex and a spike. C2: a shell touching itself at a
  // point (an inverted hole, as ArcGIS draws them). C3: two parts sharing a
  // border (digitised twice). Neighbours share borders exactly.
  std::string csv = CellsCsv(
      dir, "dirty.csv",
      {Row("C1", "一",
           "POLYGON((110 34.5,110 34.5,110.01 34.5,110.01 34.505,110.015 "
           "34.505,110.01 34.505,110.01 34.51,110 34.51,110 34.5))"),
       Row("C2", "二",
           "POLYGON((110.01 34.5,110.02 34.5,110.02 34.51,110.015 "
           "34.51,110.016 "
           "34.506,110.014 34.506,110.015 34.51,110.01 34.51,110.01 34.5))"),
       Row("C3", "三",
           "MULTIPOLYGON(((110 34.51,110.01 34.51,110.01 34.52,110 34.52,110 "
           "34.51)),((110.01 34.51,110.02 34.51,110.02 34.52,110.01 "
           "34.52,110.01 "
           "34.51)))"),
       // C4 fills C2's inverted hole, so the town has no gap.
       Row("C4", "四",
           "POLYGON((110.015 34.51,110.014 34.506,110.016 34.506,110.015 "
           "34.51))")});
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(dir / "dirty.shp") + " " + Q(csv) +
          kFromCsv + "-nlt MULTIPOLYGON -lco ENCODING=UTF-8");
  auto r = Read(dir / "dirty.shp", LayerKind::kCells);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->repairs.repeated_vertices == 1);
  CHECK(r->repairs.spikes >= 1);
  CHECK(r->repairs.self_touching_rings == 1);
  CHECK(r->repairs.merged_parts == 1);
  // Repairs moved no border: C2's hole and C4 meet exactly, no overlap.
  CHECK_MESSAGE(r->accepted(), FormatReport(*r));
  auto cells = ByCode(r->features);
  REQUIRE(cells.size() == 4);
  CHECK(cells["C2"]->shape.parts.size() == 1);
  CHECK(cells["C2"]->shape.parts[0].rings.size() == 2);  // shell + hole
  CHECK(cells["C3"]->shape.parts.size() == 1);
  CHECK(Classify(cells["C2"]->shape, *ToFixed({110.015, 34.507})) ==
        Side::kOutside);  // inside the hole
  CHECK(Has(FormatReport(*r), "自接触环"));
}

TEST_CASE("ReadLayer: corrupt files are errors naming the file, not crashes") {
  TempDir dir;
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(dir / "cells.shp") + " " +
          Q(kTown + "/cells.geojson"));
  SUBCASE("a missing file") {
    auto r = Read(dir / "nope.shp", LayerKind::kCells);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kNotFound);
  }
  SUBCASE("a file that is no vector source") {
    auto r = Read(dir.Write("notes.txt", "not a map"), LayerKind::kCells);
    REQUIRE_FALSE(r);
    CHECK(Has(r.error().message,
              "notes.txt: 无法读取 / cannot be read as a vector file"));
  }
  SUBCASE("a truncated .shp") {
    std::string bytes = Slurp(dir / "cells.shp");
    std::ofstream(dir / "cells.shp", std::ios::binary | std::ios::trunc)
        << bytes.substr(0, bytes.size() / 3);
    auto r = Read(dir / "cells.shp", LayerKind::kCells);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    CHECK_FALSE(r->accepted());
    CHECK(r->features.size() < TownCells().features.size());
    bool read_error = false;
    for (const Problem& p : r->problems) {
      if (p.kind != "read_error") continue;
      read_error = true;
      CHECK(Has(p.message, "cells.shp: GDAL reported"));
      CHECK(Has(p.message, "export it again"));
    }
    CHECK(read_error);
  }
  SUBCASE("a missing .dbf") {
    std::filesystem::remove(dir / "cells.dbf");
    auto r = Read(dir / "cells.shp", LayerKind::kCells);
    REQUIRE_FALSE(r);
    CHECK(Has(r.error().message, "cells.shp: its attribute table cells.dbf"));
  }
  SUBCASE("coordinates of 1e300") {
    auto r = Read(
        dir.Write(
            "huge.geojson",
            R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"A","name":"a"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[1e300,34.5],[110.01,34.51],[110,34.5]]]}}]})"),
        LayerKind::kVillages);
    REQUIRE(r);
    REQUIRE(r->problems.size() == 1);
    CHECK(r->problems[0].kind == "bad_coordinate");
    CHECK(Has(r->problems[0].message, "huge.geojson, feature A: coordinate"));
    CHECK(Has(r->problems[0].message, "far outside any map"));
  }
}

TEST_CASE("ReadLayer: overlaps, gaps and villages are checked against a file") {
  TempDir dir;
  // V1 is 0.03 x 0.01 degrees. C1 and C2 overlap by 0.002 x 0.01; C3 leaves a
  // gap of 0.002 x 0.01 before the village's east edge and sticks out north.
  std::string villages = dir.Write(
      "villages.geojson",
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"V1","name":"一村"},"geometry":{"type":"Polygon","coordinates":[[[110,34.5],[110.03,34.5],[110.03,34.51],[110,34.51],[110,34.5]]]}}]})");
  std::string csv = CellsCsv(
      dir, "cells.csv",
      {Row("C1", "一", Square(110, 34.5, 0.01)),
       "C2,二,V1,B1,\"POLYGON((110.008 34.5,110.018 34.5,110.018 34.51,110.008 "
       "34.51,110.008 34.5))\"",
       "C3,三,V1,B1,\"POLYGON((110.018 34.5,110.028 34.5,110.028 "
       "34.511,110.018 "
       "34.511,110.018 34.5))\"",
       "C4,四,V9,B1,\"" + Square(110.1, 34.5, 0.001) + "\""});
  ImportOptions o;
  o.source_srs = "EPSG:4326";
  o.villages_source = villages;
  auto r = Read(csv, LayerKind::kCells, o);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  std::map<std::string, const Problem*> by_kind;
  for (const Problem& p : r->problems) by_kind[p.kind] = &p;
  CHECK(r->problems.size() == 4);
  MetricScale s = MetricScaleAt(34.505);
  double cell_area = 0.01e9 * s.x * 0.01e9 * s.y;  // m², 0.01 x 0.01 degree
  REQUIRE(by_kind.count("overlap"));
  CHECK(by_kind["overlap"]->feature == "C1");
  CHECK(by_kind["overlap"]->other == "C2");
  CHECK(by_kind["overlap"]->area_m2 ==
        doctest::Approx(cell_area * 0.2).epsilon(0.01));
  REQUIRE(by_kind.count("gap"));
  CHECK(by_kind["gap"]->feature == "V1");
  CHECK(by_kind["gap"]->area_m2 ==
        doctest::Approx(cell_area * 0.2).epsilon(0.01));
  REQUIRE(by_kind["gap"]->where);
  CHECK(by_kind["gap"]->where->lon > 110.028);
  REQUIRE(by_kind.count("outside_village"));
  CHECK(by_kind["outside_village"]->feature == "C3");
  CHECK(by_kind["outside_village"]->area_m2 ==
        doctest::Approx(cell_area * 0.1).epsilon(0.02));
  REQUIRE(by_kind.count("unknown_village"));
  CHECK(by_kind["unknown_village"]->feature == "C4");
  CHECK(Has(by_kind["unknown_village"]->message, "`V9`"));
  std::string json = ReportJson(*r);
  CHECK(Has(json, "\"kind\": \"overlap\""));
  CHECK(Has(json, "\"accepted\": false"));
}
