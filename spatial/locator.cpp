#include "spatial/locator.h"

#include <utility>

namespace wangge::spatial {

Locator::Locator(LayerIndex villages, LayerIndex cells, LayerIndex zones,
                 int64_t version)
    : villages_(std::move(villages)),
      cells_(std::move(cells)),
      zones_(std::move(zones)),
      boundary_version_(version) {
  cell_labels_.reserve(cells_.size());
  for (const Feature& f : cells_.features()) {
    cell_labels_.push_back({f.code, f.Attribute("village")});
  }
}

Result<Locator> Locator::Build(Layers layers, int64_t boundary_version) {
  auto villages = LayerIndex::Build(std::move(layers.villages), "villages");
  if (!villages) return std::unexpected(villages.error());
  auto cells = LayerIndex::Build(std::move(layers.cells), "cells");
  if (!cells) return std::unexpected(cells.error());
  auto zones = LayerIndex::Build(std::move(layers.zones), "zones",
                                 /*with_grid=*/false);
  if (!zones) return std::unexpected(zones.error());
  return Locator(std::move(*villages), std::move(*cells), std::move(*zones),
                 boundary_version);
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
    out.nearest_cell = cells_.features()[nearest->index].code;
    out.distance_m = nearest->distance_m;
  }
  if (out.village.empty()) {
    if (auto village = villages_.FirstCovering(*p)) {
      out.village = villages_.features()[*village].code;
    }
  }
  if (zones_.size() > 0) {
    for (size_t z : zones_.AllCovering(*p)) {
      out.zones.push_back(zones_.features()[z].code);
    }
  }
  return out;
}

}  // namespace wangge::spatial
