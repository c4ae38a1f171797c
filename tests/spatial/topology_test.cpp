#include "spatial/topology.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <tuple>

#include "spatial/import.h"
#include "spatial/jagged_grid.h"
#include "spatial/layer_reader.h"
#include "spatial/layer_writer.h"
#include "spatial/simple_ring.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::spatial;

namespace {

Shape Clean(const std::string& wkt) {
  auto parsed = ParseWkt(wkt);
  REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  auto cleaned = CleanShape(std::move(*parsed));
  REQUIRE_MESSAGE(cleaned, (cleaned ? "" : cleaned.error().message));
  return std::move(cleaned->shape);
}

Feature Cell(const std::string& code, const std::string& wkt,
             const std::string& village = "V1") {
  Feature f;
  f.code = code;
  f.attributes["village"] = village;
  auto normal = NormalizeShape(Clean(wkt));
  REQUIRE_MESSAGE(normal, (normal ? "" : normal.error().message));
  f.shape = std::move(normal->shape);
  return f;
}

std::string Square(double x, double y, double w, double h) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "POLYGON((%.9f %.9f,%.9f %.9f,%.9f %.9f,%.9f %.9f,%.9f %.9f))",
                x, y, x + w, y, x + w, y + h, x, y + h, x, y);
  return buf;
}

double Area(const Shape& s) {
  double a = 0;
  for (const Polygon& p : s.parts) {
    for (size_t i = 0; i < p.rings.size(); ++i) {
      a += (i == 0 ? 1 : -1) * std::abs(SignedArea(p.rings[i]));
    }
  }
  return a;
}

