// The only translation unit of spatial/ that includes GDAL.
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <filesystem>
#include <memory>
#include <mutex>

#include "spatial/layer_reader.h"

namespace wangge::spatial {
namespace {

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

Error Invalid(const std::string& message, const std::string& field = {}) {
  return Error{ErrorCode::kInvalidArgument, message, field};
}

Result<Ring> ConvertRing(const OGRLinearRing& ring) {
  Ring out;
  out.reserve(ring.getNumPoints());
  for (int i = 0; i < ring.getNumPoints(); ++i) {
    double x = ring.getX(i), y = ring.getY(i);
    auto p = ToFixed({x, y});
    if (!p) {
      return std::unexpected(Invalid(
          "coordinate (" + std::to_string(x) + ", " + std::to_string(y) +
          ") is not a longitude/latitude; the file has no CRS, so its "
          "numbers look like projected metres. Save it with its CRS (.prj) "
          "or as WGS84 (EPSG:4326)"));
    }
    out.push_back(*p);
  }
  return out;
}

Result<Polygon> ConvertPolygon(const OGRPolygon& polygon) {
  Polygon out;
  if (const OGRLinearRing* shell = polygon.getExteriorRing()) {
    auto ring = ConvertRing(*shell);
    if (!ring) return std::unexpected(ring.error());
    out.rings.push_back(std::move(*ring));
  }
  for (int i = 0; i < polygon.getNumInteriorRings(); ++i) {
    auto ring = ConvertRing(*polygon.getInteriorRing(i));
    if (!ring) return std::unexpected(ring.error());
    out.rings.push_back(std::move(*ring));
  }
  return out;
}

Result<Shape> ConvertGeometry(const OGRGeometry* geometry) {
  if (geometry == nullptr || geometry->IsEmpty()) {
    return std::unexpected(Invalid("geometry is empty; draw its boundary"));
  }
  Shape shape;
  switch (wkbFlatten(geometry->getGeometryType())) {
    case wkbPolygon: {
      auto part = ConvertPolygon(*geometry->toPolygon());
      if (!part) return std::unexpected(part.error());
      shape.parts.push_back(std::move(*part));
      break;
    }
    case wkbMultiPolygon:
      for (const OGRPolygon* polygon : *geometry->toMultiPolygon()) {
        if (polygon->IsEmpty()) continue;
        auto part = ConvertPolygon(*polygon);
        if (!part) return std::unexpected(part.error());
        shape.parts.push_back(std::move(*part));
      }
      break;
    default:
      return std::unexpected(
          Invalid(std::string("geometry is a ") +
                  OGRGeometryTypeToName(geometry->getGeometryType()) +
                  "; boundary layers need Polygon or MultiPolygon"));
  }
  return shape;
}

void RegisterOnce() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

}  // namespace

Result<LayerRead> ReadPolygonLayer(const std::string& path,
                                   const std::vector<std::string>& required) {
  RegisterOnce();
  const std::string file = FileName(path);
  if (!std::filesystem::exists(path)) {
    return Fail(ErrorCode::kNotFound,
                path + ": no such file; check the path or the data folder");
  }
  CPLErrorReset();
  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY,
                        nullptr, nullptr, nullptr));
  if (!dataset) {
    std::string why = CPLGetLastErrorMsg();
    return Fail(ErrorCode::kInvalidArgument,
                path + ": cannot be read as a vector file" +
                    (why.empty() ? std::string() : " (" + why + ")") +
                    ". Check that it is complete and in a format GDAL "
                    "reads, e.g. GeoJSON or Shapefile");
  }
  if (dataset->GetLayerCount() < 1) {
    return Fail(ErrorCode::kInvalidArgument, path + ": holds no layer");
  }
  OGRLayer* layer = dataset->GetLayer(0);
  OGRFeatureDefn* defn = layer->GetLayerDefn();
  std::vector<std::string> needed = {"code"};
  needed.insert(needed.end(), required.begin(), required.end());
  for (const std::string& field : needed) {
    if (defn->GetFieldIndex(field.c_str()) < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ": has no `" + field +
                      "` attribute; add the field and fill it for every "
                      "feature",
                  field);
    }
  }

  // Reprojection to WGS84 lon/lat, when the source says it is something else.
  std::unique_ptr<OGRCoordinateTransformation> transform;
  if (const OGRSpatialReference* source = layer->GetSpatialRef()) {
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReference from(*source);
    from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    if (!from.IsSame(&wgs84)) {
      transform.reset(OGRCreateCoordinateTransformation(&from, &wgs84));
      if (!transform) {
        return Fail(ErrorCode::kInvalidArgument,
                    file + ": its CRS cannot be converted to WGS84 (" +
                        CPLGetLastErrorMsg() + ")");
      }
    }
  }

  LayerRead out;
  layer->ResetReading();
  int position = 0;
  for (auto& feature : *layer) {
    ++position;
    std::string code =
        feature->IsFieldSetAndNotNull(defn->GetFieldIndex("code"))
            ? feature->GetFieldAsString("code")
            : "";
    std::string who = file + ", feature " +
                      (code.empty() ? "#" + std::to_string(position) : code);
    std::string where = who + ": ";
    if (code.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + "has no `code`; every feature needs a unique code",
                  "code");
    }
    Feature f;
    f.code = code;
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
      if (!feature->IsFieldSetAndNotNull(i)) continue;
      std::string key = defn->GetFieldDefn(i)->GetNameRef();
      if (key == "code") continue;
      f.attributes[key] = feature->GetFieldAsString(i);
    }
    f.name = f.Attribute("name");
    for (const std::string& field : required) {
      if (f.Attribute(field).empty()) {
        return Fail(ErrorCode::kInvalidArgument,
                    where + "has no `" + field + "` value; fill it in", field);
      }
    }
    std::unique_ptr<OGRGeometry> geometry(
        feature->GetGeometryRef() ? feature->GetGeometryRef()->clone()
                                  : nullptr);
    if (geometry && transform &&
        geometry->transform(transform.get()) != OGRERR_NONE) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + "cannot be reprojected to WGS84; check its CRS");
    }
    auto shape = ConvertGeometry(geometry.get());
    if (!shape) return std::unexpected(shape.error().WithContext(who));
    auto cleaned = CleanShape(std::move(*shape));
    if (!cleaned) return std::unexpected(cleaned.error().WithContext(who));
    f.shape = std::move(cleaned->shape);
    out.repairs.repeated_vertices += cleaned->repairs.repeated_vertices;
    out.repairs.spikes += cleaned->repairs.spikes;
    out.repairs.degenerate_holes += cleaned->repairs.degenerate_holes;
    out.features.push_back(std::move(f));
  }
  return out;
}

Result<Shape> ParseWkt(const std::string& wkt) {
  OGRGeometry* parsed = nullptr;
  if (OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &parsed) !=
      OGRERR_NONE) {
    return Fail(ErrorCode::kInvalidArgument, "not valid WKT: " + wkt);
  }
  std::unique_ptr<OGRGeometry> owned(parsed);
  return ConvertGeometry(owned.get());
}

Result<Layers> ReadLayersDir(const std::string& dir) {
  namespace fs = std::filesystem;
  Layers layers;
  auto villages =
      ReadPolygonLayer((fs::path(dir) / "villages.geojson").string(), {});
  if (!villages) return std::unexpected(villages.error());
  layers.villages = std::move(villages->features);
  auto cells =
      ReadPolygonLayer((fs::path(dir) / "cells.geojson").string(), {"village"});
  if (!cells) return std::unexpected(cells.error());
  layers.cells = std::move(cells->features);
  fs::path zones_path = fs::path(dir) / "zones.geojson";
  if (fs::exists(zones_path)) {
    auto zones = ReadPolygonLayer(zones_path.string(), {});
    if (!zones) return std::unexpected(zones.error());
    layers.zones = std::move(zones->features);
  }
  return layers;
}

}  // namespace wangge::spatial
