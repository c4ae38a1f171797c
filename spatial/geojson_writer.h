#pragma once
// Writes a polygon layer as an RFC 7946 GeoJSON FeatureCollection.
//
// Coordinates are written from nanodegrees as exact decimals with 9 places,
// so reading the file back gives the very same vertices; rings are closed.
// Properties: "code", "name", then the other attributes in key order.
// `members` are added to the collection as foreign members, each a key and
// its value as JSON text, e.g. {"synthetic", "true"}. Output is byte-for-byte
// deterministic for the same input.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "spatial/feature.h"
#include "spatial/feature_table.h"

namespace wangge::spatial {

using JsonMembers = std::vector<std::pair<std::string, std::string>>;

// REQUIRES: every value in `members` is valid JSON text.
std::string ToGeoJson(const std::vector<Feature>& features,
                      const std::string& name, const JsonMembers& members = {});

// The same for the features of `table` at `indices`, in that order.
std::string ToGeoJson(const FeatureTable& table,
                      const std::vector<size_t>& indices,
                      const std::string& name, const JsonMembers& members = {});

// The same for points; geometry type "Point".
std::string ToGeoJson(const std::vector<PointFeature>& features,
                      const std::string& name, const JsonMembers& members = {});

}  // namespace wangge::spatial