// Square metres of a w x h degree box at latitude `lat`, on a sphere of the
// mean Earth radius: an independent estimate, good to about 0.5 %.
double SphereM2(double w, double h, double lat) {
  constexpr double kR = 6371008.8, kRad = M_PI / 180;
  return w * kRad * kR * std::cos(lat * kRad) * h * kRad * kR;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("NormalizeShape: a shell touching itself makes an inverted hole") {
  // The top edge dips to a triangle that meets it at (0.5, 1).
  Shape shape =
      Clean("POLYGON((0 0,1 0,1 1,0.5 1,0.6 0.6,0.4 0.6,0.5 1,0 1,0 0))");
  double before = Area(shape);
  auto n = NormalizeShape(shape);
  REQUIRE_MESSAGE(n, (n ? "" : n.error().message));
  CHECK(n->self_touching_rings == 1);
  REQUIRE(n->shape.parts.size() == 1);
  CHECK(n->shape.parts[0].rings.size() == 2);
  CHECK(Area(n->shape) == before);
  CHECK(Classify(n->shape, *ToFixed({0.5, 0.7})) == Side::kOutside);
  CHECK(Classify(n->shape, *ToFixed({0.2, 0.5})) == Side::kInside);
}

TEST_CASE("NormalizeShape: two lobes touching at a point become two parts") {
  auto n = NormalizeShape(Clean("POLYGON((0 0,1 1,2 0,2 2,1 1,0 2,0 0))"));
  REQUIRE_MESSAGE(n, (n ? "" : n.error().message));
  CHECK(n->self_touching_rings == 1);
  CHECK(n->shape.parts.size() == 2);
}

TEST_CASE("NormalizeShape: a vertex touching an edge of its ring is split") {
  // A notch whose tip touches the opposite edge between its vertices.
  auto t =
      NormalizeShape(Clean("POLYGON((0 0,1 0,1 1,0.6 1,0.5 0,0.4 1,0 1,0 0))"));
  REQUIRE_MESSAGE(t, (t ? "" : t.error().message));
  CHECK(t->self_touching_rings == 1);
  CHECK(t->shape.parts.size() == 2);
}

TEST_CASE("NormalizeShape: a bow-tie crossing at a shared vertex is refused") {
  // Crosses itself at (1, 1), where it has a vertex: CleanShape keeps it
  // (no edge crosses another's interior); the loops run opposite ways and
  // neither holds the other.
  auto n = NormalizeShape(Clean("POLYGON((0 0,1 1,3 3,3 0,1 1,0 2,0 0))"));
  REQUIRE_FALSE(n);
  CHECK(
      Has(n.error().message, "ring self-intersects near (1.000000, 1.000000)"));
  CHECK(Has(n.error().message, "bow-tie"));
}

TEST_CASE("NormalizeShape: parts sharing a border are merged, area unchanged") {
  Shape shape = Clean(
      "MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((1 0,2 0,2 1,1 1,1 0)),((5 5,6 "
      "5,6 6,5 6,5 5)))");
  double before = Area(shape);
  auto n = NormalizeShape(shape);
  REQUIRE_MESSAGE(n, (n ? "" : n.error().message));
  CHECK(n->merged_parts == 1);
  CHECK(n->shape.parts.size() == 2);
  CHECK(Area(n->shape) == before);
  // Parts touching only at a corner are valid as they are.
  auto corner = NormalizeShape(
      Clean("MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((1 1,2 1,2 2,1 2,1 1)))"));
  REQUIRE(corner);
  CHECK(corner->merged_parts == 0);
  CHECK(corner->shape.parts.size() == 2);
}

TEST_CASE("NormalizeShape: a hole outside its shell is refused with a reason") {
  auto n = NormalizeShape(
      Clean("POLYGON((0 0,1 0,1 1,0 1,0 0),(2 2,3 2,3 3,2 3,2 2))"));
  REQUIRE_FALSE(n);
  CHECK(Has(n.error().message, "a hole lies outside its polygon"));
  CHECK(Has(n.error().message, "near ("));
}

TEST_CASE(
    "NormalizeShape: the simple-ring fast path agrees with Boost on tricky "
    "rings") {
  // Random rings on a coarse lattice touch, cross, fold and repeat vertices
  // all the time; a lattice step of 1000 nanodegrees keeps them small enough
  // for the fast path, 10^7 makes some too large for it. Both functions
  // must give the same shape, counts, or refusal for every one.
  std::mt19937_64 random(20261130);
  const Pt origin{110215000000, 34545000000};
  int compared = 0, fast = 0, refused = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    int64_t step = trial % 4 == 3 ? 10000000 : 1000;
    int64_t lattice = 2 + int64_t(random() % 5);
    auto ring = [&](int n) {
      Ring r;
      for (int i = 0; i < n; ++i) {
        r.push_back({origin.x + step * int64_t(random() % (lattice + 1)),
                     origin.y + step * int64_t(random() % (lattice + 1))});
      }
      return r;
    };
    Shape shape;
    shape.parts.push_back({{ring(3 + int(random() % 8))}});
    switch (random() % 8) {
      case 0:  // a hole
        shape.parts[0].rings.push_back(ring(3 + int(random() % 4)));
        break;
      case 1:  // a second part
        shape.parts.push_back({{ring(3 + int(random() % 5))}});
        break;
      default:
        break;
    }
    auto cleaned = CleanShape(shape);
    if (!cleaned) continue;
    ++compared;
    const Shape& c = cleaned->shape;
    if (c.parts.size() == 1 && c.parts[0].rings.size() == 1 &&
        IsSimple(c.parts[0].rings[0]) && step == 1000) {
      ++fast;
    }
    auto a = NormalizeShape(c);
    auto b = NormalizeShapeWithBoost(c);
    REQUIRE(a.has_value() == b.has_value());
    if (!a) {
      ++refused;
      CHECK(a.error().message == b.error().message);
      continue;
    }
    CHECK(a->self_touching_rings == b->self_touching_rings);
    CHECK(a->merged_parts == b->merged_parts);
    REQUIRE(a->shape.parts.size() == b->shape.parts.size());
    for (size_t i = 0; i < a->shape.parts.size(); ++i) {
      CHECK(a->shape.parts[i].rings == b->shape.parts[i].rings);
    }
  }
  // Both paths and refusals were exercised.
  CHECK(compared > 5000);
  CHECK(fast > 1000);
  CHECK(refused > 100);
}

