#include "spatial/cell_grid.h"

#include <doctest/doctest.h>

#include <numeric>
#include <random>

#include "spatial/jagged_grid.h"

using namespace wangge;
using namespace wangge::spatial;

namespace {

// The lowest index whose shape covers p, by Classify on every feature.
uint32_t BruteForce(const std::vector<Feature>& features, Pt p) {
  for (size_t i = 0; i < features.size(); ++i) {
    if (Classify(features[i].shape, p) != Side::kOutside) return uint32_t(i);
  }
  return CellGrid::kNone;
}

Feature FromRings(std::vector<std::vector<Ring>> parts) {
  Feature f;
  for (auto& rings : parts) f.shape.parts.push_back({std::move(rings)});
  return f;
}

Ring Square(int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
}

// Points that stress the grid: random ones, vertices, lattice points inside
// edges, bucket boundary lines and corners, and bucket centres (where the
// reference point usually sits).
std::vector<Pt> HardPoints(const std::vector<Feature>& features,
                           const CellGrid& grid, int random_points,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  const CellGrid::Layout& L = grid.layout();
  int64_t sx = int64_t(1) << L.shift_x, sy = int64_t(1) << L.shift_y;
  int64_t w = int64_t(L.cols) * sx, h = int64_t(L.rows) * sy;
  std::uniform_int_distribution<int64_t> ux(L.origin.x - sx,
                                            L.origin.x + w + sx);
  std::uniform_int_distribution<int64_t> uy(L.origin.y - sy,
                                            L.origin.y + h + sy);
  std::uniform_int_distribution<int64_t> col(0, L.cols), row(0, L.rows);
  std::vector<Pt> points;
  for (int n = 0; n < random_points; ++n) {
    points.push_back({ux(rng), uy(rng)});
    int64_t bx = L.origin.x + col(rng) * sx, by = L.origin.y + row(rng) * sy;
    points.push_back({bx, uy(rng)});               // on a vertical bucket line
    points.push_back({ux(rng), by});               // on a horizontal one
    points.push_back({bx, by});                    // a bucket corner
    points.push_back({bx + sx / 2, by + sy / 2});  // a bucket centre
  }
  for (const Feature& f : features) {
    for (const Polygon& part : f.shape.parts) {
      for (const Ring& ring : part.rings) {
        for (size_t i = 0; i < ring.size(); ++i) {
          Pt a = ring[i], b = ring[(i + 1) % ring.size()];
          points.push_back(a);
          int64_t dx = b.x - a.x, dy = b.y - a.y, g = std::gcd(dx, dy);
          if (g >= 2) {
            int64_t k = 1 + int64_t(rng() % uint64_t(g - 1));
            points.push_back({a.x + dx / g * k, a.y + dy / g * k});
          }
        }
      }
    }
  }
  return points;
}

std::vector<Feature> JaggedCells(int cols, int rows, uint64_t seed) {
  JaggedGrid grid({.origin = {110200000000, 34550000000},
                   .cols = cols,
                   .rows = rows,
                   .cell_width = 3000000,
                   .cell_height = 2500000,
                   .seed = seed});
  std::vector<Feature> cells(size_t(cols) * rows);
  for (int row = 0; row < rows; ++row) {
    for (int col = 0; col < cols; ++col) {
      // Shuffled, so the lowest index is not the first in space.
      size_t i = size_t((row * cols + col) * 37 % (cols * rows));
      cells[i].shape.parts.push_back({{grid.CellRing(col, row)}});
    }
  }
  return cells;
}

}  // namespace

TEST_CASE("CellGrid: answers equal a brute-force Classify scan on a tiling") {
  std::vector<Feature> cells = JaggedCells(12, 10, 3);
  SUBCASE("default bucket size") {
    auto grid = CellGrid::Build(cells);
    REQUIRE(grid);
    CHECK(grid->layout().mixed_buckets > 0);
    int outside = 0;
    for (Pt p : HardPoints(cells, *grid, 4000, 1)) {
      uint32_t want = BruteForce(cells, p);
      outside += want == CellGrid::kNone;
      REQUIRE(grid->FirstCovering(p) == want);
    }
    CHECK(outside > 100);
  }
  SUBCASE("buckets much smaller than an edge, and much larger") {
    for (int shift : {14, 17, 23}) {
      CAPTURE(shift);
      auto grid = CellGrid::Build(cells, {.force_shift = shift});
      REQUIRE(grid);
      for (Pt p : HardPoints(cells, *grid, 1000, shift)) {
        REQUIRE(grid->FirstCovering(p) == BruteForce(cells, p));
      }
    }
  }
}

