#pragma once
// Reading boundary layers from files, through GDAL/OGR: any vector source
// GDAL opens (GeoJSON, Shapefile, GeoPackage, KML ...). Coordinates are
// reprojected to WGS84 lon/lat when the source declares another CRS; a
// source without a CRS is taken as WGS84 lon/lat (as GeoJSON defines) and
// refused if its numbers cannot be degrees.
//
// Every feature needs a non-empty `code`; `name` and all other fields are
// copied into Feature::attributes as text. Geometry must be a Polygon or
// MultiPolygon; it is cleaned with CleanShape and NormalizeShape (repairs
// counted, bow-ties refused). Errors name the file and the feature (its
// code, else its position) and say what to fix.
//
// Both are built on ReadLayer (spatial/import.h) and fail with the first
// problem it reports; use ReadLayer itself to get every problem at once.
//
//   auto layers = ReadLayersDir("data/taiyao");
//   if (!layers) { std::cerr << layers.error().message; return 1; }

#include <string>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/geometry.h"

namespace wangge::spatial {

struct LayerRead {
  std::vector<Feature> features;
  Repairs repairs;
};

// Reads the first layer of `path`. `required` lists attribute fields every
// feature must have besides `code` (e.g. {"village"} for cells).
Result<LayerRead> ReadPolygonLayer(const std::string& path,
                                   const std::vector<std::string>& required);

// Parses a WKT Polygon or MultiPolygon into a Shape, as it stands (no
// cleaning). Coordinates are lon/lat degrees.
Result<Shape> ParseWkt(const std::string& wkt);

// Reads DIR/villages.geojson, DIR/cells.geojson and, if present,
// DIR/zones.geojson. Cells must carry `village`.
Result<Layers> ReadLayersDir(const std::string& dir);

}  // namespace wangge::spatial
