#include "core/sample_town.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

#include "spatial/layer_reader.h"
#include "tests/core/town_fixture.h"

using namespace wangge;
using namespace wangge::spatial;
using namespace wangge::testing;

namespace {

double AreaM2(const Shape& s) {
  Box b = BoundsOf(s);
  MetricScale m =
      MetricScaleAt(ToLonLat(b.min).lat / 2 + ToLonLat(b.max).lat / 2);
  double area = 0;
  for (const Polygon& p : s.parts) {
    for (size_t r = 0; r < p.rings.size(); ++r) {
      double a = std::abs(SignedArea(p.rings[r]));
      area += r == 0 ? a : -a;
    }
  }
  return area * m.x * m.y;
}

}  // namespace

TEST_CASE("Sample town: the counts of 太要镇") {
  const SampleTown& t = Town();
  CHECK(t.layers.villages.size() == 4);
  CHECK(t.layers.cells.size() == 225);
  CHECK(t.layers.zones.size() == 36);
  CHECK(t.config.branches.size() == 18);
  std::set<std::string> leaders;
  for (const auto& [code, cell] : t.config.cells) leaders.insert(cell.leader);
  CHECK(leaders.size() == 225);
  auto files = core::GenerateSampleTown(core::kSampleSeed);
  auto count = [&](const std::string& file) {
    const std::string& text = files.at(file);
    int n = 0;
    for (size_t at = 0;
         (at = text.find("\"type\":\"Point\"", at)) != std::string::npos;
         ++at) {
      ++n;
    }
    return n;
  };
  CHECK(count("households.geojson") == 176);
  CHECK(count("shopfronts.geojson") >= 200);
}

TEST_CASE("Sample town: cells tile each village exactly") {
  const SampleTown& t = Town();
  std::map<std::string, double> cell_area;
  for (const Feature& c : t.layers.cells) {
    cell_area[c.Attribute("village")] += AreaM2(c.shape);
    // Every vertex of a cell is covered by its own village.
    const Feature* village = nullptr;
    for (const Feature& v : t.layers.villages) {
      if (v.code == c.Attribute("village")) village = &v;
    }
    REQUIRE(village);
    for (const Pt& p : c.shape.parts[0].rings[0]) {
      REQUIRE(Classify(village->shape, p) != Side::kOutside);
    }
  }
  double town_area = 0;
  for (const Feature& v : t.layers.villages) {
    CAPTURE(v.code);
    double area = AreaM2(v.shape);
    town_area += area;
    CHECK(cell_area[v.code] == doctest::Approx(area).epsilon(1e-4));
  }
  // About 100 km².
  CHECK(town_area > 80e6);
  CHECK(town_area < 120e6);
  // No overlaps: random points strictly inside the town lie strictly inside
  // exactly one cell, or on a boundary.
  std::mt19937_64 rng(3);
  Box b = BoundsOf(t.layers.villages[0].shape);
  for (const Feature& v : t.layers.villages) {
    Box vb = BoundsOf(v.shape);
    b.min.x = std::min(b.min.x, vb.min.x);
    b.min.y = std::min(b.min.y, vb.min.y);
    b.max.x = std::max(b.max.x, vb.max.x);
    b.max.y = std::max(b.max.y, vb.max.y);
  }
  std::uniform_int_distribution<int64_t> ux(b.min.x, b.max.x),
      uy(b.min.y, b.max.y);
  for (int i = 0; i < 5000; ++i) {
    Pt p{ux(rng), uy(rng)};
    int inside = 0, boundary = 0, villages = 0;
    for (const Feature& c : t.layers.cells) {
      Side side = Classify(c.shape, p);
      inside += side == Side::kInside;
      boundary += side == Side::kBoundary;
    }
    for (const Feature& v : t.layers.villages) {
      villages += Classify(v.shape, p) == Side::kInside;
    }
    REQUIRE(inside <= 1);
    REQUIRE(villages <= 1);
    if (villages == 1) REQUIRE((inside == 1 || boundary > 0));
    if (villages == 0) REQUIRE(inside == 0);
  }
}

TEST_CASE("Sample town: codes are unique and well formed, numbered in order") {
  const SampleTown& t = Town();
  std::map<std::string, int> per_village;
  std::set<std::string> codes;
  for (const Feature& c : t.layers.cells) {
    CAPTURE(c.code);
    CHECK(codes.insert(c.code).second);
    REQUIRE(c.code.size() == 15);
    CHECK(c.code.find_first_not_of("0123456789") == std::string::npos);
    CHECK(c.code.substr(0, 12) == c.Attribute("village"));
    int sequence = std::stoi(c.code.substr(12));
    CHECK(sequence == ++per_village[c.Attribute("village")]);
    CHECK(t.config.branches.count(c.Attribute("branch")));
    CHECK(t.config.people.count(c.Attribute("leader")));
    CHECK(t.config.people.count(c.Attribute("member")));
  }
  // West→east within a row, north→south by rows: a cell's successor in the
  // same village is east of it or (a new row) south of it.
  for (size_t i = 1; i < t.layers.cells.size(); ++i) {
    const Feature& a = t.layers.cells[i - 1];
    const Feature& b = t.layers.cells[i];
    if (a.Attribute("village") != b.Attribute("village")) continue;
    LonLat pa = InsidePoint(a), pb = InsidePoint(b);
    CHECK((pb.lon > pa.lon || pb.lat < pa.lat));
  }
}

TEST_CASE("Sample town: inside the west of 潼关县") {
  auto county = ReadPolygonLayer(
      std::string(WANGGE_DATA_DIR) + "/reference/tongguan-county.geojson", {});
  REQUIRE(county);
  const Shape& outline = county->features.at(0).shape;
  Box cb = BoundsOf(outline);
  int64_t middle = (cb.min.x + cb.max.x) / 2;
  __int128 sum_x = 0;
  int64_t n = 0;
  for (const Feature& v : Town().layers.villages) {
    for (const Pt& p : v.shape.parts[0].rings[0]) {
      REQUIRE(Classify(outline, p) == Side::kInside);
      sum_x += p.x;
      ++n;
    }
  }
  CHECK(int64_t(sum_x / n) < middle);  // in the west part
}

TEST_CASE("Sample town: every file says it is synthetic") {
  for (const auto& [file, text] : core::GenerateSampleTown(core::kSampleSeed)) {
    CAPTURE(file);
    if (file == "calendar.csv" || file == "offices.json" ||
        file == "categories.json" || file == "routing.json") {
      continue;  // real or configuration, nothing synthetic about them
    }
    bool says = text.find("synthetic") != std::string::npos ||
                text.find("Synthetic") != std::string::npos ||
                text.find("示例") != std::string::npos;
    CHECK(says);
  }
}
