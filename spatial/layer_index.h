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
// decoded as they are tested. Immutable after Build; every const method is
// safe from many threads.
//
//   LayerIndex cells = *LayerIndex::Build(std::move(features), "cells");
//   std::optional<size_t> hit = cells.FirstCovering(p);  // lowest code wins
//   std::string_view code = cells.table().code(*hit);

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "spatial/cell_grid.h"
#include "spatial/feature.h"
#include "spatial/feature_table.h"

namespace wangge::spatial {

class LayerIndex {
 public:
  // Fails with kInvalidArgument if two features share a code or a code is
  // empty. `layer` names the layer in messages. `with_grid` also builds the
  // bucket grid for FirstCovering (worth it for cells and villages; layers
  // queried with AllCovering need none).
  static Result<LayerIndex> Build(std::vector<Feature> features,
                                  const std::string& layer,
                                  bool with_grid = true);

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
  bool has_grid() const { return grid_ != nullptr; }

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
  FeatureTable table_;
  std::unique_ptr<Tree> tree_;
  std::unique_ptr<CellGrid> grid_;  // null: FirstCovering uses the R-tree
};

}  // namespace wangge::spatial