TEST_CASE("NormalizeShape: jagged cells take the fast path, same as Boost") {
  JaggedGrid grid({.origin = {110215000000, 34545000000},
                   .cols = 8,
                   .rows = 8,
                   .cell_width = 7270000,
                   .cell_height = 6000000});
  for (int col = 0; col < 8; ++col) {
    for (int row = 0; row < 8; ++row) {
      Ring cell = grid.CellRing(col, row);
      REQUIRE(IsSimple(cell));
      Shape shape;
      shape.parts.push_back({{cell}});
      auto a = NormalizeShape(shape);
      auto b = NormalizeShapeWithBoost(shape);
      REQUIRE(a);
      REQUIRE(b);
      CHECK(a->shape.parts[0].rings == b->shape.parts[0].rings);
      // Pinch the cell: move a vertex onto the one opposite it; both paths
      // split or refuse alike.
      for (size_t k = 0; k < cell.size(); k += 7) {
        Ring pinched = cell;
        pinched[k] = cell[(k + cell.size() / 2) % cell.size()];
        Shape p;
        p.parts.push_back({{pinched}});
        auto cleaned = CleanShape(p);
        if (!cleaned) continue;
        auto pa = NormalizeShape(cleaned->shape);
        auto pb = NormalizeShapeWithBoost(cleaned->shape);
        REQUIRE(pa.has_value() == pb.has_value());
        if (pa) {
          CHECK(pa->self_touching_rings == pb->self_touching_rings);
          REQUIRE(pa->shape.parts.size() == pb->shape.parts.size());
          for (size_t i = 0; i < pa->shape.parts.size(); ++i) {
            CHECK(pa->shape.parts[i].rings == pb->shape.parts[i].rings);
          }
        } else {
          CHECK(pa.error().message == pb.error().message);
        }
      }
    }
  }
}

TEST_CASE("AreaSquareMetres: a 0.01 degree square near Taiyao in m²") {
  Shape s = Clean(Square(110.2, 34.5, 0.01, 0.01));
  double m2 = AreaSquareMetres(s);
  CHECK(m2 == doctest::Approx(SphereM2(0.01, 0.01, 34.505)).epsilon(0.006));
  CHECK(m2 > 1.0e6);
  CHECK(m2 < 1.05e6);
}

TEST_CASE("CheckOverlaps: reports overlapping pairs once, with m² and place") {
  std::vector<Feature> cells = {
      Cell("A", Square(110, 34.5, 0.01, 0.01)),
      Cell("B", Square(110.008, 34.5, 0.01, 0.01)),  // overlaps A by 0.002
      Cell("C", Square(110.018, 34.5, 0.01, 0.01)),  // shares B's east edge
  };
  TopologyReport r = CheckOverlaps(cells, {.file = "cells.shp"});
  REQUIRE(r.problems.size() == 1);
  const Problem& p = r.problems[0];
  CHECK(p.kind == "overlap");
  CHECK(p.feature == "A");
  CHECK(p.other == "B");
  CHECK(p.area_m2 ==
        doctest::Approx(SphereM2(0.002, 0.01, 34.505)).epsilon(0.006));
  REQUIRE(p.where);
  CHECK(p.where->lon > 110.008);
  CHECK(p.where->lon < 110.01);
  CHECK(Has(p.message, "cells.shp, feature A overlaps B by "));
  CHECK(r.slivers == 0);
}

TEST_CASE(
    "CheckOverlaps: a border digitised twice leaves slivers, not errors") {
  // B's west edge is 1e-7 degree (about 1 cm) inside A: an overlap of
  // 0.01 degree x 1 cm = about 11 m², thinner than the 0.1 m tolerance.
  std::vector<Feature> cells = {
      Cell("A", Square(110, 34.5, 0.01, 0.01)),
      Cell("B", Square(110.0099999, 34.5, 0.01, 0.01)),
  };
  TopologyReport r = CheckOverlaps(cells, {});
  CHECK(r.problems.empty());
  CHECK(r.slivers == 1);
  CHECK(r.sliver_area_m2 > 5);
  CHECK(r.sliver_area_m2 < 20);
  // With a tolerance below the sliver's width it is an overlap.
  TopologyReport strict =
      CheckOverlaps(cells, {.sliver_area_m2 = 1, .sliver_width_m = 0.001});
  CHECK(strict.problems.size() == 1);
  CHECK(strict.slivers == 0);
}

