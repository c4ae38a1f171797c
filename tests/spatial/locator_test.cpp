#include "spatial/locator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <random>
#include <thread>

#include "spatial/jagged_grid.h"
#include "spatial/layer_reader.h"

using namespace wangge;
using namespace wangge::spatial;

namespace {

Feature MakeFeature(const std::string& code, const std::string& wkt,
                    const std::string& village = "") {
  auto shape = ParseWkt(wkt);
  REQUIRE_MESSAGE(shape.has_value(), wkt);
  Feature f{.code = code, .name = code, .shape = *shape};
  if (!village.empty()) f.attributes["village"] = village;
  return f;
}

// A 2 x 2 block of 0.01° squares at (110, 34.5), one village, two zones that
// overlap each other.
Locator SmallTown() {
  Layers layers;
  layers.villages.push_back(MakeFeature(
      "V1", "POLYGON((110 34.5,110.02 34.5,110.02 34.52,110 34.52,110 34.5))"));
  // Codes are deliberately not in geographic order.
  layers.cells.push_back(MakeFeature(
      "C4",
      "POLYGON((110 34.51,110.01 34.51,110.01 34.52,110 34.52,110 34.51))",
      "V1"));
  layers.cells.push_back(
      MakeFeature("C2",
                  "POLYGON((110.01 34.51,110.02 34.51,110.02 34.52,110.01 "
                  "34.52,110.01 34.51))",
                  "V1"));
  layers.cells.push_back(MakeFeature(
      "C3", "POLYGON((110 34.5,110.01 34.5,110.01 34.51,110 34.51,110 34.5))",
      "V1"));
  layers.cells.push_back(MakeFeature("C1",
                                     "POLYGON((110.01 34.5,110.02 34.5,110.02 "
                                     "34.51,110.01 34.51,110.01 34.5))",
                                     "V1"));
  layers.zones.push_back(
      MakeFeature("Z1",
                  "POLYGON((110.005 34.505,110.015 34.505,110.015 "
                  "34.515,110.005 34.515,110.005 34.505))"));
  layers.zones.push_back(
      MakeFeature("Z2",
                  "POLYGON((110.012 34.505,110.018 34.505,110.018 "
                  "34.515,110.012 34.515,110.012 34.505))"));
  auto locator = Locator::Build(std::move(layers), 7);
  REQUIRE(locator);
  return std::move(*locator);
}

// The nearest cell to `p` and its distance, by measuring every cell; ties go
// to the lower code, as the locator's do.
struct Nearest {
  std::string code;
  double metres = 1e300;
};
Nearest NearestByScan(const std::vector<Feature>& cells, Pt p) {
  MetricScale scale = MetricScaleAt(ToLonLat(p).lat);
  Nearest best;
  for (const Feature& f : cells) {
    double d = DistanceMetres(f.shape, p, scale);
    if (d < best.metres || (d == best.metres && f.code < best.code)) {
      best = {f.code, d};
    }
  }
  return best;
}

}  // namespace

TEST_CASE("Locator: a point inside a cell gets that cell, its village, zones") {
  Locator town = SmallTown();
  auto p = town.Locate({110.003, 34.503});
  REQUIRE(p);
  CHECK(p->inside);
  CHECK(p->cell == "C3");
  CHECK(p->village == "V1");
  CHECK(p->zones.empty());
  CHECK(p->boundary_version == 7);
}

TEST_CASE("Locator: overlapping zones are all returned, ascending") {
  Locator town = SmallTown();
  auto p = town.Locate({110.013, 34.507});
  REQUIRE(p);
  CHECK(p->cell == "C1");
  CHECK(p->zones == std::vector<std::string>{"Z1", "Z2"});
  auto q = town.Locate({110.008, 34.507});
  CHECK(q->zones == std::vector<std::string>{"Z1"});
}

TEST_CASE("Locator: shared-edge point goes to the lower cell code") {
  Locator town = SmallTown();
  CHECK(town.Locate({110.01, 34.515})->cell == "C2");  // C4 | C2
  CHECK(town.Locate({110.005, 34.51})->cell == "C3");  // C4 / C3
  CHECK(town.Locate({110.015, 34.51})->cell == "C1");  // C2 / C1
}

