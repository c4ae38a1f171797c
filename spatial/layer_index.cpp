#include "spatial/layer_index.h"

#include <algorithm>
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <cmath>
#include <future>
#include <limits>
#include <utility>

#include "base/parallel.h"
#include "spatial/shape_codec.h"

namespace wangge::spatial {
namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

using BPoint = bg::model::point<double, 2, bg::cs::cartesian>;
using BBox = bg::model::box<BPoint>;
using Value = std::pair<BBox, size_t>;

struct LayerIndex::Tree {
  bgi::rtree<Value, bgi::rstar<16>> rtree;
};

namespace {

// Degrees, widened by one nanodegree so that rounding in the conversion can
// never shrink a box below the polygon it bounds.
BBox ToBox(const Box& b) {
  LonLat lo = ToLonLat({b.min.x - 1, b.min.y - 1});
  LonLat hi = ToLonLat({b.max.x + 1, b.max.y + 1});
  return BBox(BPoint(lo.lon, lo.lat), BPoint(hi.lon, hi.lat));
}

BPoint ToBPoint(Pt p) {
  LonLat ll = ToLonLat(p);
  return BPoint(ll.lon, ll.lat);
}

// Runs body(i) for i in [0, n): by all cores for 4,096 items and more.
template <class Body>
void ForEachOnCores(size_t n, Body body) {
  ParallelRanges(n, 4096, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) body(i);
  });
}

}  // namespace

LayerIndex::LayerIndex()
    : tree_(std::make_unique<Tree>()), grid_(std::make_unique<GridSlot>()) {}
LayerIndex::LayerIndex(LayerIndex&&) noexcept = default;
LayerIndex& LayerIndex::operator=(LayerIndex&&) noexcept = default;
LayerIndex::~LayerIndex() = default;

namespace {

// The first empty or repeated code of a layer in code order, as an error.
template <class CodeAt>
Result<void> CheckCodes(size_t n, CodeAt code_at, const std::string& layer) {
  for (size_t i = 0; i < n; ++i) {
    std::string_view code = code_at(i);
    if (code.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  layer +
                      ": a feature has an empty code; give every feature "
                      "a unique code",
                  "code");
    }
    if (i > 0 && code == code_at(i - 1)) {
      return Fail(ErrorCode::kInvalidArgument,
                  layer + ": code " + std::string(code) +
                      " is used by two features; codes must be unique",
                  "code");
    }
  }
  return {};
}

}  // namespace

Result<LayerIndex> LayerIndex::Build(FeatureTable table,
                                     const std::string& layer, Grid grid) {
  size_t n = table.size();
  for (size_t i = 1; i < n; ++i) {
    if (table.code(i) < table.code(i - 1)) {
      std::vector<Feature> features(n);
      for (size_t k = 0; k < n; ++k) features[k] = table.feature(k);
      table = FeatureTable();
      return Build(std::move(features), layer, grid);
    }
  }
  auto codes = CheckCodes(
      n, [&](size_t i) { return table.code(i); }, layer);
  if (!codes) return std::unexpected(codes.error());
  LayerIndex index = FromParts(std::move(table), nullptr);
  if (grid == Grid::kNone) return index;
  index.grid_->due = true;
  // As Build from features: a layer the grid cannot take keeps the R-tree.
  if (grid == Grid::kNow) (void)index.BuildGrid();
  return index;
}

Result<LayerIndex> LayerIndex::Build(std::vector<Feature> features,
                                     const std::string& layer, Grid grid) {
  bool with_grid = grid == Grid::kNow;
  // The store hands them over in code order already: checking is cheaper
  // than sorting 300,000 features again.
  auto by_code = [](const Feature& a, const Feature& b) {
    return a.code < b.code;
  };
  if (!std::is_sorted(features.begin(), features.end(), by_code)) {
    std::sort(features.begin(), features.end(), by_code);
  }
  auto codes = CheckCodes(
      features.size(),
      [&](size_t i) { return std::string_view(features[i].code); }, layer);
  if (!codes) return std::unexpected(codes.error());
  // Each feature's box in one pass over its vertices, by all cores: its
  // shell's (BoundsOf) for the R-tree, and over all its rings for the grid.
  size_t n = features.size();
  bool large = n >= 4096;
  std::vector<Value> boxes(n);
  std::vector<Box> shell_bounds(n);
  std::vector<Box> ring_bounds(with_grid ? n : 0);
  std::vector<size_t> shape_bytes(n);
  ForEachOnCores(n, [&](size_t i) {
    if (i + 2 < n) PrefetchVertices(features[i + 2].shape);
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    Box shell{{kMax, kMax}, {-kMax, -kMax}}, all = shell;
    for (const Polygon& part : features[i].shape.parts) {
      for (size_t k = 0; k < part.rings.size(); ++k) {
        Box& box = k == 0 ? shell : all;
        for (const Pt& p : part.rings[k]) {
          box.min.x = std::min(box.min.x, p.x);
          box.min.y = std::min(box.min.y, p.y);
          box.max.x = std::max(box.max.x, p.x);
          box.max.y = std::max(box.max.y, p.y);
        }
      }
    }
    // Measured for the table while the vertices are in cache.
    shape_bytes[i] = PackedShapeSize(features[i].shape);
    boxes[i] = {ToBox(shell), i};
    shell_bounds[i] = shell;
    if (with_grid) {
      all.min.x = std::min(all.min.x, shell.min.x);
      all.min.y = std::min(all.min.y, shell.min.y);
      all.max.x = std::max(all.max.x, shell.max.x);
      all.max.y = std::max(all.max.y, shell.max.y);
      ring_bounds[i] = all;
    }
  });
  LayerIndex index;
  // The range constructor bulk-loads a packed tree. For a large layer with
  // a grid that happens on a thread of its own, beside the grid's: the
  // packing runs on one core only.
  auto pack = [&] { index.tree_->rtree = decltype(index.tree_->rtree)(boxes); };
  std::future<void> packed;
  if (with_grid && large) {
    packed = std::async(std::launch::async, pack);
  } else {
    pack();
  }
  if (with_grid) {
    // A layer too big for the grid's 32-bit offsets keeps the R-tree path.
    if (auto built = CellGrid::BuildWithBounds(features, ring_bounds)) {
      index.Publish(std::make_unique<CellGrid>(std::move(*built)));
    }
  }
  index.grid_->due = grid == Grid::kLater;
  // Packed once the grid has read the shapes; the packing frees them.
  index.table_ = FeatureTable::Pack(std::move(features),
                                    std::move(shell_bounds), shape_bytes);
  if (packed.valid()) packed.get();
  return index;
}

