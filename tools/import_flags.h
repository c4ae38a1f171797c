#pragma once
// The source-reading flags shared by `wangge validate` and `wangge import`:
// --layer, --code-field ... --leader-field, --source-layer, --encoding,
// --s-srs, --snap-tolerance, and the SOURCE positional.

#include <cstdlib>
#include <set>
#include <string>

#include "spatial/import.h"
#include "tools/args.h"

namespace wangge::tools {

inline const std::set<std::string>& ImportFlagNames() {
  static const std::set<std::string> names = {
      "layer",        "code-field",    "name-field",   "village-field",
      "branch-field", "leader-field",  "source-layer", "encoding",
      "s-srs",        "snap-tolerance"};
  return names;
}

inline constexpr const char* kImportFlagsUsage =
    "         [--code-field F] [--name-field F] [--village-field F]\n"
    "         [--branch-field F] [--leader-field F] [--source-layer NAME]\n"
    "         [--encoding ENC] [--s-srs SRS] [--snap-tolerance METRES]\n"
    "  SOURCE: Shapefile (also .zip), GeoJSON, GeoPackage, KML, CSV with WKT\n"
    "  or lon/lat columns; reprojected to WGS84, benign defects repaired.\n"
    "  --encoding GBK     decode text as GBK (overrides the .cpg)\n"
    "  --s-srs EPSG:4525  the CRS of the coordinates (overrides the .prj)\n"
    "  --snap-tolerance M overlaps and gaps thinner than M metres (default\n"
    "                     0.1) or smaller than 1 m² are ignored as slivers\n";

// Fills `options` from `args`; returns "" or what is wrong with them.
inline std::string ImportOptionsFromArgs(const Args& args,
                                         spatial::ImportOptions& options) {
  if (!args.Flag("layer")) return "缺少 --layer / --layer is required";
  if (args.positional.size() != 1) {
    return "给出一个源文件 / give exactly one SOURCE";
  }
  // An empty value (a shell variable that was not set) would be ignored.
  for (const char* flag :
       {"code-field", "name-field", "village-field", "branch-field",
        "leader-field", "source-layer", "encoding", "s-srs"}) {
    if (auto v = args.Flag(flag); v && v->empty()) {
      return std::string("--") + flag +
             " is empty; give a value or leave it out";
    }
  }
  auto kind = spatial::ParseLayerKind(*args.Flag("layer"));
  if (!kind) return kind.error().message;
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
  if (auto t = args.Flag("snap-tolerance")) {
    char* end = nullptr;
    double metres = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || !(metres >= 0) || metres > 100) {
      return "--snap-tolerance takes metres between 0 and 100, got '" + *t +
             "'";
    }
    options.topology.sliver_width_m = metres;
  }
  return "";
}

}  // namespace wangge::tools
