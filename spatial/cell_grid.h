#pragma once
// CellGrid: a uniform bucket grid over a polygon layer that answers "which
// is the lowest-index feature covering this point?" in a few array reads.
//
// The layer's extent is cut into buckets of 2^k x 2^m nanodegrees. A bucket
// that no ring edge touches lies wholly in the same features, and stores the
// answer itself. Any other bucket stores, ring by ring, the runs of edges
// that touch it (closed box) as vertices relative to the bucket's corner, a
// reference point inside it that lies on none of them, and whether each
// ring contains that point. A query draws the segment from the reference
// point to itself and counts, per ring, the edges it crosses (exact
// orientation tests; a vertex on the segment's line counts as lying on its
// left, a symbolic perturbation): odd flips membership. A point exactly on
// an edge is on that ring's boundary. Relative coordinates stay within
// +-2^30, so every product fits in 64 bits.
//
// Covering means what spatial::Classify says for the feature's Shape: rings
// are even-odd, a polygon is its shell less its holes (hole edges included),
// a shape is the union of its polygons; the boundary is covered. The answer
// is the covering feature with the smallest index (LayerIndex sorts features
// by code, so that is the edge rule). Results equal a brute-force scan with
// Classify for every point, buckets' edges and corners included.
//
// Memory: 4 bytes per bucket; per bucket touched by a ring, 8 bytes plus 8
// per vertex of its edges there (plus 4 per run of edges). Built once,
// immutable; every const method is safe from many threads.
//
//   CellGrid grid = *CellGrid::Build(features);
//   uint32_t hit = grid.FirstCovering(p);  // CellGrid::kNone: no feature

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"

namespace wangge::spatial {

namespace cell_grid_detail {
// Large arrays (4 MiB and up) are 2 MiB-aligned and asked to use huge pages
// (transparent huge pages in "madvise" mode): random reads over hundreds of
// megabytes otherwise miss the TLB on almost every query.
void* AllocateLarge(size_t bytes);
void FreeLarge(void* p, size_t bytes);
template <class T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <class U>
  LargeAllocator(const LargeAllocator<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(AllocateLarge(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) { FreeLarge(p, n * sizeof(T)); }
  friend bool operator==(const LargeAllocator&, const LargeAllocator&) {
    return true;
  }
};
}  // namespace cell_grid_detail

struct CellGridOptions {
  // Buckets per ring vertex (about). Default: 1.
  double buckets_per_vertex = 1.0;
  // Smallest bucket side is 2^min_shift nanodegrees. Default: 4 (16 nd).
  int min_shift = 4;
  // When >= min_shift, use exactly this shift on both axes (tests).
  int force_shift = -1;
};

class CellGrid {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Fails with kInvalidArgument when the layer does not fit the grid's
  // encoding: over 2^31 features or words of data, a polygon with over 2^16
  // parts, or an edge reaching more than about 1 degree from a bucket it
  // touches. LayerIndex then keeps using its R-tree.
  static Result<CellGrid> Build(const std::vector<Feature>& features,
                                const CellGridOptions& options = {});

  // Index of the lowest-index feature covering `p`, or kNone.
  uint32_t FirstCovering(Pt p) const;

  // Bytes held by the grid's arrays.
  size_t Bytes() const;

  // The grid's layout, for tests and reports.
  struct Layout {
    Pt origin;  // south-west corner of bucket (0, 0)
    int shift_x = 0;
    int shift_y = 0;
    uint32_t cols = 0;
    uint32_t rows = 0;
    size_t mixed_buckets = 0;
    size_t edge_entries = 0;
  };
  const Layout& layout() const { return layout_; }

 private:
  enum class RingSide { kOutside, kBoundary, kInside };
  // Side of point p, relative to the bucket's corner like the reference
  // point q, for the ring whose unit starts at `unit`; sets `next` to the
  // word after the unit.
  static RingSide SideOf(const uint32_t* unit, int64_t px, int64_t py,
                         int64_t qx, int64_t qy, const uint32_t*& next);
  // Reference point of a bucket, relative to its south-west corner.
  Pt ReferencePoint(uint32_t col, uint32_t row, uint32_t nudge) const;

  Layout layout_;
  using Words =
      std::vector<uint32_t, cell_grid_detail::LargeAllocator<uint32_t>>;
  Words slots_;  // bucket -> answer + 1, or kMixed | offset
  Words data_;   // mixed buckets, see cell_grid.cpp
  friend class CellGridBuilder;
};

}  // namespace wangge::spatial
