#pragma once
// The sample town loaded once per test executable: layers, configuration and
// a locator, plus helpers to find points inside features.

#include <doctest/doctest.h>

#include "core/town_config.h"
#include "spatial/layer_reader.h"
#include "spatial/locator.h"

namespace wangge::testing {

inline const std::string kTownDir = std::string(WANGGE_DATA_DIR) + "/taiyao";

struct SampleTown {
  spatial::Layers layers;
  core::TownConfig config;
  std::shared_ptr<const spatial::Locator> locator;
};

inline const SampleTown& Town() {
  static const SampleTown town = [] {
    SampleTown t;
    auto layers = spatial::ReadLayersDir(kTownDir);
    REQUIRE_MESSAGE(layers, (layers ? "" : layers.error().message));
    t.layers = *layers;
    auto config = core::LoadTownConfig(kTownDir, t.layers);
    REQUIRE_MESSAGE(config, (config ? "" : config.error().message));
    t.config = std::move(*config);
    auto locator = spatial::Locator::Build(t.layers, 1);
    REQUIRE(locator);
    t.locator = std::make_shared<const spatial::Locator>(std::move(*locator));
    return t;
  }();
  return town;
}

// A point strictly inside `f`: the mean of its outer ring's vertices, which
// for the sample's nearly convex cells and star-shaped zones lies inside.
inline LonLat InsidePoint(const spatial::Feature& f) {
  const spatial::Ring& ring = f.shape.parts.at(0).rings.at(0);
  __int128 x = 0, y = 0;
  for (const spatial::Pt& p : ring) {
    x += p.x;
    y += p.y;
  }
  spatial::Pt mean{int64_t(x / __int128(ring.size())),
                   int64_t(y / __int128(ring.size()))};
  REQUIRE(spatial::Classify(f.shape, mean) == spatial::Side::kInside);
  return spatial::ToLonLat(mean);
}

inline const spatial::Feature& CellIn(const std::string& village, int nth = 0) {
  for (const auto& c : Town().layers.cells) {
    if (c.Attribute("village") == village && nth-- == 0) return c;
  }
  FAIL("no cell in village " << village);
  throw;
}

}  // namespace wangge::testing
