#pragma once
// The `locate` benchmark: wangge's Locator side by side with GEOS (C API,
// STRtree + prepared geometries) and PostGIS (ST_Covers behind a GiST index
// on a throwaway local server), on the same synthetic tilings and the same
// random points, in one run.
//
// Tilings come from spatial::JaggedGrid (30-120 vertices a cell, exactly
// shared edges); about 1% of the points fall outside the tiling. Every
// method's answer is checked against wangge's: a disagreement is "on edge"
// when the point lies exactly on the boundary of either answer's cell (GEOS
// and PostGIS have no lowest-code rule there), otherwise a mismatch, which
// is a bug.
//
// Not thread-safe itself (it starts its own threads); run one at a time.
//
//   LocateOptions options{.quick = true};
//   auto report = RunLocateBench(options, std::cerr);
//   if (report && report->mismatches == 0) std::cout << report->table;

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/record.h"

namespace wangge::bench {

struct LocateOptions {
  bool quick = false;   // tiny sizes, for the smoke test
  bool geos = true;     // include GEOS
  bool postgis = true;  // include PostGIS (needs the Debian server packages)
  int runs = 3;         // timed runs per method; the median is reported
};

struct LocateReport : Report {
  int64_t mismatches = 0;  // answers that differ off edges: bugs
};

// Runs the benchmark, writing progress to `progress`. Fails when a method
// cannot be set up (e.g. PostGIS missing); answer mismatches are not an
// error here but are counted in the report.
Result<LocateReport> RunLocateBench(const LocateOptions& options,
                                    std::ostream& progress);

}  // namespace wangge::bench