TEST_CASE("Locator: shared vertex of four cells goes to the lowest code") {
  Locator town = SmallTown();
  CHECK(town.Locate({110.01, 34.51})->cell == "C1");
}

TEST_CASE("Locator: outside every cell gives the nearest cell and metres") {
  Locator town = SmallTown();
  auto p = town.Locate({110.03, 34.505});  // 0.01° east of C1
  REQUIRE(p);
  CHECK_FALSE(p->inside);
  CHECK(p->cell.empty());
  CHECK(p->nearest_cell == "C1");
  double metres = 0.01 * MetricScaleAt(34.505).x * kUnitsPerDegree;
  CHECK(p->distance_m == doctest::Approx(metres).epsilon(1e-6));
  CHECK(p->distance_m == doctest::Approx(918.4).epsilon(0.001));
  CHECK(p->village.empty());
  SUBCASE("north of the town, the distance uses metres of latitude") {
    auto q = town.Locate({110.015, 34.53});
    CHECK(q->nearest_cell == "C2");
    CHECK(q->distance_m == doctest::Approx(1109.3).epsilon(0.001));
  }
}

TEST_CASE("Locator: invalid coordinates are errors naming the value") {
  Locator town = SmallTown();
  auto p = town.Locate({110, std::numeric_limits<double>::quiet_NaN()});
  REQUIRE_FALSE(p);
  CHECK(p.error().field == "lat");
  auto q = town.Locate({-181, 34});
  REQUIRE_FALSE(q);
  CHECK(q.error().field == "lon");
}

TEST_CASE("Locator: holes and islands; multipolygon cells") {
  Layers layers;
  layers.villages.push_back(
      MakeFeature("V", "POLYGON((0 0,10 0,10 10,0 10,0 0))"));
  // "R" is a ring around the island "I"; "M" has two parts.
  layers.cells.push_back(MakeFeature(
      "R", "POLYGON((0 0,6 0,6 10,0 10,0 0),(2 2,4 2,4 4,2 4,2 2))"));
  layers.cells.push_back(MakeFeature("I", "POLYGON((2 2,4 2,4 4,2 4,2 2))"));
  layers.cells.push_back(MakeFeature(
      "M",
      "MULTIPOLYGON(((6 0,10 0,10 5,6 5,6 0)),((6 5,10 5,10 10,6 10,6 5)))"));
  auto town = Locator::Build(std::move(layers), 1);
  REQUIRE(town);
  CHECK(town->Locate({3, 3})->cell == "I");  // in the hole of R
  CHECK(town->Locate({1, 1})->cell == "R");
  CHECK(town->Locate({2, 3})->cell == "I");  // hole edge: I < R
  CHECK(town->Locate({8, 2})->cell == "M");
  CHECK(town->Locate({8, 8})->cell == "M");
  CHECK(town->Locate({8, 8})->village == "V");  // no village attribute
}

TEST_CASE(
    "Locator: grids that cannot be built later leave the R-trees answering, "
    "and say why") {
  // Edges of ten degrees: longer than a bucket grid stores.
  Layers layers;
  layers.villages.push_back(
      MakeFeature("V", "POLYGON((0 0,10 0,10 10,0 10,0 0))"));
  layers.cells.push_back(MakeFeature("A", "POLYGON((0 0,6 0,6 10,0 10,0 0))"));
  layers.cells.push_back(
      MakeFeature("B", "POLYGON((6 0,10 0,10 10,6 10,6 0))"));
  auto town = Locator::Build(std::move(layers), 1, Locator::Grids::kLater);
  REQUIRE(town);
  CHECK(town->grids_due());
  auto grids = town->BuildGrids();
  REQUIRE_FALSE(grids);
  CHECK(grids.error().message.find("1 degree") != std::string::npos);
  CHECK_FALSE(town->grids_due());
  CHECK_FALSE(town->cells().has_grid());
  CHECK(town->Locate({3, 3})->cell == "A");
  CHECK(town->Locate({6, 5})->cell == "A");  // shared edge: A < B
  CHECK(town->Locate({8, 5})->cell == "B");
  CHECK(town->Locate({8, 5})->village == "V");  // by the villages' R-tree
}

