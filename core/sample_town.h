#pragma once
// The sample town: a synthetic 太要镇 (潼关县, Shaanxi) for the demo, the
// tests and the benchmarks.
//
// Only the unit codes and names (GB/T 2260 / 12-digit village codes), the
// working calendar and the county the town sits in are real. Boundaries,
// zones, branches' cells, people (示例… names, 138-0000-xxxx phones),
// households and shopfronts are generated, and every file says so.
//
// Geography: a 15 x 15 JaggedGrid (225 cells of about 667 m x 667 m, a town
// of about 100 km²) in the west of 潼关县. The four village-level units
// split it along a staircase; each village is the exact union of its cells.
// Cell code = 12-digit village code + 3-digit sequence, numbered
// west->east, north->south inside the village. 36 demonstration zones may
// span cells. 18 branches: four per village or community, plus the town
// organs' and the school's (which own no cells); each branch's cells are
// split among its three committee members (支委包片). 176 Party-member
// central households, 216 shopfronts along the streets of 太要社区.
//
// Same seed -> byte-identical files.
//
//   auto written = WriteSampleTown("data/taiyao", kSampleSeed);

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"

namespace wangge::core {

inline constexpr uint64_t kSampleSeed = 20260101;

// File name -> content of every file of the sample town folder.
std::map<std::string, std::string> GenerateSampleTown(uint64_t seed);

// Writes GenerateSampleTown(seed) into `dir` (created if missing). Fails
// with kUnavailable if it cannot write.
Result<void> WriteSampleTown(const std::string& dir, uint64_t seed);

}  // namespace wangge::core
