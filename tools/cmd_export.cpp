// wangge export: one layer of a boundary version to a GIS file.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/ledger.h"
#include "core/store.h"
#include "core/town.h"
#include "spatial/layer_writer.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kExportUsage =
    "Usage: wangge export --db FILE --layer villages|cells|zones|households|"
    "shopfronts\n"
    "         --format geojson|gpkg|shp|csv|kml --out FILE\n"
    "         [--encoding GBK|UTF-8] [--version N] [--t-srs CRS] [--force]\n"
    "  Writes the layer of the newest boundary version (or version N) through\n"
    "  GDAL: fields code, name and the other attributes; WGS84 lon/lat.\n"
    "  --encoding GBK     shapefile DBF in GBK (.cpg \"GBK\"); default UTF-8\n"
    "  --t-srs EPSG:4525  reproject (gpkg and shp only; GeoJSON and KML are\n"
    "                     WGS84 by definition, CSV cannot record a CRS)\n"
    "  --force            replace an existing FILE (never replaced otherwise)\n"
    "  A CSV export has WKT geometry in lon/lat: import it with\n"
    "  --s-srs EPSG:4326.\n"
    "       wangge export --db FILE --layer cases --out "
    "FILE.xlsx|.csv|.geojson\n"
    "         [--force]\n"
    "  Writes the case ledger (台账), one row per case, in the format of the\n"
    "  file's extension (the same as GET /api/v1/export/cases.*).\n";

int Usage(const std::string& error) {
  if (!error.empty()) std::cerr << "wangge export: " << error << "\n";
  std::cerr << kExportUsage;
  return 2;
}

int Failed(const Error& error) {
  std::cerr << "wangge export: " << error.message << "\n";
  return 1;
}

std::optional<int64_t> ParseVersion(const std::string& s) {
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 1) return std::nullopt;
  return v;
}

// `wangge export --layer cases`: the case ledger, offline.
int ExportCases(const Args& args) {
  if (!args.Flag("db") || !args.Flag("out")) {
    return Usage("--db and --out are required");
  }
  std::string out = *args.Flag("out");
  std::string ext = std::filesystem::path(out).extension().string();
  if (ext != ".xlsx" && ext != ".csv" && ext != ".geojson") {
    return Usage("--out must end in .xlsx, .csv or .geojson for --layer cases");
  }
  if (std::filesystem::exists(out) && !args.Has("force")) {
    return Failed(Error{ErrorCode::kConflict,
                        out + " exists; choose another name or add --force"});
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Failed(store.error());
  auto town = core::LoadTown(**store, std::nullopt);
  if (!town) return Failed(town.error());
  std::vector<core::CaseRecord> cases;
  core::CaseFilter f;
  f.limit = 500;
  for (f.offset = 0;; f.offset += f.limit) {
    auto page = (*store)->ListCases(f);
    if (!page) return Failed(page.error());
    cases.insert(cases.end(), page->begin(), page->end());
    if (int64_t(page->size()) < f.limit) break;
  }
  auto now = std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now());
  auto rows = core::LedgerRows(town->config, cases, now);
  std::string bytes;
  if (ext == ".csv") {
    bytes = core::LedgerCsv(rows);
  } else if (ext == ".geojson") {
    bytes = core::LedgerGeoJson(rows);
  } else {
    auto xlsx = core::LedgerXlsx(rows);
    if (!xlsx) return Failed(xlsx.error());
    bytes = std::move(*xlsx);
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << bytes;
  file.close();
  if (!file) {
    return Failed(Error{ErrorCode::kUnavailable, "cannot write " + out});
  }
  std::cerr << "exported " << rows.size() << " cases to " << out << "\n";
  return 0;
}

}  // namespace

int RunExport(int argc, char** argv) {
  Args args = ParseArgs(
      argc, argv, 2,
      {"db", "layer", "format", "out", "encoding", "version", "t-srs"},
      {"help", "force"});
  if (args.Has("help")) {
    std::cout << kExportUsage;
    return 0;
  }
  if (!args.error.empty()) return Usage(args.error);
  if (!args.positional.empty()) {
    return Usage("unexpected argument " + args.positional[0]);
  }
  if (args.Flag("layer") == "cases") return ExportCases(args);
  for (const char* required : {"db", "layer", "format", "out"}) {
    if (!args.Flag(required)) {
      return Usage("--" + std::string(required) + " is required");
    }
  }
  auto layer = spatial::ParseLayerKind(*args.Flag("layer"));
  if (!layer) return Usage(layer.error().message);
  auto format = spatial::ParseExportFormat(*args.Flag("format"));
  if (!format) return Usage(format.error().message);
  std::optional<int64_t> version;
  if (args.Flag("version")) {
    version = ParseVersion(*args.Flag("version"));
    if (!version) return Usage("--version takes a version number (1, 2, ...)");
  }
  spatial::WriteOptions options{
      .path = *args.Flag("out"),
      .format = *format,
      .layer = *layer,
      .encoding = args.Flag("encoding").value_or(""),
      .target_srs = args.Flag("t-srs").value_or(""),
      .overwrite = args.Has("force"),
  };
  if (auto ok = spatial::CheckWriteOptions(options); !ok) {
    return Usage(ok.error().message);
  }

  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Failed(store.error());
  auto town = (*store)->LoadLayers(version);
  if (!town) return Failed(town.error());
  const std::vector<spatial::Feature>* polygons = nullptr;
  const std::vector<spatial::PointFeature>* points = nullptr;
  switch (*layer) {
    case spatial::LayerKind::kVillages:
      polygons = &town->layers.villages;
      break;
    case spatial::LayerKind::kCells:
      polygons = &town->layers.cells;
      break;
    case spatial::LayerKind::kZones:
      polygons = &town->layers.zones;
      break;
    case spatial::LayerKind::kHouseholds:
      points = &town->households;
      break;
    case spatial::LayerKind::kShopfronts:
      points = &town->shopfronts;
      break;
  }
  static const std::vector<spatial::Feature> kNoPolygons;
  static const std::vector<spatial::PointFeature> kNoPoints;
  auto written =
      spatial::WriteLayer(options, polygons ? *polygons : kNoPolygons,
                          points ? *points : kNoPoints);
  if (!written) return Failed(written.error());
  for (const auto& warning : written->warnings) {
    std::cerr << "wangge export: warning: " << warning << "\n";
  }
  std::cerr << "exported " << written->features << " "
            << spatial::LayerKindName(*layer) << " of boundary version "
            << town->version << " to";
  for (const auto& file : written->files) std::cerr << " " << file;
  std::cerr << "\n";
  return 0;
}

}  // namespace wangge::tools