TEST_CASE("Locator: duplicate codes are refused") {
  Layers layers;
  layers.cells.push_back(MakeFeature("C", "POLYGON((0 0,1 0,1 1,0 0))"));
  layers.cells.push_back(MakeFeature("C", "POLYGON((1 0,2 0,2 1,1 0))"));
  auto town = Locator::Build(std::move(layers), 1);
  REQUIRE_FALSE(town);
  CHECK(town.error().message.find("code C is used by two features") !=
        std::string::npos);
}

TEST_CASE("Locator: built from packed tables, as from features") {
  // Sorted tables, the grids now and later, and out-of-order ones.
  auto pack = [](std::vector<Feature> features, bool sort) {
    if (sort) {
      std::sort(
          features.begin(), features.end(),
          [](const Feature& a, const Feature& b) { return a.code < b.code; });
    }
    return FeatureTable::Pack(std::move(features));
  };
  Locator reference = SmallTown();
  for (auto [sort, grids] : {std::pair{true, Locator::Grids::kNow},
                             std::pair{true, Locator::Grids::kLater},
                             std::pair{false, Locator::Grids::kNow}}) {
    CAPTURE(sort);
    LayerTables tables;
    auto described = [&](const LayerIndex& layer) {
      std::vector<Feature> out;
      for (size_t i = 0; i < layer.size(); ++i) {
        out.push_back(layer.table().feature(i));
      }
      std::reverse(out.begin(), out.end());
      return out;
    };
    tables.villages = pack(described(reference.villages()), sort);
    tables.cells = pack(described(reference.cells()), sort);
    tables.zones = pack(described(reference.zones()), sort);
    auto locator = Locator::Build(std::move(tables), 7, grids);
    REQUIRE(locator);
    CHECK(locator->cells().has_grid() == (grids == Locator::Grids::kNow));
    CHECK(locator->grids_due() == (grids == Locator::Grids::kLater));
    for (double x = 109.995; x < 110.025; x += 0.0025) {
      for (double y = 34.495; y < 34.525; y += 0.0025) {
        auto want = reference.Locate({x, y});
        auto got = locator->Locate({x, y});
        REQUIRE(got);
        CHECK(got->cell == want->cell);
        CHECK(got->village == want->village);
        CHECK(got->zones == want->zones);
        CHECK(got->nearest_cell == want->nearest_cell);
      }
    }
  }
  LayerTables twice;
  twice.cells =
      FeatureTable::Pack({MakeFeature("C", "POLYGON((0 0,1 0,1 1,0 0))"),
                          MakeFeature("C", "POLYGON((1 0,2 0,2 1,1 0))")});
  auto refused = Locator::Build(std::move(twice), 1);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "cells: code C is used by two features; codes must be unique");
  LayerTables unnamed;
  unnamed.zones =
      FeatureTable::Pack({MakeFeature("", "POLYGON((0 0,1 0,1 1,0 0))")});
  refused = Locator::Build(std::move(unnamed), 1);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("zones: a feature has an empty code") ==
        0);
}

namespace {

struct Grid {
  JaggedGrid grid;
  Layers layers;
  Shape outline;
};

Grid MakeGrid(int cols, int rows, uint64_t seed, const std::string& prefix) {
  Grid g{JaggedGrid({.origin = {110200000000, 34550000000},
                     .cols = cols,
                     .rows = rows,
                     .cell_width = 3000000,
                     .cell_height = 2500000,
                     .seed = seed}),
         {},
         {}};
  for (int row = 0; row < rows; ++row) {
    for (int col = 0; col < cols; ++col) {
      char code[32];
      // Codes in a shuffled order so "lowest code" is not "first in space".
      std::snprintf(code, sizeof code, "%s%05d", prefix.c_str(),
                    int((col * 7919 + row * 104729) % 99991));
      Feature f{.code = code};
      f.shape.parts.push_back({{g.grid.CellRing(col, row)}});
      g.layers.cells.push_back(std::move(f));
    }
  }
  g.outline.parts.push_back({{g.grid.BlockRing(0, 0, cols, rows)}});
  return g;
}

}  // namespace

