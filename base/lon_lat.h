#pragma once
// LonLat: a WGS84 position in degrees, x = longitude, y = latitude
// (traditional GIS order, as GeoJSON writes it).

namespace wangge {

struct LonLat {
  double lon = 0;
  double lat = 0;
};

}  // namespace wangge
