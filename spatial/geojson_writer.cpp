#include "spatial/geojson_writer.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace wangge::spatial {
namespace {

void AppendCoordinate(int64_t v, std::string& out) {
  char buf[32];
  int64_t whole = v / 1000000000, frac = v % 1000000000;
  bool negative = v < 0;
  if (negative) {
    whole = -whole;
    frac = -frac;
  }
  std::snprintf(buf, sizeof buf, "%s%" PRId64 ".%09" PRId64,
                negative ? "-" : "", whole, frac);
  out += buf;
}

void AppendRing(const Ring& ring, std::string& out) {
  out += '[';
  for (size_t i = 0; i <= ring.size(); ++i) {
    const Pt& p = ring[i % ring.size()];  // repeat the first to close
    if (i) out += ',';
    out += '[';
    AppendCoordinate(p.x, out);
    out += ',';
    AppendCoordinate(p.y, out);
    out += ']';
  }
  out += ']';
}

void AppendPolygon(const Polygon& polygon, std::string& out) {
  out += '[';
  for (size_t r = 0; r < polygon.rings.size(); ++r) {
    if (r) out += ',';
    AppendRing(polygon.rings[r], out);
  }
  out += ']';
}

std::string Header(const std::string& name, const JsonMembers& members) {
  std::string out =
      "{\"type\":\"FeatureCollection\",\"name\":" +
      nlohmann::json(name).dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace);
  for (const auto& [key, value] : members) {
    out += "," +
           nlohmann::json(key).dump(-1, ' ', false,
                                    nlohmann::json::error_handler_t::replace) +
           ":" + value;
  }
  return out + ",\"features\":[\n";
}

template <class F>
std::string Properties(const F& f) {
  nlohmann::ordered_json props;
  props["code"] = f.code;
  props["name"] = f.name;
  for (const auto& [key, value] : f.attributes) {
    if (key != "name") props[key] = value;
  }
  return props.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Appends the n features that feature(i) gives.
template <class Get>
std::string PolygonsToGeoJson(size_t n, Get feature, const std::string& name,
                              const JsonMembers& members) {
  std::string out = Header(name, members);
  for (size_t i = 0; i < n; ++i) {
    const Feature& f = feature(i);
    out += "{\"type\":\"Feature\",\"properties\":" + Properties(f) +
           ",\"geometry\":{\"type\":";
    bool multi = f.shape.parts.size() > 1;
    out += multi ? "\"MultiPolygon\",\"coordinates\":["
                 : "\"Polygon\",\"coordinates\":";
    for (size_t k = 0; k < f.shape.parts.size(); ++k) {
      if (k) out += ',';
      AppendPolygon(f.shape.parts[k], out);
    }
    out += multi ? "]}}" : "}}";
    out += i + 1 < n ? ",\n" : "\n";
  }
  return out + "]}\n";
}

}  // namespace

std::string ToGeoJson(const std::vector<Feature>& features,
                      const std::string& name, const JsonMembers& members) {
  return PolygonsToGeoJson(
      features.size(), [&](size_t i) -> const Feature& { return features[i]; },
      name, members);
}

std::string ToGeoJson(const FeatureTable& table,
                      const std::vector<size_t>& indices,
                      const std::string& name, const JsonMembers& members) {
  Feature f;
  return PolygonsToGeoJson(
      indices.size(),
      [&](size_t i) -> const Feature& { return f = table.feature(indices[i]); },
      name, members);
}

std::string ToGeoJson(const std::vector<PointFeature>& features,
                      const std::string& name, const JsonMembers& members) {
  std::string out = Header(name, members);
  for (size_t i = 0; i < features.size(); ++i) {
    out += "{\"type\":\"Feature\",\"properties\":" + Properties(features[i]) +
           ",\"geometry\":{\"type\":\"Point\",\"coordinates\":[";
    AppendCoordinate(features[i].at.x, out);
    out += ',';
    AppendCoordinate(features[i].at.y, out);
    out += i + 1 < features.size() ? "]}},\n" : "]}}\n";
  }
  return out + "]}\n";
}

}  // namespace wangge::spatial