LayerIndex LayerIndex::FromParts(FeatureTable table,
                                 std::unique_ptr<CellGrid> grid) {
  LayerIndex index;
  std::vector<Value> boxes;
  boxes.reserve(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    boxes.emplace_back(ToBox(table.bounds(i)), i);
  }
  index.tree_->rtree = decltype(index.tree_->rtree)(boxes);
  index.table_ = std::move(table);
  if (grid) index.Publish(std::move(grid));
  return index;
}

void LayerIndex::Publish(std::unique_ptr<CellGrid> grid) const {
  grid_->owned = std::move(grid);
  grid_->ready.store(grid_->owned.get(), std::memory_order_release);
}

bool LayerIndex::grid_due() const { return grid_->due.load(); }

Result<void> LayerIndex::BuildGrid() const {
  std::lock_guard<std::mutex> lock(grid_->building);
  if (!grid_->due) return {};
  auto built = [&]() -> Result<CellGrid> {
    try {
      // The shapes again, from the packed table: by all cores, as the grid.
      size_t n = table_.size();
      std::vector<Feature> features(n);
      ForEachOnCores(n,
                     [&](size_t i) { table_.ShapeInto(i, features[i].shape); });
      return CellGrid::Build(features);
    } catch (const std::bad_alloc&) {
      return Fail(ErrorCode::kUnavailable,
                  "out of memory decoding the shapes for the bucket grid");
    }
  }();
  grid_->due = false;
  if (!built) return std::unexpected(built.error());
  Publish(std::make_unique<CellGrid>(std::move(*built)));
  return {};
}

size_t LayerIndex::IndexBytes() const {
  // A packed tree: the leaves plus about one node entry in 15 above them.
  const CellGrid* grid = grid_->ready.load(std::memory_order_acquire);
  return tree_->rtree.size() * sizeof(Value) * 16 / 15 +
         (grid ? grid->Bytes() : 0);
}

std::optional<size_t> LayerIndex::FirstCovering(Pt p) const {
  if (const CellGrid* grid = grid_->ready.load(std::memory_order_acquire)) {
    uint32_t hit = grid->FirstCovering(p);
    if (hit == CellGrid::kNone) return std::nullopt;
    return size_t(hit);
  }
  std::optional<size_t> best;
  BPoint q = ToBPoint(p);
  Shape shape;
  for (auto it = tree_->rtree.qbegin(bgi::intersects(q));
       it != tree_->rtree.qend(); ++it) {
    size_t i = it->second;
    if (best && i > *best) continue;
    table_.ShapeInto(i, shape);
    if (Classify(shape, p) != Side::kOutside) best = i;
  }
  return best;
}

std::vector<size_t> LayerIndex::AllCovering(Pt p) const {
  std::vector<size_t> hits;
  BPoint q = ToBPoint(p);
  Shape shape;
  for (auto it = tree_->rtree.qbegin(bgi::intersects(q));
       it != tree_->rtree.qend(); ++it) {
    table_.ShapeInto(it->second, shape);
    if (Classify(shape, p) != Side::kOutside) {
      hits.push_back(it->second);
    }
  }
  std::sort(hits.begin(), hits.end());
  return hits;
}

std::optional<LayerIndex::Nearest> LayerIndex::NearestTo(Pt p) const {
  if (table_.empty()) return std::nullopt;
  LonLat ll = ToLonLat(p);
  MetricScale scale = MetricScaleAt(ll.lat);
  // Metres per degree along the less stretched axis: a box d degrees away
  // is at least d * this many metres away.
  double min_metres_per_degree = std::min(scale.x, scale.y) * kUnitsPerDegree;
  std::optional<Nearest> best;
  BPoint q = ToBPoint(p);
  Shape shape;
  // Boxes in order of distance, in growing batches: asking for all of them
  // at once costs memory in proportion to the layer for every query.
  for (size_t k = 8;; k *= 4) {
    size_t seen = 0;
    bool done = false;
    for (auto it = tree_->rtree.qbegin(bgi::nearest(q, unsigned(k)));
         it != tree_->rtree.qend(); ++it, ++seen) {
      double box_degrees = bg::distance(q, it->first);
      if (best && box_degrees * min_metres_per_degree > best->distance_m) {
        done = true;
        break;
      }
      size_t i = it->second;
      table_.ShapeInto(i, shape);
      double d = DistanceMetres(shape, p, scale);
      if (!best || d < best->distance_m ||
          (d == best->distance_m && i < best->index)) {
        best = Nearest{i, d};
      }
    }
    if (done || seen < k || k >= size()) break;
  }
  return best;
}

}  // namespace wangge::spatial
