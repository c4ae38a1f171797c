#include "spatial/feature_table.h"

#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <random>

#include "spatial/jagged_grid.h"
#include "spatial/shape_codec.h"

using namespace wangge;
using namespace wangge::spatial;

namespace {

void CheckSame(const Feature& a, const Feature& b) {
  CHECK(a.code == b.code);
  CHECK(a.name == b.name);
  CHECK(a.attributes == b.attributes);
  REQUIRE(a.shape.parts.size() == b.shape.parts.size());
  for (size_t k = 0; k < a.shape.parts.size(); ++k) {
    REQUIRE(a.shape.parts[k].rings.size() == b.shape.parts[k].rings.size());
    for (size_t r = 0; r < a.shape.parts[k].rings.size(); ++r) {
      CHECK(a.shape.parts[k].rings[r] == b.shape.parts[k].rings[r]);
    }
  }
}

// A shape with far-apart vertices, negative coordinates and the int64
// extremes (their differences wrap).
Shape Awkward() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Shape s;
  s.parts.push_back({{{{0, 0}, {kMax, 1}, {kMin, kMax}},
                      {{-5, -7}, {-5, 9}, {3, 3}, {63, 64}}}});
  s.parts.push_back({{{{110236000000, 34512000000},
                       {110236000001, 34512000000},
                       {110236000001, 34512000129}}}});
  return s;
}

}  // namespace

TEST_CASE("VarintSize: the bytes PutVarint writes, at every length") {
  char buf[16];
  std::vector<uint64_t> values{0, 1, UINT64_MAX, uint64_t(1) << 63};
  for (int bits = 7; bits < 64; bits += 7) {
    values.push_back((uint64_t(1) << bits) - 1);
    values.push_back(uint64_t(1) << bits);
  }
  for (uint64_t v : values) {
    CAPTURE(v);
    CHECK(VarintSize(v) == size_t(PutVarint(buf, v) - buf));
  }
}

TEST_CASE("PackShape: shapes round-trip exactly, wrapping differences too") {
  Shape s = Awkward();
  std::string bytes;
  AppendPackedShape(s, bytes);
  CHECK(bytes.size() == PackedShapeSize(s));
  Shape back;
  REQUIRE(UnpackShape(bytes, back));
  CheckSame(Feature{.shape = back}, Feature{.shape = s});
  // Reuses a shape that held more.
  Shape small;
  small.parts.push_back({{{{1, 2}, {3, 4}, {5, 7}}}});
  std::string small_bytes;
  AppendPackedShape(small, small_bytes);
  REQUIRE(UnpackShape(small_bytes, back));
  CheckSame(Feature{.shape = back}, Feature{.shape = small});
}

TEST_CASE("PackShape: damaged bytes are refused, never over-allocated") {
  Shape s = Awkward();
  std::string bytes;
  AppendPackedShape(s, bytes);
  Shape back;
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(UnpackShape(std::string_view(bytes).substr(0, n), back));
  }
  // A count far beyond the bytes: one part claiming 2^40 rings.
  std::string huge = "\x01\x80\x80\x80\x80\x80\x20";
  CHECK_FALSE(UnpackShape(huge, back));
}

TEST_CASE("FeatureTable: every feature comes back whole, in order") {
  std::vector<Feature> features;
  features.push_back({.code = "610522102002000001",
                      .name = "太要社区居委会第1网格",
                      .attributes = {{"branch", "610522102002-02"},
                                     {"name", "太要社区居委会第1网格"},
                                     {"village", "610522102002"}},
                      .shape = Awkward()});
  features.push_back({.code = "B", .name = "", .attributes = {}});
  features[1].shape.parts.push_back({{{{10, 10}, {20, 10}, {20, 20}}}});
  features.push_back({.code = "C",
                      .name = "n",
                      .attributes = {{"leader", "P7"}, {"zzz", ""}},
                      .shape = {}});
  features[2].shape.parts.push_back({{{{0, 0}, {100, 0}, {100, 100}, {0, 100}},
                                      {{10, 10}, {10, 20}, {20, 20}}}});
  std::vector<Feature> copy = features;
  FeatureTable t = FeatureTable::Pack(std::move(features));
  REQUIRE(t.size() == 3);
  for (size_t i = 0; i < copy.size(); ++i) {
    CAPTURE(i);
    CheckSame(t.feature(i), copy[i]);
    CHECK(t.code(i) == copy[i].code);
    CHECK(t.name(i) == copy[i].name);
    Box want = BoundsOf(copy[i].shape);
    CHECK(t.bounds(i).min == want.min);
    CHECK(t.bounds(i).max == want.max);
    for (const auto& [key, value] : copy[i].attributes) {
      CHECK(t.Attribute(i, key) == value);
    }
    CHECK(t.Attribute(i, "missing") == "");
  }
  CHECK(t.Attribute(1, "village") == "");  // a key of another feature
  CHECK(t.Attribute(2, "leader") == "P7");
  CHECK(t.Bytes() > 0);

  FeatureTable empty = FeatureTable::Pack({});
  CHECK(empty.size() == 0);
  CHECK(empty.empty());
}

