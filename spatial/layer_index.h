#pragma once
// LayerIndex: one polygon layer behind a packed R-tree (Boost.Geometry),
// answering "which features cover this point?" and "which feature is nearest?".
// FirstCovering goes through a uniform bucket grid (spatial/cell_grid.h)
// when the layer has one, with the same exact answers, only faster.
//
// Features are kept sorted by code, so "the feature with the smaller code"
// is simply the smaller index. Covering means inside or on the boundary.
// Once the index is built, the features are kept packed in a FeatureTable
// (spatial/feature_table.h): a layer of 300,000 cells then holds about 6
// bytes a vertex instead of 16; the shapes the R-tree's candidates need are
// decoded as they are tested. Immutable after Build but for a grid built
// later (Grid::kLater, then BuildGrid): until it is published, FirstCovering
// answers through the R-tree, the same answers, slower. Every const method
// is safe from many threads.
//
//   LayerIndex cells = *LayerIndex::Build(std::move(features), "cells");
//   std::optional<size_t> hit = cells.FirstCovering(p);  // lowest code wins
//   std::string_view code = cells.table().code(*hit);

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "spatial/cell_grid.h"
#include "spatial/feature.h"
#include "spatial/feature_table.h"

namespace wangge::spatial {

class LayerIndex {
 public:
  // The bucket grid for FirstCovering: worth it for cells and villages
  // (layers queried with AllCovering need none). kLater leaves it to
  // BuildGrid, so that a server can answer before the grid is ready.
  enum class Grid { kNone, kNow, kLater };

  // Fails with kInvalidArgument if two features share a code or a code is
  // empty. `layer` names the layer in messages.
  static Result<LayerIndex> Build(std::vector<Feature> features,
                                  const std::string& layer,
                                  Grid grid = Grid::kNow);

  // The same over features packed already, in code order (out of order
  // they are unpacked and sorted), with the same checks.
  static Result<LayerIndex> Build(FeatureTable table, const std::string& layer,
                                  Grid grid = Grid::kNow);

  LayerIndex(LayerIndex&&) noexcept;
  LayerIndex& operator=(LayerIndex&&) noexcept;
  ~LayerIndex();

  // Index of the lowest-code feature covering `p`, if any.
  std::optional<size_t> FirstCovering(Pt p) const;
  // Indices of every feature covering `p`, ascending (by code).
  std::vector<size_t> AllCovering(Pt p) const;

  struct Nearest {
    size_t index = 0;
    double distance_m = 0;
  };
  // The feature nearest to `p` in metres (ties: lower code); nullopt if the
  // layer is empty.
  std::optional<Nearest> NearestTo(Pt p) const;

  // Bytes held by the index structures (not the features themselves; see
  // table().Bytes()).
  size_t IndexBytes() const;

  // Whether FirstCovering goes through the bucket grid.
  bool has_grid() const { return grid_->ready.load() != nullptr; }
  // Whether a grid asked for with kLater is still to be built.
  bool grid_due() const;
  // Builds the grid a kLater index was left without, from the packed shapes,
  // and publishes it to queries running meanwhile. Once only: later calls,
  // and calls on an index not built with kLater, return at once. A layer
  // too large for the grid, or out of memory, keeps the R-tree: the error
  // says which.
  Result<void> BuildGrid() const;

  // The features, in code order.
  const FeatureTable& table() const { return table_; }
  size_t size() const { return table_.size(); }

 private:
  friend struct IndexFileIo;
  struct Tree;
  LayerIndex();
  // An index over `table`'s features with its R-tree packed from their
  // bounds, and `grid` (null: none) built over them before.
  static LayerIndex FromParts(FeatureTable table,
                              std::unique_ptr<CellGrid> grid);
  // The grid, behind a slot of its own so that the index stays movable:
  // `ready` is what queries read (null: the R-tree), `owned` keeps it.
  struct GridSlot {
    std::atomic<const CellGrid*> ready{nullptr};
    std::unique_ptr<CellGrid> owned;
    std::mutex building;           // held by BuildGrid
    std::atomic<bool> due{false};  // kLater and not built yet
  };
  void Publish(std::unique_ptr<CellGrid> grid) const;
  FeatureTable table_;
  std::unique_ptr<Tree> tree_;
  std::unique_ptr<GridSlot> grid_;
};

}  // namespace wangge::spatial
