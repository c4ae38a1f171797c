#pragma once
// Import: turning whatever GIS staff hand over (Shapefile, also zipped,
// GeoJSON, GeoPackage, KML, CSV with WKT or lon/lat columns) into clean
// features of one layer plus a report of what was repaired and what is wrong.
// Nothing is stored here; the caller decides what to do with an accepted
// result.
//
// Rules (README "Import rules" says the same for GIS staff):
// - CRS: from the source (.prj, GeoPackage, ...) or --s-srs (which wins), and
//   reprojected to WGS84 lon/lat (traditional GIS axis order). GeoJSON and
//   KML are WGS84 by definition. Any other source without a CRS is refused;
//   if its numbers are projected metres the message says so and suggests the
//   CGCS2000 Gauss-Krüger EPSG code the zone prefix points to.
// - Text: Shapefiles honour the .cpg (or the DBF's code page byte);
//   ImportOptions::encoding overrides. Text that is not valid UTF-8 after
//   decoding is refused, suggesting --encoding GBK: mojibake never gets in.
// - Geometry: CleanShape then NormalizeShape repair benign defects without
//   moving any vertex (counted in ImportRepairs); bow-ties are refused.
// - Validation reports every problem in one pass (ImportResult::problems);
//   the result is acceptable only when there is none.
//
// ReadLayer may run on several threads at once (GDAL's error handlers are
// per thread).
//
//   ImportOptions o{.source = "cells.shp", .layer = LayerKind::kCells};
//   auto r = ReadLayer(o);
//   if (!r) return Fail(r.error());          // unreadable: file-level error
//   std::cout << FormatReport(*r);           // r->accepted() says if usable

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/geometry.h"
#include "spatial/topology.h"

namespace wangge::spatial {

// Stored and sent over the API: values are fixed, append new ones only.
enum class LayerKind {
  kVillages = 1,
  kCells = 2,
  kZones = 3,
  kHouseholds = 4,
  kShopfronts = 5,
};

// "villages", "cells", "zones", "households", "shopfronts".
const char* LayerKindName(LayerKind kind);
// Parses LayerKindName's output; kInvalidArgument listing the choices else.
Result<LayerKind> ParseLayerKind(std::string_view name);
// Households and shopfronts are points, the rest polygons.
bool IsPointLayer(LayerKind kind);
// Our attribute names every feature of `kind` must fill, besides `code`:
// villages, zones, households, shopfronts {"name"}; cells {"name",
// "village", "branch"}.
std::vector<std::string> RequiredFields(LayerKind kind);

// Which source field holds each of our attributes. Field names match
// case-insensitively (GDAL's rule), so KML's `Name` is found as "name".
struct FieldMap {
  std::string code = "code";
  std::string name = "name";
  std::string village = "village";
  std::string branch = "branch";
  std::string leader = "leader";
};

struct ImportOptions {
  std::string source;  // file path; a .zip is read through /vsizip/
  LayerKind layer = LayerKind::kCells;
  FieldMap fields;
  // Default: "" = the only layer with geometry; required when there are more.
  std::string source_layer;
  // Default: "" = as the source declares (.cpg), else UTF-8. E.g. "GBK".
  std::string encoding;
  // Default: "" = the source's CRS. E.g. "EPSG:4525"; overrides the source.
  std::string source_srs;
  // Default: "" = no village boundaries; for cells, a villages layer file
  // (fields `code`, `name`) to check cells against.
  std::string villages_source;
  TopologyOptions topology;
  // Default: nullopt = RequiredFields(layer). Attributes every feature must
  // fill besides `code`.
  std::optional<std::vector<std::string>> required;
  // Default: false. When true, a source without a CRS is taken as WGS84
  // lon/lat (the old ReadPolygonLayer rule) instead of being refused.
  bool assume_wgs84 = false;
  // Default: true. Run the layer checks (overlaps, gaps, villages).
  bool check_topology = true;
};

// Everything repaired, with counts, for the report.
struct ImportRepairs {
  int repeated_vertices = 0;    // consecutive duplicate vertices dropped
  int spikes = 0;               // zero-area spikes removed
  int degenerate_holes = 0;     // holes without area dropped
  int self_touching_rings = 0;  // rings split where they touch themselves
  int merged_parts = 0;         // parts sharing a border merged
  int unclosed_rings = 0;       // rings whose last vertex was not the first
  int curves = 0;               // features with arcs, turned into vertices
  int z_or_m = 0;               // features whose Z or M values were dropped
  int total() const {
    return repeated_vertices + spikes + degenerate_holes + self_touching_rings +
           merged_parts + unclosed_rings + curves + z_or_m;
  }
  ImportRepairs& operator+=(const ImportRepairs& o) {
    repeated_vertices += o.repeated_vertices;
    spikes += o.spikes;
    degenerate_holes += o.degenerate_holes;
    self_touching_rings += o.self_touching_rings;
    merged_parts += o.merged_parts;
    unclosed_rings += o.unclosed_rings;
    curves += o.curves;
    z_or_m += o.z_or_m;
    return *this;
  }
};

struct ImportResult {
  std::string source;        // as given
  std::string file;          // its file name, used in messages
  std::string driver;        // GDAL driver, e.g. "ESRI Shapefile"
  std::string source_layer;  // the layer read inside the source
  std::string crs;           // e.g. "EPSG:4525 (CGCS2000 / 3-degree ...)"
  std::string encoding;      // how text was decoded, e.g. "GBK (.cpg)"
  LayerKind layer = LayerKind::kCells;
  int features_read = 0;             // features in the source
  std::vector<Feature> features;     // polygon layers: the valid ones
  std::vector<PointFeature> points;  // point layers: the valid ones
  ImportRepairs repairs;
  int slivers = 0;            // overlap/gap pieces ignored as slivers
  double sliver_area_m2 = 0;  // their total area
  std::vector<Problem> problems;

  // True when nothing is wrong: the layer may be imported as it is.
  bool accepted() const { return problems.empty(); }
};

// Reads, repairs and validates one layer. Fails (a file-level error, no
// report) when the source cannot be opened, has no CRS, names an unknown
// layer or holds text that is not valid UTF-8; otherwise every problem is
// listed in the result.
Result<ImportResult> ReadLayer(const ImportOptions& options);

// Runs the layer checks of `result.layer` on result.features (overlaps for
// villages and cells; for cells gaps, and with `villages` also outside and
// unknown village) and appends what they find. ReadLayer calls it.
void CheckLayer(ImportResult& result, const std::vector<Feature>* villages,
                const TopologyOptions& options);

// A human report, Chinese first: source, CRS, encoding, repairs, every
// problem with its place, and the verdict (通过 accepted / 拒绝 refused).
std::string FormatReport(const ImportResult& result);

// The same as JSON: {"source", "file", "driver", "source_layer", "crs",
// "encoding", "layer", "accepted", "features_read", "features", "repairs":
// {...}, "slivers": {"count", "area_m2"}, "problems": [{"feature", "kind",
// "message", "lon", "lat", "area_m2", "other"}]}.
std::string ReportJson(const ImportResult& result);

// A file-level error as JSON: {"source", "accepted": false, "error":
// {"code", "message", "field"}}.
std::string ErrorJson(const std::string& source, const Error& error);

}  // namespace wangge::spatial
