#pragma once
// Export: writing one layer (polygons or points) to a GIS file GDAL writes —
// GeoJSON, GeoPackage, Shapefile, CSV or KML — so GIS staff can take the
// stored boundaries back into QGIS or ArcGIS. Nothing here knows about the
// database; the caller hands over the features.
//
// Rules:
// - Fields: `code`, `name`, then every other attribute any feature carries,
//   in key order, all as text (a feature without one gets "").
// - Geometry: polygon layers as Polygon (MultiPolygon when some feature has
//   several parts; then every feature is a MultiPolygon), point layers as
//   Point. Rings are closed; their direction is the format's convention.
// - CRS: WGS84 lon/lat (traditional GIS axis order) unless target_srs names
//   another one. GeoJSON and KML are WGS84 by definition and CSV has nowhere
//   to record a CRS, so target_srs is refused for them; shapefiles get a .prj,
//   GeoPackages their srs_id.
// - Precision: GeoPackage and Shapefile store IEEE doubles and GeoJSON is
//   written with 17 significant digits (the same double back), so reading
//   them gives the very same nanodegree vertices; CSV (WKT) and KML keep 15
//   significant digits, enough for the 12 a lon/lat nanodegree needs.
//   Reprojected output carries what the transformation gives (sub-mm).
// - Text is UTF-8, except a Shapefile with encoding "GBK": its DBF is written
//   in GBK and its .cpg says "GBK". A shapefile always gets a .cpg. Text GBK
//   cannot hold, or a value longer than a DBF field can (254 bytes), is an
//   error naming the feature; Shapefile field names longer than 10 characters
//   are cut by GDAL (reported in Written::warnings).
// - Files: everything is written into a fresh folder next to `path` and moved
//   into place at the end, so a failed export leaves nothing behind. An
//   existing `path` (for a shapefile, any of its .shp/.shx/.dbf/.prj/.cpg) is
//   refused unless `overwrite`; then the old files, and a stale spatial index
//   (.qix, .sbn, .sbx), are replaced. Moving several files of a shapefile is
//   not atomic as a whole, each file is.
//
// WriteLayer may run on several threads at once on different paths.
//
//   WriteOptions o{.path = "cells.shp", .format = ExportFormat::kShapefile,
//                  .layer = LayerKind::kCells, .encoding = "GBK"};
//   auto written = WriteLayer(o, town.layers.cells, {});
//   if (!written) return Fail(written.error());  // names the file, says why

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/import.h"

namespace wangge::spatial {

// Stored in scripts and sent over the API: values are fixed, append only.
enum class ExportFormat {
  kGeoJson = 1,
  kGeoPackage = 2,
  kShapefile = 3,
  kCsv = 4,
  kKml = 5,
};

// "geojson", "gpkg", "shp", "csv", "kml".
const char* ExportFormatName(ExportFormat format);
// Parses ExportFormatName's output (case-insensitively); kInvalidArgument
// listing the choices else.
Result<ExportFormat> ParseExportFormat(std::string_view name);

struct WriteOptions {
  // The file to write; its extension must fit the format (.geojson or .json,
  // .gpkg, .shp, .csv, .kml).
  std::string path;
  ExportFormat format = ExportFormat::kGeoJson;
  // Names the layer inside the file and says whether it holds points.
  LayerKind layer = LayerKind::kCells;
  // Default: "" = UTF-8. "GBK" or "UTF-8" (any case); GBK for shapefiles
  // only.
  std::string encoding;
  // Default: "" = WGS84 lon/lat. Anything GDAL knows, e.g. "EPSG:4525"
  // (CGCS2000 3-degree Gauss-Kruger zone 37); shp and gpkg only.
  std::string target_srs;
  // Default: false = refuse to replace an existing file.
  bool overwrite = false;
};

struct Written {
  std::vector<std::string> files;     // the paths written, main file first
  int features = 0;                   // features written
  std::vector<std::string> warnings;  // e.g. GDAL cutting a field name
};

// Checks the options alone (format, extension, encoding, CRS), touching no
// file. kInvalidArgument with `field` naming the option ("out", "encoding",
// "t-srs") and a message saying what to give instead.
Result<void> CheckWriteOptions(const WriteOptions& options);

// Writes `polygons` (polygon layers) or `points` (point layers; the other
// vector is ignored). Fails with CheckWriteOptions' errors, kConflict when
// the file exists and !overwrite, kInvalidArgument for text the encoding or a
// DBF field cannot hold, kUnavailable when GDAL cannot write; every message
// names the file. On failure nothing is left on disk.
Result<Written> WriteLayer(const WriteOptions& options,
                           const std::vector<Feature>& polygons,
                           const std::vector<PointFeature>& points);

}  // namespace wangge::spatial
