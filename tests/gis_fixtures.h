#pragma once
// GIS files made at test time the way GIS staff make them, with GDAL's own
// command-line tools (gdal-bin), and checks on what writers leave on disk.
//
//   TempDir dir;
//   std::string shp = dir / "cells.shp";
//   GbkGaussKrugerShapefile(kTown + "/cells.geojson", shp);
//   CHECK_FALSE(IsUtf8(DbfRecords(Slurp(dir / "cells.dbf"))));

#include <doctest/doctest.h>

#include <string>

#include "tests/cli.h"

namespace wangge::testing {

// Runs `ogr2ogr ARGS`; the test stops if GDAL could not write the fixture.
inline void Ogr2ogr(const std::string& args) {
  Run r = Sh("ogr2ogr " + args);
  REQUIRE_MESSAGE(r.status == 0, "ogr2ogr " << args << "\n" << r.out << r.err);
}

// Writes `source` as the shapefile `shp` the way a county GIS office hands
// it over: CGCS2000 3-degree Gauss-Krüger zone 37 (EPSG:4525, central
// meridian 111°E) and a DBF in GBK with a .cpg that says so.
inline void GbkGaussKrugerShapefile(const std::string& source,
                                    const std::string& shp) {
  Ogr2ogr("-f 'ESRI Shapefile' " + Q(shp) + " " + Q(source) +
          " -t_srs EPSG:4525 -lco ENCODING=GBK");
}

// True when `s` is well-formed UTF-8 (structure only).
inline bool IsUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// The records of a DBF file's bytes: what follows its header (whose length
// is the little-endian 16-bit number at byte 8).
inline std::string DbfRecords(const std::string& dbf) {
  REQUIRE(dbf.size() > 32);
  size_t header = static_cast<unsigned char>(dbf[8]) |
                  (static_cast<unsigned char>(dbf[9]) << 8);
  REQUIRE(header < dbf.size());
  return dbf.substr(header);
}

}  // namespace wangge::testing