TEST_CASE("Locator: exactly one cell per point, as a brute-force scan finds") {
  Grid g = MakeGrid(30, 30, 42, "C");
  const std::vector<Feature> cells = g.layers.cells;  // copy for brute force
  std::vector<Box> boxes;
  for (const Feature& f : cells) boxes.push_back(BoundsOf(f.shape));
  auto locator = Locator::Build(g.layers, 1);
  REQUIRE(locator);
  // The answers below come from the bucket grid (spatial/cell_grid.h).
  REQUIRE(locator->cells().has_grid());

  std::mt19937_64 rng(7);
  Box all = BoundsOf(g.outline);
  int64_t margin = 2000000;
  std::uniform_int_distribution<int64_t> ux(all.min.x - margin,
                                            all.max.x + margin);
  std::uniform_int_distribution<int64_t> uy(all.min.y - margin,
                                            all.max.y + margin);
  std::uniform_int_distribution<size_t> pick_cell(0, cells.size() - 1);
  int on_edges = 0, on_vertices = 0, outside = 0;
  const int kPoints = 100000;
  for (int n = 0; n < kPoints; ++n) {
    Pt p;
    int kind = n % 10;  // 0-5 random, 6-7 on an edge, 8-9 on a vertex
    size_t source = 0;
    Pt a, b;
    int64_t dx = 0, dy = 0, g_xy = 0;
    // For edge points, look for an edge with lattice points inside it.
    for (int attempt = 0; attempt < 50 && g_xy < 2; ++attempt) {
      source = pick_cell(rng);
      const Ring& ring = cells[source].shape.parts[0].rings[0];
      size_t i = rng() % ring.size();
      a = ring[i];
      b = ring[(i + 1) % ring.size()];
      dx = b.x - a.x;
      dy = b.y - a.y;
      g_xy = std::gcd(dx, dy);
    }
    if (kind >= 8 || (kind >= 6 && g_xy < 2)) {
      p = a;
      ++on_vertices;
    } else if (kind >= 6) {
      // An exact lattice point strictly inside the edge.
      int64_t k = 1 + int64_t(rng() % uint64_t(g_xy - 1));
      p = {a.x + dx / g_xy * k, a.y + dy / g_xy * k};
      ++on_edges;
      REQUIRE(Classify(cells[source].shape, p) == Side::kBoundary);
    } else {
      p = {ux(rng), uy(rng)};
    }
    // Brute force: the lowest code among all covering cells.
    std::optional<size_t> expected;
    int covering = 0;
    for (size_t c = 0; c < cells.size(); ++c) {
      const Box& bx = boxes[c];
      if (p.x < bx.min.x || p.x > bx.max.x || p.y < bx.min.y ||
          p.y > bx.max.y) {
        continue;
      }
      if (Classify(cells[c].shape, p) == Side::kOutside) continue;
      ++covering;
      if (!expected || cells[c].code < cells[*expected].code) expected = c;
    }
    bool in_tiling = Classify(g.outline, p) != Side::kOutside;
    // No gaps: every point of the tiling is covered by at least one cell.
    REQUIRE(in_tiling == (covering > 0));
    auto placed = locator->Locate(ToLonLat(p));
    REQUIRE(placed);
    if (expected) {
      REQUIRE(placed->inside);
      REQUIRE(placed->cell == cells[*expected].code);
    } else {
      ++outside;
      REQUIRE_FALSE(placed->inside);
      REQUIRE(placed->distance_m > 0);
    }
  }
  MESSAGE("points on edges: " << on_edges << ", on vertices: " << on_vertices
                              << ", outside: " << outside);
  CHECK(on_edges > 10000);
  CHECK(on_vertices > 15000);
  CHECK(on_vertices < 30000);
  CHECK(outside > 1000);
}

