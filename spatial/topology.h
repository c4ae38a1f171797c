#pragma once
// Topology: making boundary shapes valid in the OGC sense, and checking a
// layer as a whole (overlaps between cells, gaps inside a village, cells
// outside their village).
//
// Shapes come in as CleanShape left them (no repeated vertices, no spikes, no
// bow-ties). NormalizeShape then repairs the two benign defects CleanShape
// keeps as drawn, without moving any vertex, so a repair can never push a
// border into a neighbour:
//   - a ring that touches itself at a point is split there: a loop running
//     the other way inside it becomes a hole, a loop running the same way
//     becomes a polygon of its own;
//   - parts of one feature that share a border (a border digitised twice)
//     are merged into one polygon (their union, same area).
//
// Layer checks use an R-tree of bounding boxes (no all-pairs comparison).
// Areas are measured in square metres in a local frame: each piece's area in
// square nanodegrees times the WGS84 metres-per-nanodegree at its latitude.
//
// Slivers: a piece of overlap or gap is a sliver, ignored but counted, when
// its area is below TopologyOptions::sliver_area_m2 (default 1 m²) or its mean
// width 2·area/perimeter is below sliver_width_m (default 0.1 m). Those are
// what two hand-digitised copies of one shared border leave behind.
//
// All functions are pure and safe from many threads.
//
//   TopologyReport r = CheckOverlaps(cells, {});
//   for (const Problem& p : r.problems) std::cerr << p.message << "\n";

#include <optional>
#include <string>
#include <vector>

#include "base/lon_lat.h"
#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/geometry.h"

namespace wangge::spatial {

// One thing wrong with an input, phrased for the GIS staff who must fix it.
struct Problem {
  // The feature's code, or "#N" (1-based position in the source) when it has
  // none; "" for a problem of the whole layer (a missing field).
  std::string feature;
  // Stable machine id, one of: missing_field, missing_code, missing_value,
  // duplicate_code, empty_geometry, wrong_geometry_type, bad_coordinate,
  // invalid_geometry, overlap, gap, outside_village, unknown_village,
  // villages_file, check_failed, read_error.
  std::string kind;
  // What is wrong, where, and what to do; names the file and the feature.
  std::string message;
  std::optional<LonLat> where;  // a point inside the problem, if it has one
  double area_m2 = 0;           // overlaps, gaps, outside: the area; else 0
  std::string other;  // the other feature involved (overlap partner, village)
};

struct TopologyOptions {
  // Default: 1 m². Pieces smaller than this are slivers.
  double sliver_area_m2 = 1.0;
  // Default: 0.1 m. Pieces whose mean width 2·area/perimeter is below this
  // are slivers, whatever their area.
  double sliver_width_m = 0.1;
  // Prefix of every message, usually the file name ("cells.shp").
  std::string file;
};

struct TopologyReport {
  std::vector<Problem> problems;
  int slivers = 0;            // pieces ignored as slivers
  double sliver_area_m2 = 0;  // their total area
};

struct Normalized {
  Shape shape;
  int self_touching_rings = 0;  // rings split at a point where they touch
  int merged_parts = 0;         // parts merged into a neighbouring part
};

// Repairs self-touching rings and parts sharing borders (see above), then
// checks the result with Boost.Geometry's is_valid. Fails with
// kInvalidArgument giving Boost's reason in words and the place, e.g. "ring
// self-intersects near (110.212345, 34.512345)".
// REQUIRES: `shape` is CleanShape's output.
Result<Normalized> NormalizeShape(Shape shape);

// Pairs of features whose interiors overlap by more than a sliver: one
// Problem (kind "overlap") per pair, naming both codes, the area and a point
// inside the overlap. For cells and villages; zones may overlap.
TopologyReport CheckOverlaps(const std::vector<Feature>& features,
                             const TopologyOptions& options);

// Checks cells against their villages: a cell whose `village` attribute
// names no village (unknown_village), the part of a cell outside its village
// (outside_village), and the parts of each village covered by no cell (gap,
// reported under the village's code). Villages their cells tile exactly
// (see CheckCells) need no geometry.
TopologyReport CheckCellsInVillages(const std::vector<Feature>& cells,
                                    const std::vector<Feature>& villages,
                                    const TopologyOptions& options);

// CheckOverlaps and CheckCellsInVillages together, as an import of cells
// runs them, in linear time where the cells tile their village exactly:
// when the cells' edges (outer rings counter-clockwise, holes clockwise) and
// the village's reversed edges cancel edge for edge — a tiling whose
// neighbours share the very same vertices — every point of the village is
// in exactly one cell and no cell reaches outside, so that village's cells
// are neither intersected with each other nor cut against it. Other
// villages, and pairs of cells from different villages, get the geometric
// checks. Reports the same problems as the two checks (an exact tiling has
// none, not even slivers).
TopologyReport CheckCells(const std::vector<Feature>& cells,
                          const std::vector<Feature>& villages,
                          const TopologyOptions& options);

// Without a villages layer: gaps are holes in the union of the cells that
// share a `village` code (places enclosed by cells but covered by none).
TopologyReport CheckGapsBetweenCells(const std::vector<Feature>& cells,
                                     const TopologyOptions& options);

// Area of `shape` in square metres (local frame, as above).
double AreaSquareMetres(const Shape& shape);

}  // namespace wangge::spatial