TEST_CASE("FeatureTable: a large layer packs in threads to the same table") {
  // Enough features for the threaded path; every one must come back.
  JaggedGrid grid({.origin = {110200000000, 34550000000},
                   .cols = 200,
                   .rows = 120,
                   .cell_width = 3000000,
                   .cell_height = 2500000,
                   .seed = 7});
  std::vector<Feature> features;
  for (int row = 0; row < 120; ++row) {
    for (int col = 0; col < 200; ++col) {
      Feature f{.code = "C" + std::to_string(row * 200 + col),
                .name = "cell " + std::to_string(col),
                .attributes = {{"village", "V" + std::to_string(row % 3)}}};
      f.shape.parts.push_back({{grid.CellRing(col, row)}});
      features.push_back(std::move(f));
    }
  }
  std::vector<Feature> copy = features;
  std::vector<Box> shells;
  for (const Feature& f : features) shells.push_back(BoundsOf(f.shape));
  // Boxes the caller already has are taken as they are.
  std::vector<Feature> again = features;
  FeatureTable t = FeatureTable::Pack(std::move(features));
  std::vector<Box> given = shells;
  given[5].max.x += 1;
  // So are the packed shapes' sizes.
  std::vector<size_t> sizes;
  for (const Feature& f : again) sizes.push_back(PackedShapeSize(f.shape));
  FeatureTable u = FeatureTable::Pack(std::move(again), given, sizes);
  REQUIRE(t.size() == copy.size());
  REQUIRE(u.size() == copy.size());
  CHECK(u.bounds(5).max.x == t.bounds(5).max.x + 1);
  size_t vertices = 0;
  for (size_t i = 0; i < copy.size(); ++i) {
    Feature f = t.feature(i);
    if (f.code != copy[i].code || f.attributes != copy[i].attributes ||
        f.shape.parts[0].rings[0] != copy[i].shape.parts[0].rings[0]) {
      FAIL("feature " << i << " differs");
    }
    if (t.bounds(i).min != shells[i].min || t.bounds(i).max != shells[i].max ||
        u.code(i) != t.code(i) ||
        u.shape(i).parts[0].rings[0] != f.shape.parts[0].rings[0]) {
      FAIL("feature " << i << ": another box or shape");
    }
    vertices += copy[i].shape.parts[0].rings[0].size();
  }
  // Packed: well under the 16 bytes a vertex of the unpacked points.
  CHECK(double(t.Bytes()) / double(vertices) < 10.0);
}

TEST_CASE("ScanPackedShape: the bytes and shell bounds, damage refused") {
  Shape s = Awkward();
  std::string bytes;
  AppendPackedShape(s, bytes);
  Box bounds;
  CHECK(ScanPackedShape(bytes, bounds) == bytes.size());
  Box want = BoundsOf(s);
  CHECK(bounds.min == want.min);
  CHECK(bounds.max == want.max);
  // Bytes after the shape are not its own.
  CHECK(ScanPackedShape(bytes + "\x05\x07", bounds) == bytes.size());
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK(ScanPackedShape(std::string_view(bytes).substr(0, n), bounds) == 0);
  }
  CHECK(ScanPackedShape("\x01\x80\x80\x80\x80\x80\x20", bounds) == 0);
}

TEST_CASE("FeatureTable::Builder: joined parts make the table Pack makes") {
  std::vector<Feature> features;
  auto add = [&](std::string code, std::map<std::string, std::string> attrs) {
    Feature f{.code = code, .name = "名" + code, .attributes = attrs};
    int64_t x = int64_t(features.size()) * 1000;
    f.shape.parts.push_back({{{{x, 0}, {x + 900, 0}, {x + 900, 900 + x}}}});
    features.push_back(std::move(f));
  };
  add("A", {{"branch", "b1"}, {"village", "v1"}});
  add("B", {{"village", "v2"}});
  // The second part meets its keys in another order: renumbered.
  add("C", {{"leader", "P7"}, {"zzz", ""}});
  add("D", {{"branch", "b2"}, {"village", "v3"}});
  // The third uses the first part's keys in its order.
  add("E", {{"branch", "b3"}});
  add("F", {});
  std::vector<size_t> ends{2, 4, 4, 6};  // one part empty
  std::vector<FeatureTable::Builder> parts(ends.size());
  size_t i = 0;
  for (size_t part = 0; part < ends.size(); ++part) {
    for (; i < ends[part]; ++i) {
      std::string packed;
      AppendPackedShape(features[i].shape, packed);
      std::vector<std::pair<std::string, std::string>> attrs(
          features[i].attributes.begin(), features[i].attributes.end());
      Box bounds;
      size_t size = ScanPackedShape(packed, bounds);
      parts[part].Add(features[i].code, features[i].name, attrs,
                      packed + "junk", size, bounds);
    }
  }
  FeatureTable joined = FeatureTable::Join(std::move(parts));
  FeatureTable packed = FeatureTable::Pack(features);
  REQUIRE(joined.size() == features.size());
  for (size_t k = 0; k < features.size(); ++k) {
    CAPTURE(k);
    CheckSame(joined.feature(k), features[k]);
    CHECK(joined.bounds(k).min == packed.bounds(k).min);
    CHECK(joined.bounds(k).max == packed.bounds(k).max);
    CHECK(joined.Attribute(k, "village") == packed.Attribute(k, "village"));
    CHECK(joined.Attribute(k, "leader") == packed.Attribute(k, "leader"));
  }
  CHECK(FeatureTable::Join({}).empty());
}
