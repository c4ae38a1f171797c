#include "spatial/locator.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace wangge::spatial {

Locator::Locator(LayerIndex villages, LayerIndex cells, LayerIndex zones,
                 int64_t version)
    : villages_(std::move(villages)),
      cells_(std::move(cells)),
      zones_(std::move(zones)),
      boundary_version_(version) {
  size_t longest = 0;
  std::vector<std::string> villages_of;
  villages_of.reserve(cells_.size());
  for (const Feature& f : cells_.features()) {
    villages_of.push_back(f.Attribute("village"));
    longest = std::max(longest, f.code.size() + villages_of.back().size());
  }
  label_stride_ = std::bit_ceil(longest + 2 * sizeof(uint16_t));
  cell_labels_.assign(cells_.size() * label_stride_, 0);
  for (size_t i = 0; i < cells_.size(); ++i) {
    const std::string& code = cells_.features()[i].code;
    const std::string& village = villages_of[i];
    char* record = cell_labels_.data() + i * label_stride_;
    uint16_t lengths[2] = {uint16_t(code.size()), uint16_t(village.size())};
    std::memcpy(record, lengths, sizeof lengths);
    std::memcpy(record + sizeof lengths, code.data(), code.size());
    std::memcpy(record + sizeof lengths + code.size(), village.data(),
                village.size());
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
  // Built in place and returned by name: no Placement is moved or copied.
  Result<Placement> result{std::in_place};
  Placement& out = *result;
  out.boundary_version = boundary_version_;
  if (auto cell = cells_.FirstCovering(*p)) {
    const char* record = cell_labels_.data() + *cell * label_stride_;
    uint16_t lengths[2];
    std::memcpy(lengths, record, sizeof lengths);
    out.inside = true;
    out.cell.assign(record + sizeof lengths, lengths[0]);
    out.village.assign(record + sizeof lengths + lengths[0], lengths[1]);
  } else if (auto nearest = cells_.NearestTo(*p, /*covered_by_none=*/true)) {
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
  return result;
}

}  // namespace wangge::spatial
