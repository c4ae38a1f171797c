#include "spatial/locator.h"

#include <utility>
#include <vector>

#include "base/parallel.h"

namespace wangge::spatial {

Locator::Locator(LayerIndex villages, LayerIndex cells, LayerIndex zones,
                 int64_t version)
    : villages_(std::move(villages)),
      cells_(std::move(cells)),
      zones_(std::move(zones)),
      boundary_version_(version) {
  // Two copies of short strings and a map look-up per cell: a large layer
  // shares them out between the cores.
  const FeatureTable& table = cells_.table();
  size_t n = table.size();
  cell_labels_.resize(n);
  ParallelRanges(n, 4096, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      cell_labels_[i] = {std::string(table.code(i)),
                         table.Attribute(i, "village")};
    }
  });
}

// Layers or LayerTables: LayerIndex::Build takes either kind.
template <class AnyLayers>
Result<Locator> Locator::BuildFrom(AnyLayers layers, int64_t boundary_version,
                                   Grids grids) {
  using Grid = LayerIndex::Grid;
  Grid grid = grids == Grids::kLater ? Grid::kLater : Grid::kNow;
  auto villages =
      LayerIndex::Build(std::move(layers.villages), "villages", grid);
  if (!villages) return std::unexpected(villages.error());
  auto cells = LayerIndex::Build(std::move(layers.cells), "cells", grid);
  if (!cells) return std::unexpected(cells.error());
  auto zones = LayerIndex::Build(std::move(layers.zones), "zones", Grid::kNone);
  if (!zones) return std::unexpected(zones.error());
  return Locator(std::move(*villages), std::move(*cells), std::move(*zones),
                 boundary_version);
}

Result<Locator> Locator::Build(Layers layers, int64_t boundary_version,
                               Grids grids) {
  return BuildFrom(std::move(layers), boundary_version, grids);
}

Result<Locator> Locator::Build(LayerTables tables, int64_t boundary_version,
                               Grids grids) {
  return BuildFrom(std::move(tables), boundary_version, grids);
}

Result<Placement> Locator::Locate(LonLat point) const {
  auto p = ToFixed(point);
  if (!p) return std::unexpected(p.error());
  Placement out;
  out.boundary_version = boundary_version_;
  if (auto cell = cells_.FirstCovering(*p)) {
    const CellLabel& label = cell_labels_[*cell];
    out.inside = true;
    out.cell = label.code;
    out.village = label.village;
  } else if (auto nearest = cells_.NearestTo(*p)) {
    out.nearest_cell = cells_.table().code(nearest->index);
    out.distance_m = nearest->distance_m;
  }
  if (out.village.empty()) {
    if (auto village = villages_.FirstCovering(*p)) {
      out.village = villages_.table().code(*village);
    }
  }
  if (zones_.size() > 0) {
    for (size_t z : zones_.AllCovering(*p)) {
      out.zones.emplace_back(zones_.table().code(z));
    }
  }
  return out;
}

bool Locator::grids_due() const {
  return villages_.grid_due() || cells_.grid_due();
}

Result<void> Locator::BuildGrids() const {
  auto villages = villages_.BuildGrid();
  auto cells = cells_.BuildGrid();
  return villages ? cells : villages;
}

}  // namespace wangge::spatial