TEST_CASE("CheckGapsBetweenCells: a hole enclosed by a village's cells") {
  // Eight cells in a ring around an empty middle square, plus a cell of
  // another village elsewhere.
  std::vector<Feature> cells;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i == 1 && j == 1) continue;
      cells.push_back(
          Cell("C" + std::to_string(i) + std::to_string(j),
               Square(110 + 0.01 * i, 34.5 + 0.01 * j, 0.01, 0.01)));
    }
  }
  cells.push_back(Cell("X", Square(111, 34.5, 0.01, 0.01), "V2"));
  TopologyReport r = CheckGapsBetweenCells(cells, {});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == "gap");
  CHECK(r.problems[0].feature == "V1");
  CHECK(r.problems[0].area_m2 ==
        doctest::Approx(SphereM2(0.01, 0.01, 34.515)).epsilon(0.006));
  REQUIRE(r.problems[0].where);
  CHECK(Classify(Clean(Square(110.01, 34.51, 0.01, 0.01)),
                 *ToFixed(*r.problems[0].where)) == Side::kInside);
  // Fill it: no gap.
  cells.push_back(Cell("C11", Square(110.01, 34.51, 0.01, 0.01)));
  CHECK(CheckGapsBetweenCells(cells, {}).problems.empty());
}

TEST_CASE("CheckCellsInVillages: outside, unknown village and gaps") {
  std::vector<Feature> villages = {Cell("V1", Square(110, 34.5, 0.02, 0.01))};
  std::vector<Feature> cells = {
      Cell("A", Square(110, 34.5, 0.01, 0.01)),
      Cell("B", Square(110.01, 34.5, 0.005, 0.012)),  // out north, gap east
      Cell("Z", Square(110.01, 34.5, 0.001, 0.001), "V7"),
  };
  TopologyReport r = CheckCellsInVillages(cells, villages, {});
  std::map<std::string, const Problem*> by_kind;
  for (const Problem& p : r.problems) by_kind[p.kind] = &p;
  CHECK(r.problems.size() == 3);
  REQUIRE(by_kind.count("outside_village"));
  CHECK(by_kind["outside_village"]->feature == "B");
  CHECK(by_kind["outside_village"]->area_m2 ==
        doctest::Approx(SphereM2(0.005, 0.002, 34.511)).epsilon(0.006));
  REQUIRE(by_kind.count("unknown_village"));
  CHECK(by_kind["unknown_village"]->feature == "Z");
  REQUIRE(by_kind.count("gap"));
  CHECK(by_kind["gap"]->feature == "V1");
  CHECK(by_kind["gap"]->area_m2 ==
        doctest::Approx(SphereM2(0.005, 0.01, 34.505)).epsilon(0.006));
  // Covered exactly: nothing to say.
  std::vector<Feature> exact = {Cell("A", Square(110, 34.5, 0.01, 0.01)),
                                Cell("B", Square(110.01, 34.5, 0.01, 0.01))};
  TopologyReport ok = CheckCellsInVillages(exact, villages, {});
  CHECK(ok.problems.empty());
  CHECK(ok.slivers == 0);
}

