#pragma once
// The sample town: a synthetic geography for 太要镇 (潼关县, Shaanxi), used
// by the demo, the tests and the benchmarks.
//
// Only the unit codes and names (GB/T 2260 / 12-digit village codes) and the
// county outline the town sits in are real. Cell and zone boundaries and
// branch assignments are generated, and every file written says so.
//
// Geography: a 15 x 15 JaggedGrid (225 cells, about 667 m x 667 m) in the
// west of the county; the four village-level units are blocks of it, each
// the exact union of its cells. Cell code = 12-digit village code + 3-digit
// sequence, numbered west->east, north->south inside the village.
// 36 demonstration zones (党员示范区) are free polygons that may span cells.
//
// Same seed -> byte-identical files.
//
//   auto written = WriteSampleTown("data/taiyao", 20260101);

#include <cstdint>
#include <string>

#include "base/result.h"
#include "spatial/feature.h"

namespace wangge::core {

spatial::Layers GenerateSampleTown(uint64_t seed);

// Writes villages.geojson, cells.geojson, zones.geojson and README.md into
// `dir` (created if missing). Fails with kUnavailable if it cannot write.
Result<void> WriteSampleTown(const std::string& dir, uint64_t seed);

}  // namespace wangge::core
