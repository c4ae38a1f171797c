// wangge validate: read a GIS file as one layer, repair benign defects,
// validate, and print the report. Flag parsing only; the work is
// spatial::ReadLayer.
#include <cstdlib>
#include <iostream>
#include <string>

#include "spatial/import.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge validate --layer villages|cells|zones|households|shopfronts "
    "SOURCE\n"
    "         [--code-field F] [--name-field F] [--village-field F]\n"
    "         [--branch-field F] [--leader-field F] [--source-layer NAME]\n"
    "         [--encoding ENC] [--s-srs SRS] [--villages FILE]\n"
    "         [--snap-tolerance METRES] [--report json]\n"
    "  Reads SOURCE (Shapefile, .zip, GeoJSON, GeoPackage, KML, CSV with WKT\n"
    "  or lon/lat columns), reprojects it to WGS84, repairs benign defects\n"
    "  and lists every problem (校验报告). Exit 0 if the layer can be\n"
    "  imported, 1 if it is refused, 2 on bad arguments.\n"
    "  --encoding GBK     decode text as GBK (overrides the .cpg)\n"
    "  --s-srs EPSG:4525  the CRS of the coordinates (overrides the .prj)\n"
    "  --villages FILE    check cells against these village boundaries\n"
    "  --snap-tolerance M overlaps and gaps thinner than M metres (default\n"
    "                     0.1) or smaller than 1 m² are ignored as slivers\n"
    "  --report json      print the report as JSON on stdout\n";

int Usage(const std::string& error) {
  if (!error.empty()) std::cerr << "wangge validate: " << error << "\n";
  std::cerr << kUsage;
  return 2;
}

}  // namespace

int RunValidate(int argc, char** argv) {
  Args args =
      ParseArgs(argc, argv, 2,
                {"layer", "code-field", "name-field", "village-field",
                 "branch-field", "leader-field", "source-layer", "encoding",
                 "s-srs", "villages", "snap-tolerance", "report"},
                {"help"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!args.error.empty()) return Usage(args.error);
  if (!args.Flag("layer")) return Usage("--layer is required");
  if (args.positional.size() != 1) return Usage("give exactly one SOURCE");
  auto kind = spatial::ParseLayerKind(*args.Flag("layer"));
  if (!kind) return Usage(kind.error().message);
  std::string report = args.Flag("report").value_or("text");
  if (report != "text" && report != "json") {
    return Usage("--report takes json (or text, the default)");
  }

  spatial::ImportOptions options;
  options.source = args.positional[0];
  options.layer = *kind;
  if (auto f = args.Flag("code-field")) options.fields.code = *f;
  if (auto f = args.Flag("name-field")) options.fields.name = *f;
  if (auto f = args.Flag("village-field")) options.fields.village = *f;
  if (auto f = args.Flag("branch-field")) options.fields.branch = *f;
  if (auto f = args.Flag("leader-field")) options.fields.leader = *f;
  options.source_layer = args.Flag("source-layer").value_or("");
  options.encoding = args.Flag("encoding").value_or("");
  options.source_srs = args.Flag("s-srs").value_or("");
  options.villages_source = args.Flag("villages").value_or("");
  if (!options.villages_source.empty() && *kind != spatial::LayerKind::kCells) {
    return Usage("--villages only applies to --layer cells");
  }
  if (auto t = args.Flag("snap-tolerance")) {
    char* end = nullptr;
    double metres = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || !(metres >= 0) || metres > 100) {
      return Usage("--snap-tolerance takes metres between 0 and 100, got '" +
                   *t + "'");
    }
    options.topology.sliver_width_m = metres;
  }

  auto result = spatial::ReadLayer(options);
  if (!result) {
    std::cerr << "wangge validate: " << result.error().message << "\n";
    if (report == "json") {
      std::cout << spatial::ErrorJson(options.source, result.error()) << "\n";
    }
    return 1;
  }
  if (report == "json") {
    std::cout << spatial::ReportJson(*result) << "\n";
  } else {
    std::cout << spatial::FormatReport(*result);
  }
  return result->accepted() ? 0 : 1;
}

}  // namespace wangge::tools