TEST_CASE("LocatorSlot: readers never see a half-swapped snapshot") {
  Grid a = MakeGrid(12, 12, 1, "A");
  Grid b = MakeGrid(12, 12, 2, "B");
  auto v1 = std::make_shared<const Locator>(*Locator::Build(a.layers, 1));
  auto v2 = std::make_shared<const Locator>(*Locator::Build(b.layers, 2));
  LocatorSlot slot;
  slot.Replace(v1);
  std::atomic<bool> stop{false};
  std::atomic<long> answers{0}, mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::uniform_real_distribution<double> lon(110.205, 110.225);
      std::uniform_real_distribution<double> lat(34.53, 34.545);
      while (!stop.load()) {
        auto snapshot = slot.Get();
        auto placed = snapshot->Locate({lon(rng), lat(rng)});
        char want = placed->boundary_version == 1 ? 'A' : 'B';
        std::string code = placed->inside ? placed->cell : placed->nearest_cell;
        if (code.empty() || code[0] != want) ++mismatches;
        ++answers;
      }
    });
  }
  auto kept = slot.Get();  // an old snapshot stays usable after swaps
  // Swap at least 2000 times and until the readers have answered often
  // (slow starts under sanitizers); bounded so a hang cannot last.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; (i < 2000 || answers.load() < 3000) &&
                  std::chrono::steady_clock::now() < give_up;
       ++i) {
    slot.Replace(i % 2 ? v1 : v2);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(answers.load() > 0);
  CHECK(mismatches.load() == 0);
  CHECK(kept->Locate({110.21, 34.54})->boundary_version == 1);
}

TEST_CASE("Locator: long and empty codes and village names come back whole") {
  Layers layers;
  layers.villages.push_back(
      MakeFeature("V-covering", "POLYGON((0 0,3 0,3 1,0 1,0 0))"));
  std::string long_code(300, 'c');
  std::string long_village = "村" + std::string(200, 'v') + "社区";
  layers.cells.push_back(
      MakeFeature("A", "POLYGON((0 0,1 0,1 1,0 1,0 0))", long_village));
  layers.cells.push_back(
      MakeFeature(long_code, "POLYGON((1 0,2 0,2 1,1 1,1 0))", "V7"));
  layers.cells.push_back(MakeFeature("Z", "POLYGON((2 0,3 0,3 1,2 1,2 0))"));
  auto town = Locator::Build(std::move(layers), 1);
  REQUIRE(town);
  auto a = town->Locate({0.5, 0.5});
  CHECK(a->cell == "A");
  CHECK(a->village == long_village);
  auto b = town->Locate({1.5, 0.5});
  CHECK(b->cell == long_code);
  CHECK(b->village == "V7");
  auto z = town->Locate({2.5, 0.5});
  CHECK(z->cell == "Z");
  CHECK(z->village == "V-covering");  // no attribute: the covering village
  // On the edge between A and the long code: "A" < "ccc...".
  CHECK(town->Locate({1, 0.5})->cell == "A");
}

TEST_CASE("Locator: coordinates snap to the nearest nanodegree, halves away") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lon(-180, 180);
  for (int i = 0; i < 100000; ++i) {
    double x = lon(rng);
    // Some exact halves of a nanodegree too.
    if (i % 7 == 0) x = (double(int64_t(x * 1e6)) + 0.5) / 1e9;
    auto p = ToFixed({x, 0});
    REQUIRE(p);
    CHECK(p->x == std::llround(x * kUnitsPerDegree));
  }
  CHECK(ToFixed({180, 90})->x == 180000000000);
  CHECK(ToFixed({-180, -90})->y == -90000000000);
}