namespace {

// A cols x rows JaggedGrid (shared edges, same vertices) split into two
// villages V1 (west) and V2 (east) at column `split`.
struct Tiled {
  std::vector<Feature> villages;
  std::vector<Feature> cells;
};

Tiled JaggedTown(int cols, int rows, int split, int64_t cell_width = 7270000,
                 int64_t cell_height = 6000000) {
  JaggedGrid grid({.origin = {110000000000, 34600000000},
                   .cols = cols,
                   .rows = rows,
                   .cell_width = cell_width,
                   .cell_height = cell_height,
                   .seed = 7});
  Tiled t;
  for (auto [code, c0, c1] :
       {std::tuple{"V1", 0, split}, std::tuple{"V2", split, cols}}) {
    Feature v;
    v.code = code;
    v.shape.parts.push_back({{grid.BlockRing(c0, 0, c1, rows)}});
    t.villages.push_back(std::move(v));
  }
  for (int row = 0; row < rows; ++row) {
    for (int col = 0; col < cols; ++col) {
      Feature f;
      f.code = "C" + std::to_string(col) + "_" + std::to_string(row);
      f.attributes["village"] = col < split ? "V1" : "V2";
      f.shape.parts.push_back({{grid.CellRing(col, row)}});
      t.cells.push_back(std::move(f));
    }
  }
  return t;
}

std::vector<std::string> Kinds(const TopologyReport& r) {
  std::vector<std::string> out;
  for (const Problem& p : r.problems) out.push_back(p.kind + " " + p.feature);
  std::sort(out.begin(), out.end());
  return out;
}

// What CheckCells must agree with: the two checks run one after the other.
std::vector<std::string> Separately(const std::vector<Feature>& cells,
                                    const std::vector<Feature>& villages) {
  TopologyReport a = CheckOverlaps(cells, {});
  TopologyReport b = CheckCellsInVillages(cells, villages, {});
  for (Problem& p : b.problems) a.problems.push_back(p);
  return Kinds(a);
}

}  // namespace

TEST_CASE("CheckCells: cells tiling their villages edge for edge pass") {
  Tiled t = JaggedTown(6, 4, 3);
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  CHECK(r.problems.empty());
  CHECK(r.slivers == 0);
  CHECK(Separately(t.cells, t.villages).empty());
}

TEST_CASE(
    "CheckCells: villages over 8 degrees wide are compared edge by edge") {
  // Too wide for the 33-bit edge keys: the edges are sorted as they are.
  Tiled t = JaggedTown(6, 4, 3, 3000000000, 2500000000);
  CHECK(CheckCells(t.cells, t.villages, {}).problems.empty());
  t.cells.erase(t.cells.begin() + 7);
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == "gap");
  CHECK(r.problems[0].feature == "V1");
}

TEST_CASE("CheckCells: a missing cell is a gap where it was") {
  Tiled t = JaggedTown(6, 4, 3);
  Feature gone = t.cells[7];  // column 1, row 1: inside V1
  t.cells.erase(t.cells.begin() + 7);
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == "gap");
  CHECK(r.problems[0].feature == "V1");
  CHECK(r.problems[0].area_m2 ==
        doctest::Approx(AreaSquareMetres(gone.shape)).epsilon(0.001));
  REQUIRE(r.problems[0].where);
  CHECK(Classify(gone.shape, *ToFixed(*r.problems[0].where)) == Side::kInside);
  CHECK(Kinds(r) == Separately(t.cells, t.villages));
}

TEST_CASE("CheckCells: a cell given twice is an overlap") {
  Tiled t = JaggedTown(6, 4, 3);
  Feature twin = t.cells[9];
  twin.code = "TWIN";
  t.cells.push_back(twin);
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == "overlap");
  CHECK(r.problems[0].other == "TWIN");
  CHECK(Kinds(r) == Separately(t.cells, t.villages));
}

TEST_CASE("CheckCells: a cell with the wrong village code") {
  Tiled t = JaggedTown(6, 4, 3);
  t.cells[0].attributes["village"] = "V2";  // lies in V1
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  // V1 is still covered (by any cell), but the cell lies outside V2.
  std::vector<std::string> want = {"outside_village " + t.cells[0].code};
  CHECK(Kinds(r) == want);
  CHECK(Kinds(r) == Separately(t.cells, t.villages));
}

TEST_CASE("CheckCells: a cell overlapping into the next village") {
  Tiled t = JaggedTown(6, 4, 3);
  // Column 2 of V1 stretched over column 3 of V2: the block outline of
  // columns 2..3 as one cell.
  JaggedGrid grid({.origin = {110000000000, 34600000000},
                   .cols = 6,
                   .rows = 4,
                   .cell_width = 7270000,
                   .cell_height = 6000000,
                   .seed = 7});
  Feature& wide = t.cells[2];  // column 2, row 0
  wide.shape.parts[0].rings[0] = grid.BlockRing(2, 0, 4, 1);
  TopologyReport r = CheckCells(t.cells, t.villages, {});
  std::vector<std::string> want = {"outside_village C2_0", "overlap C2_0"};
  CHECK(Kinds(r) == want);
  CHECK(Kinds(r) == Separately(t.cells, t.villages));
}

