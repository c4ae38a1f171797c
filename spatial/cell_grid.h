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
// per vertex of its edges there (plus 4 per run of edges). A run of edges
// that several rings share in a bucket (neighbours in a tiling) is stored
// for the first and costs the others 4 bytes. Built once, immutable (copies
// share the arrays); every const method is safe from many threads.
//
//   CellGrid grid = *CellGrid::Build(features);
//   uint32_t hit = grid.FirstCovering(p);  // CellGrid::kNone: no feature

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/shared_array.h"

namespace wangge::spatial {

namespace cell_grid_detail {
// An array of 32-bit words in a mapping of its own. Address space for up to
// `max_words` is reserved up front, which costs no memory; pages are
// committed as the array grows, so its address never changes: threads may
// write to the part they own while another grows it. Mappings of 4 MiB and
// up are asked to use huge pages (transparent huge pages in "madvise" mode)
// unless `huge_pages` is false: random reads over hundreds of megabytes
// otherwise miss the TLB on almost every query. Not thread-safe itself:
// callers serialise Resize.
class WordArray {
 public:
  WordArray() = default;
  // Throws std::bad_alloc if the address space cannot be reserved.
  explicit WordArray(size_t max_words, bool huge_pages = true);
  WordArray(WordArray&& other) noexcept;
  WordArray& operator=(WordArray&& other) noexcept;
  ~WordArray();

  // Grows or shrinks to `n` words; new words are zero.
  // REQUIRES: n <= max_words. Throws std::bad_alloc if out of memory.
  void Resize(size_t n);
  // Gives back the reserved address space and committed memory not needed
  // for size() words.
  void ShrinkToFit();

  uint32_t* data() { return words_; }
  const uint32_t* data() const { return words_; }
  size_t size() const { return size_; }
  uint32_t& operator[](size_t i) { return words_[i]; }
  uint32_t operator[](size_t i) const { return words_[i]; }

 private:
  uint32_t* words_ = nullptr;
  size_t size_ = 0;
  size_t committed_ = 0;  // bytes, a multiple of the page size
  size_t reserved_ = 0;   // bytes, a multiple of the page size
};
}  // namespace cell_grid_detail

struct CellGridOptions {
  // Buckets per ring vertex (about). Default: 1.
  double buckets_per_vertex = 1.0;
  // Smallest bucket side is 2^min_shift nanodegrees. Default: 4 (16 nd).
  int min_shift = 4;
  // When >= min_shift, use exactly this shift on both axes (tests).
  int force_shift = -1;
  // Rows of buckets built together, when > 0 (tests). Default: 0, about
  // 2^15 buckets a band (a band's vertices then stay in L2).
  int band_rows = 0;
  // Threads building bands, when > 0 (tests). Default: 0, one per core, at
  // most 8 (one below 200,000 vertices).
  int threads = 0;
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
  // The same, given each feature's box over all its rings' vertices (holes
  // too, unlike BoundsOf), which saves the grid a pass over the vertices.
  // REQUIRES: bounds.size() == features.size().
  static Result<CellGrid> BuildWithBounds(const std::vector<Feature>& features,
                                          const std::vector<Box>& bounds,
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
  // A query point p and its bucket's reference point q, relative to the
  // bucket's south-west corner, and the box of the segment between them.
  struct Query {
    int64_t px, py, qx, qy, lo_x, lo_y, hi_x, hi_y;
  };
  // Parities of the runs of edges a query has tested, for the rings that
  // share them.
  struct RunCache {
    static constexpr uint32_t kSize = 8;
    uint32_t size = 0;
    const uint32_t* run[kSize];
    bool odd[kSize];
  };
  // Side of the query point for the ring whose unit starts at `unit`; sets
  // `next` to the word after the unit.
  static RingSide SideOf(const uint32_t* unit, const Query& query,
                         RunCache& cache, const uint32_t*& next);
  // Reference point of a bucket, relative to its south-west corner.
  Pt ReferencePoint(uint32_t col, uint32_t row, uint32_t nudge) const;

  // The layout of these arrays is part of the index file's format
  // (spatial/index_file.h): a change to it bumps that format's number.
  Layout layout_;
  SharedArray<uint32_t> slots_;  // bucket -> answer + 1, or kMixed | offset
  SharedArray<uint32_t> data_;   // mixed buckets, see cell_grid.cpp
  friend class CellGridBuilder;
  friend struct IndexFileIo;
};

}  // namespace wangge::spatial
