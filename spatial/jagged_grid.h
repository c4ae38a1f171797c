#pragma once
// JaggedGrid: a synthetic tiling that looks like surveyed boundaries, for
// the sample town, tests and benchmarks.
//
// A cols x rows lattice whose corners are jittered (up to 20% of a cell),
// and whose every edge is a polyline of several segments displaced sideways
// by noise keyed by the edge itself, tapering to zero at the corners. Both
// cells beside an edge use the very same vertices, so the cells tile their
// rectangle of blocks with no gap and no overlap, and a block of cells (a
// village) has an outline made of exactly its cells' outer edges.
//
// Column 0 is the west, row 0 the north. Coordinates are nanodegrees
// (spatial/geometry.h). The same spec always gives the same vertices.
//
//   JaggedGrid grid({.origin = {110215000000, 34545000000}, .cols = 15,
//                    .rows = 15, .cell_width = 7270000, .cell_height =
//                    6000000});
//   Ring cell = grid.CellRing(3, 4);           // counter-clockwise
//   Ring village = grid.BlockRing(0, 0, 8, 7);  // cells [0,8) x [0,7)

#include <cstdint>
#include <utility>
#include <vector>

#include "base/result.h"
#include "spatial/geometry.h"

namespace wangge::spatial {

struct JaggedGridSpec {
  Pt origin;  // north-west corner of cell (0, 0) before jitter
  int cols = 1;
  int rows = 1;
  int64_t cell_width = 0;   // nanodegrees of longitude
  int64_t cell_height = 0;  // nanodegrees of latitude
  uint64_t seed = 1;
  int min_segments = 8;   // Default: 8..30 segments per edge, so a cell
  int max_segments = 30;  // has 32..120 vertices.
};

class JaggedGrid {
 public:
  explicit JaggedGrid(const JaggedGridSpec& spec) : spec_(spec) {}

  // REQUIRES: 0 <= col < cols, 0 <= row < rows.
  Ring CellRing(int col, int row) const;
  // The outline of cells [col0, col1) x [row0, row1), counter-clockwise.
  // REQUIRES: 0 <= col0 < col1 <= cols, 0 <= row0 < row1 <= rows.
  Ring BlockRing(int col0, int row0, int col1, int row1) const;

  // The outline of a set of cells given as (col, row) pairs, made of the
  // very vertices of their outer edges, counter-clockwise. Fails with
  // kInvalidArgument unless the set is one region bounded by one ring (no
  // holes, no cells touching only at a corner).
  Result<Ring> OutlineOf(const std::vector<std::pair<int, int>>& cells) const;

  const JaggedGridSpec& spec() const { return spec_; }

 private:
  Pt Corner(int i, int j) const;
  // Appends the vertices of the edge from corner (i0, j0) to the adjacent
  // corner (i1, j1), without its last vertex.
  void AppendEdge(int i0, int j0, int i1, int j1, Ring& out) const;

  JaggedGridSpec spec_;
};

// A deterministic 64-bit mix of its inputs (SplitMix64 finaliser), for
// noise keyed by ids.
uint64_t Mix(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0);
// Uniform in [-1, 1], from a hash.
double Signed(uint64_t hash);

}  // namespace wangge::spatial