TEST_CASE("Locator: outside points get the same nearest cell as a full scan") {
  JaggedGrid grid({.origin = {110000000000, 34600000000},
                   .cols = 6,
                   .rows = 5,
                   .cell_width = 7270000,
                   .cell_height = 6000000,
                   .seed = 5});
  Layers layers;
  std::vector<Feature> cells;
  for (int row = 0; row < 5; ++row) {
    for (int col = 0; col < 6; ++col) {
      Feature f;
      f.code = "C" + std::to_string(100 + (row * 6 + col) * 7 % 30);
      f.shape.parts.push_back({{grid.CellRing(col, row)}});
      cells.push_back(f);
    }
  }
  layers.cells = cells;
  auto town = Locator::Build(std::move(layers), 1);
  REQUIRE(town);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> x(109980000000, 110065000000);
  std::uniform_int_distribution<int64_t> y(34550000000, 34620000000);
  int outside = 0;
  for (int i = 0; i < 3000; ++i) {
    Pt p{x(rng), y(rng)};
    auto placed = town->Locate(ToLonLat(p));
    REQUIRE(placed);
    Pt snapped = *ToFixed(ToLonLat(p));
    if (placed->inside) continue;
    ++outside;
    for (const Feature& f : cells) {
      CHECK(Classify(f.shape, snapped) == Side::kOutside);
    }
    Nearest best = NearestByScan(cells, snapped);
    CHECK(placed->nearest_cell == best.code);
    CHECK(placed->distance_m == best.metres);
  }
  CHECK(outside > 100);
}

TEST_CASE(
    "Locator: thousands of cells, built by all cores, answer as a scan does") {
  // Over 4,096 cells: their boxes and labels are shared out between
  // threads, and the R-tree is packed beside the bucket grid.
  Grid g = MakeGrid(70, 60, 11, "C");
  for (size_t i = 0; i < g.layers.cells.size(); ++i) {
    g.layers.cells[i].attributes["village"] = "V" + std::to_string(i % 7);
  }
  // East of them, a cell whose hole pokes out of its shell, further east
  // than any other vertex (the grid's extent comes from boxes over all
  // rings, the R-tree's from the shells).
  Box all = BoundsOf(g.outline);
  auto square = [](int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
    return Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  };
  Feature odd{.code = "B1"};
  odd.attributes["village"] = "VB";
  odd.shape.parts.push_back(
      {{square(all.max.x + 2000000, all.min.y, all.max.x + 5000000,
               all.min.y + 3000000),
        square(all.max.x + 3000000, all.min.y + 1000000, all.max.x + 7000000,
               all.min.y + 2000000)}});
  g.layers.cells.push_back(odd);
  const std::vector<Feature> cells = g.layers.cells;  // copy for the scan
  REQUIRE(cells.size() > 4096);
  std::vector<Box> boxes;
  for (const Feature& f : cells) boxes.push_back(BoundsOf(f.shape));
  auto locator = Locator::Build(g.layers, 1);
  REQUIRE(locator);
  REQUIRE(locator->cells().has_grid());

  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int64_t> ux(all.min.x - 3000000,
                                            all.max.x + 8000000);
  std::uniform_int_distribution<int64_t> uy(all.min.y - 3000000,
                                            all.max.y + 3000000);
  int inside = 0, outside = 0;
  for (int n = 0; n < 20000; ++n) {
    Pt p{ux(rng), uy(rng)};
    std::optional<size_t> expected;
    for (size_t c = 0; c < cells.size(); ++c) {
      const Box& bx = boxes[c];
      if (p.x < bx.min.x || p.x > bx.max.x || p.y < bx.min.y ||
          p.y > bx.max.y) {
        continue;
      }
      if (Classify(cells[c].shape, p) == Side::kOutside) continue;
      if (!expected || cells[c].code < cells[*expected].code) expected = c;
    }
    auto placed = locator->Locate(ToLonLat(p));
    REQUIRE(placed);
    if (expected) {
      ++inside;
      REQUIRE(placed->inside);
      REQUIRE(placed->cell == cells[*expected].code);
      REQUIRE(placed->village == cells[*expected].Attribute("village"));
      continue;
    }
    REQUIRE_FALSE(placed->inside);
    // The nearest cell, by a scan of them all, for points away from the
    // hole's outer part (its edges count for the distance, not for the
    // R-tree's box).
    if (++outside > 300 || p.x > all.max.x + 4000000) continue;
    Pt snapped = *ToFixed(ToLonLat(p));
    Nearest best = NearestByScan(cells, snapped);
    REQUIRE(placed->nearest_cell == best.code);
    REQUIRE(placed->distance_m == best.metres);
  }
  CHECK(inside > 10000);
  CHECK(outside > 1000);
}