TEST_CASE("CellGrid: bands of rows and threads give the same answers") {
  // Rings that span many bands, and bands built by threads out of order.
  std::vector<Feature> cells = JaggedCells(12, 10, 7);
  cells.push_back(FromRings(
      {{Square(110200000000, 34525000000, 110236000000, 34550000000),
        Square(110203000000, 34530000000, 110233000000, 34545000000)}}));
  for (int band_rows : {1, 2, 7}) {
    for (int threads : {1, 3}) {
      CAPTURE(band_rows);
      CAPTURE(threads);
      auto grid = CellGrid::Build(
          cells,
          {.force_shift = 18, .band_rows = band_rows, .threads = threads});
      REQUIRE(grid);
      CHECK(grid->layout().rows > 3 * unsigned(band_rows));
      for (Pt p : HardPoints(cells, *grid, 1500, band_rows * 10 + threads)) {
        REQUIRE(grid->FirstCovering(p) == BruteForce(cells, p));
      }
    }
  }
}

TEST_CASE("CellGrid: holes, islands, multipolygons and overlaps") {
  // Coordinates in nanodegrees, buckets of 16 so that they cut everything.
  std::vector<Feature> features;
  // 0: overlaps 1 and 3; covers the hole of 2 partly.
  features.push_back(FromRings({{Square(150, 150, 420, 330)}}));
  // 1: a ring with two holes; the second hole touches the shell at a vertex.
  features.push_back(FromRings({{Square(0, 0, 600, 500),
                                 Square(100, 100, 300, 300),
                                 {{400, 0}, {500, 200}, {450, 250}}}}));
  // 2: an island in the first hole of 1, and a second part far away.
  features.push_back(
      FromRings({{Square(120, 120, 280, 280)}, {Square(700, 40, 900, 480)}}));
  // 3: a triangle with a hole whose edge runs along the shell's.
  features.push_back(FromRings({{{{620, 0}, {1000, 0}, {1000, 500}},
                                 {{700, 0}, {900, 0}, {900, 100}}}}));
  // 4: a bow-tie (even-odd, as Classify takes it) and a hole outside its
  // shell, which Classify ignores.
  features.push_back(FromRings({{{{0, 600}, {300, 900}, {300, 600}, {0, 900}},
                                 Square(500, 600, 600, 700)}}));
  for (int shift : {4, 6, 9}) {
    CAPTURE(shift);
    auto grid = CellGrid::Build(features, {.force_shift = shift});
    REQUIRE(grid);
    int covered = 0;
    for (int64_t y = -20; y <= 920; y += 5) {
      for (int64_t x = -20; x <= 1020; x += 5) {
        Pt p{x, y};
        uint32_t want = BruteForce(features, p);
        covered += want != CellGrid::kNone;
        REQUIRE(grid->FirstCovering(p) == want);
      }
    }
    CHECK(covered > 10000);
    for (Pt p : HardPoints(features, *grid, 2000, 9)) {
      REQUIRE(grid->FirstCovering(p) == BruteForce(features, p));
    }
  }
}

TEST_CASE(
    "CellGrid: vertices on the rows' centre lines, edges through centres") {
  // Buckets of 16 from (0, 0): centres at 8 + 16k. The walk between two
  // centres counts the edges crossing the row's centre line; these put
  // vertices on that line and edges through centres (which move the
  // reference point) and between them.
  std::vector<Feature> features;
  features.push_back(FromRings({{Square(0, 0, 640, 640)}}));
  // Diamonds with vertices at centres: their edges pass through centres.
  features.push_back(FromRings({{{{40, 200}, {200, 40}, {360, 200}, {200, 360}},
                                 {{136, 200}, {200, 136}, {264, 200}}}}));
  // Zigzags whose vertices sit on centre lines between centres.
  features.push_back(FromRings({{{{400, 8},
                                  {420, 24},
                                  {436, 8},
                                  {452, 40},
                                  {470, 24},
                                  {600, 24},
                                  {600, 300},
                                  {404, 300}}}}));
  // A thin sliver along a centre line, and a triangle with a vertex at a
  // centre and another on its line.
  features.push_back(FromRings({{{{20, 424}, {620, 424}, {620, 425}}},
                                {{{100, 456}, {300, 456}, {200, 600}}}}));
  auto grid = CellGrid::Build(features, {.force_shift = 4});
  REQUIRE(grid);
  REQUIRE(grid->layout().origin.x == 0);
  for (int64_t y = -4; y <= 644; y += 2) {
    for (int64_t x = -4; x <= 644; x += 2) {
      Pt p{x, y};
      REQUIRE(grid->FirstCovering(p) == BruteForce(features, p));
    }
  }
  for (Pt p : HardPoints(features, *grid, 2000, 11)) {
    REQUIRE(grid->FirstCovering(p) == BruteForce(features, p));
  }
}