TEST_CASE("CheckCells: holes and islands cancel too") {
  std::vector<Feature> villages = {Cell("V1", Square(110, 34.5, 0.03, 0.03))};
  Feature ring = Cell("O",
                      "POLYGON((110 34.5,110.03 34.5,110.03 34.53,110 34.53,"
                      "110 34.5),(110.01 34.51,110.01 34.52,110.02 34.52,"
                      "110.02 34.51,110.01 34.51))");
  Feature island = Cell("I", Square(110.01, 34.51, 0.01, 0.01));
  TopologyReport r = CheckCells({ring, island}, villages, {});
  CHECK(r.problems.empty());
  // Without the island the hole is a gap.
  TopologyReport gap = CheckCells({ring}, villages, {});
  REQUIRE(gap.problems.size() == 1);
  CHECK(gap.problems[0].kind == "gap");
  CHECK(gap.problems[0].area_m2 ==
        doctest::Approx(SphereM2(0.01, 0.01, 34.515)).epsilon(0.006));
}

TEST_CASE("CheckCells: the examples of the separate checks agree") {
  std::vector<Feature> villages = {Cell("V1", Square(110, 34.5, 0.02, 0.01))};
  std::vector<Feature> cells = {
      Cell("A", Square(110, 34.5, 0.01, 0.01)),
      Cell("B", Square(110.01, 34.5, 0.005, 0.012)),
      Cell("Z", Square(110.01, 34.5, 0.001, 0.001), "V7"),
  };
  TopologyReport r = CheckCells(cells, villages, {});
  CHECK(Kinds(r) == Separately(cells, villages));
  CHECK(r.problems.size() == 4);  // outside B, unknown Z, gap V1, overlap
}

TEST_CASE(
    "ReadLayer: a large layer repaired on several threads keeps the source "
    "order") {
  // 1,200 cells (the shapes are repaired in chunks of 256 on all cores),
  // one a bow-tie and one without a code: the problems come in source
  // order, every other cell is kept, in order.
  Tiled t = JaggedTown(40, 30, 20);
  std::vector<Feature> cells = t.cells;
  for (Feature& f : cells) {
    f.name = f.code;
    f.attributes["branch"] = "B1";
  }
  Pt o = cells[900].shape.parts[0].rings[0][0];
  cells[900].shape.parts[0].rings[0] = {o,
                                        {o.x + 1000000, o.y + 1000000},
                                        {o.x + 1000000, o.y},
                                        {o.x, o.y + 1000000}};
  std::string bow_tie = cells[900].code;
  cells[300].code = "";
  testing::TempDir dir;
  auto written = WriteLayer({.path = dir / "cells.geojson",
                             .format = ExportFormat::kGeoJson,
                             .layer = LayerKind::kCells},
                            cells, {});
  REQUIRE_MESSAGE(written, (written ? "" : written.error().message));
  auto read = ReadLayer({.source = dir / "cells.geojson",
                         .layer = LayerKind::kCells,
                         .check_topology = false});
  REQUIRE_MESSAGE(read, (read ? "" : read.error().message));
  REQUIRE(read->problems.size() == 2);
  CHECK(read->problems[0].kind == "missing_code");
  CHECK(read->problems[0].feature == "#301");
  CHECK(read->problems[1].kind == "invalid_geometry");
  CHECK(read->problems[1].feature == bow_tie);
  REQUIRE(read->features.size() == cells.size() - 2);
  CHECK(read->features[0].code == cells[0].code);
  CHECK(read->features[300].code == cells[301].code);
  CHECK(read->features[899].code == cells[901].code);
  CHECK(read->features.back().code == cells.back().code);
  CHECK(AreaSquareMetres(read->features[5].shape) ==
        doctest::Approx(AreaSquareMetres(cells[5].shape)));
}
