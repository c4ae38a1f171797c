#pragma once
// Locator answers "which cell, village and zones contain this point?"
// against one immutable snapshot of the boundary layers.
//
// Coordinates are WGS84 degrees, x = longitude, y = latitude, snapped to the
// nanodegree grid of spatial/geometry.h; all tests after that are exact.
//
// Edge rule: a point covered by several cells (on a shared edge or vertex)
// belongs to the cell with the smallest code (byte-wise string order), so
// every point of the tiling, its outer boundary included, has exactly one
// cell. The village is the cell's "village" attribute; for a point outside
// every cell (or a cell without that attribute) it is the covering village
// with the smallest code, if any. Zones are every zone covering the point
// (boundaries included), ascending by code.
//
// A point outside every cell is not an error: the placement says so and
// names the nearest cell with the distance to it in metres (ellipsoidal
// scale at the point's latitude; exact enough for tens of kilometres).
//
// Locate() is safe from many threads. Swap snapshots with LocatorSlot.
//
//   auto placed = locator.Locate({110.236, 34.512});
//   if (!placed) return placed.error();  // kInvalidArgument: bad coordinate
//   if (placed->inside) Use(placed->cell, placed->village, placed->zones);

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/lon_lat.h"
#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/layer_index.h"

namespace wangge::spatial {

struct Placement {
  bool inside = false;  // inside (or on the edge of) a cell
  std::string cell;     // "" when !inside
  std::string village;  // "" when in no village
  std::vector<std::string> zones;
  std::string nearest_cell;  // when !inside: the nearest cell
  double distance_m = 0;     // when !inside: metres to nearest_cell
  int64_t boundary_version = 0;
};

class Locator {
 public:
  // kLater: the bucket grids of cells and villages are left to
  // BuildGrids; until then Locate answers through the R-trees (the same
  // answers; at 300,000 cells a few microseconds instead of a few hundred
  // nanoseconds). A server that builds at start-up so answers seconds
  // sooner.
  enum class Grids { kNow, kLater };

  // Fails with kInvalidArgument naming the layer and code of the first
  // duplicate or empty code.
  static Result<Locator> Build(Layers layers, int64_t boundary_version,
                               Grids grids = Grids::kNow);

  // The same over layers packed already (as a store loads them).
  static Result<Locator> Build(LayerTables tables, int64_t boundary_version,
                               Grids grids = Grids::kNow);

  // Whether grids asked for with kLater are still to be built.
  bool grids_due() const;
  // Builds them (all cores, seconds at 300,000 cells) and switches Locate
  // over, safely beside queries running meanwhile. Once only. A layer whose
  // grid cannot be built (too large, out of memory) keeps its R-tree; the
  // first such error is returned.
  Result<void> BuildGrids() const;

  // Fails with kInvalidArgument (field "lon" or "lat") for NaN, infinite or
  // out-of-range coordinates.
  Result<Placement> Locate(LonLat point) const;

  int64_t boundary_version() const { return boundary_version_; }
  const LayerIndex& cells() const { return cells_; }
  const LayerIndex& villages() const { return villages_; }
  const LayerIndex& zones() const { return zones_; }

 private:
  friend struct IndexFileIo;
  Locator(LayerIndex villages, LayerIndex cells, LayerIndex zones,
          int64_t version);
  template <class AnyLayers>
  static Result<Locator> BuildFrom(AnyLayers layers, int64_t boundary_version,
                                   Grids grids);
  LayerIndex villages_;
  LayerIndex cells_;
  LayerIndex zones_;
  int64_t boundary_version_;
  // Each cell's code and "village" attribute side by side, so that a query
  // reads one cache line for them (codes up to 15 bytes stay inline).
  struct alignas(64) CellLabel {
    std::string code;
    std::string village;
  };
  std::vector<CellLabel> cell_labels_;
};

// LocatorSlot holds the current snapshot. Replace() swaps in a new one
// atomically; a reader keeps the snapshot it loaded until it lets go of it,
// so readers never block and never see a half-built locator.
//
//   auto snapshot = slot.Get();       // any thread
//   slot.Replace(std::make_shared<const Locator>(std::move(next)));
class LocatorSlot {
 public:
  std::shared_ptr<const Locator> Get() const { return current_.load(); }
  void Replace(std::shared_ptr<const Locator> next) {
    current_.store(std::move(next));
  }

 private:
  std::atomic<std::shared_ptr<const Locator>> current_;
};

}  // namespace wangge::spatial
