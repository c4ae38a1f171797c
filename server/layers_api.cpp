// GET /api/v1/layers/{villages|cells|zones|households|shopfronts}.geojson
// [?bbox=min_lon,min_lat,max_lon,max_lat]: the boundary layers of the version
// in use as GeoJSON, for maps. With bbox, only features whose bounds meet it.
#include <cstdio>
#include <regex>

#include "server/api_internal.h"
#include "spatial/geojson_writer.h"

namespace wangge::server::internal {
namespace {

bool Meets(const spatial::Box& a, const spatial::Box& b) {
  return a.min.x <= b.max.x && b.min.x <= a.max.x && a.min.y <= b.max.y &&
         b.min.y <= a.max.y;
}

}  // namespace

std::optional<ApiResponse> LayersRoute(Context& c) {
  static const std::regex kLayer(
      R"(/api/v1/layers/(villages|cells|zones|households|shopfronts)\.geojson)");
  std::smatch m;
  if (!c.req.path.starts_with("/api/v1/layers")) return std::nullopt;
  c.route = "/api/v1/layers/{layer}.geojson";
  if (c.req.method != "GET" || !std::regex_match(c.req.path, m, kLayer)) {
    return ErrorResponse(404, "not_found",
                         "layers are GET /api/v1/layers/{villages|cells|"
                         "zones|households|shopfronts}.geojson");
  }
  if (auto user = Authenticate(c); !user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  std::optional<spatial::Box> box;
  if (std::string b = c.Query("bbox"); !b.empty()) {
    auto parsed = Bbox(b);
    if (!parsed) {
      return ErrorResponse(400, "invalid_argument",
                           "bbox must be min_lon,min_lat,max_lon,max_lat in "
                           "WGS84 degrees",
                           "bbox");
    }
    const auto& v = *parsed;
    auto lo = spatial::ToFixed({v[0], v[1]});
    auto hi = spatial::ToFixed({v[2], v[3]});
    if (!lo || !hi) {
      return ErrorResponse(400, "invalid_argument",
                           "bbox is outside [-180, 180] x [-90, 90]", "bbox");
    }
    box = spatial::Box{*lo, *hi};
  }
  const std::string layer = m[1];
  const spatial::Locator& locator = *c.town.locator;
  spatial::JsonMembers members = {
      {"boundary_version", std::to_string(c.town.version)}};
  ApiResponse r;
  if (layer == "households" || layer == "shopfronts") {
    const auto& all =
        layer == "households" ? c.town.households : c.town.shopfronts;
    std::vector<spatial::PointFeature> picked;
    for (const auto& p : all) {
      if (!box || Meets(*box, spatial::Box{p.at, p.at})) picked.push_back(p);
    }
    r = Json(200, spatial::ToGeoJson(picked, layer, members));
  } else {
    const spatial::LayerIndex& index = layer == "villages" ? locator.villages()
                                       : layer == "cells"  ? locator.cells()
                                                           : locator.zones();
    // Features are decoded one at a time: the layer stays packed.
    const spatial::FeatureTable& table = index.table();
    std::vector<size_t> picked;
    for (size_t i = 0; i < table.size(); ++i) {
      if (!box || Meets(*box, table.bounds(i))) picked.push_back(i);
    }
    r = Json(200, spatial::ToGeoJson(table, picked, layer, members));
  }
  r.content_type = "application/geo+json; charset=utf-8";
  r.headers["Cache-Control"] = "private, max-age=60";
  return r;
}

}  // namespace wangge::server::internal