TEST_CASE("CellGrid: edges that several rings share are stored once") {
  // A run of edges two rings share, either way round, is stored for the
  // first and referred to by the others; a query tests it once, or, when it
  // skipped the first ring, when it comes to the reference.
  Ring h = Square(100, 100, 300, 300);
  Ring h_reversed(h.rbegin(), h.rend());
  std::vector<Feature> features;
  // 0: a shell whose hole is feature 1, the same way round.
  features.push_back(FromRings({{Square(0, 0, 400, 400), h}}));
  // 1: the island filling that hole.
  features.push_back(FromRings({{h}}));
  // 2: the same island again, the other way round.
  features.push_back(FromRings({{h_reversed}}));
  // 3: a small shell with a hole outside it (Classify ignores that hole, so
  // a query skips it), the hole being feature 4's shell.
  Ring g = Square(500, 100, 700, 300);
  features.push_back(FromRings({{Square(450, 350, 480, 380), g}}));
  // 4, 5: that shell, both ways round.
  features.push_back(FromRings({{g}}));
  features.push_back(FromRings({{Ring(g.rbegin(), g.rend())}}));
  // 6..17: twelve copies of one square, more rings than a query caches, and
  // 18: a shell whose hole is the square.
  Ring s = Square(150, 500, 650, 700);
  for (int k = 0; k < 12; ++k) features.push_back(FromRings({{s}}));
  features.push_back(FromRings({{Square(100, 450, 700, 750), s}}));
  for (int shift : {4, 6, 9, 11}) {
    CAPTURE(shift);
    auto grid = CellGrid::Build(features, {.force_shift = shift});
    REQUIRE(grid);
    for (int64_t y = -20; y <= 800; y += 5) {
      for (int64_t x = -20; x <= 800; x += 5) {
        Pt p{x, y};
        REQUIRE(grid->FirstCovering(p) == BruteForce(features, p));
      }
    }
    for (Pt p : HardPoints(features, *grid, 2000, shift)) {
      REQUIRE(grid->FirstCovering(p) == BruteForce(features, p));
    }
  }
  // Stored once: the twelve copies cost less than twelve times one.
  std::vector<Feature> one{FromRings({{s}})};
  std::vector<Feature> twelve(12, one[0]);
  auto a = CellGrid::Build(one, {.force_shift = 4});
  auto b = CellGrid::Build(twelve, {.force_shift = 4});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->Bytes() < 4 * a->Bytes());
}

TEST_CASE("CellGrid: an empty layer covers nothing") {
  auto grid = CellGrid::Build({});
  REQUIRE(grid);
  CHECK(grid->FirstCovering({110000000000, 34000000000}) == CellGrid::kNone);
}

TEST_CASE("CellGrid: an edge over a degree long is refused, not mis-stored") {
  std::vector<Feature> big{FromRings({{Square(0, 0, 3000000000, 2000000000)}})};
  auto grid = CellGrid::Build(big, {.force_shift = 20});
  REQUIRE_FALSE(grid);
  CHECK(grid.error().message.find("1 degree") != std::string::npos);
}

TEST_CASE("CellGrid: memory stays within 40 bytes a vertex on a tiling") {
  std::vector<Feature> cells = JaggedCells(30, 30, 5);
  size_t vertices = 0;
  for (const Feature& f : cells) vertices += f.shape.parts[0].rings[0].size();
  auto grid = CellGrid::Build(cells);
  REQUIRE(grid);
  CHECK(double(grid->Bytes()) / double(vertices) <= 40.0);
}
