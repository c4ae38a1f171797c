#include "spatial/geometry.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "spatial/layer_reader.h"
#include "spatial/simple_ring.h"

using namespace wangge;
using namespace wangge::spatial;

namespace {

Shape Wkt(const std::string& wkt) {
  auto shape = ParseWkt(wkt);
  REQUIRE_MESSAGE(shape.has_value(), wkt);
  return *shape;
}

Pt P(double lon, double lat) { return *ToFixed({lon, lat}); }

}  // namespace

TEST_CASE("ToFixed: converts decimals exactly and rejects bad coordinates") {
  CHECK(ToFixed({110.236, 34.512})->x == 110236000000);
  CHECK(ToFixed({110.236, 34.512})->y == 34512000000);
  CHECK(ToFixed({-180, -90})->x == -180000000000);
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();
  SUBCASE("NaN longitude") {
    auto r = ToFixed({nan, 34});
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "lon");
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
  }
  SUBCASE("infinite latitude") {
    auto r = ToFixed({110, inf});
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "lat");
  }
  SUBCASE("longitude out of range") {
    auto r = ToFixed({180.5, 34});
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "lon");
    CHECK(r.error().message.find("180.5") != std::string::npos);
  }
  SUBCASE("latitude out of range: lat/lon swapped") {
    auto r = ToFixed({34.5, 110.2});
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "lat");
  }
}

TEST_CASE("Classify: inside, outside, edges and vertices of a ring") {
  Shape square =
      Wkt("POLYGON((110 34,110.01 34,110.01 34.01,110 34.01,110 34))");
  CHECK(Classify(square, P(110.005, 34.005)) == Side::kInside);
  CHECK(Classify(square, P(110.02, 34.005)) == Side::kOutside);
  CHECK(Classify(square, P(109.99, 34.005)) == Side::kOutside);
  CHECK(Classify(square, P(110.005, 34)) == Side::kBoundary);     // bottom
  CHECK(Classify(square, P(110.01, 34.005)) == Side::kBoundary);  // right
  CHECK(Classify(square, P(110, 34.01)) == Side::kBoundary);      // vertex
  CHECK(Classify(square, P(110.02, 34)) ==
        Side::kOutside);  // on the line, off the edge
  SUBCASE("clockwise ring gives the same answers") {
    Shape cw = Wkt("POLYGON((110 34,110 34.01,110.01 34.01,110.01 34,110 34))");
    CHECK(Classify(cw, P(110.005, 34.005)) == Side::kInside);
    CHECK(Classify(cw, P(110.005, 34)) == Side::kBoundary);
    CHECK(Classify(cw, P(110.02, 34.005)) == Side::kOutside);
  }
}

TEST_CASE("Classify: a hole subtracts, its edge is boundary") {
  Shape ring = Wkt("POLYGON((0 0,10 0,10 10,0 10,0 0),(4 4,6 4,6 6,4 6,4 4))");
  CHECK(Classify(ring, P(2, 2)) == Side::kInside);
  CHECK(Classify(ring, P(5, 5)) == Side::kOutside);
  CHECK(Classify(ring, P(4, 5)) == Side::kBoundary);
}

TEST_CASE("Classify: each part of a multipolygon counts") {
  Shape two =
      Wkt("MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)),((5 5,6 5,6 6,5 6,5 5)))");
  CHECK(Classify(two, P(0.5, 0.5)) == Side::kInside);
  CHECK(Classify(two, P(5.5, 5.5)) == Side::kInside);
  CHECK(Classify(two, P(3, 3)) == Side::kOutside);
}

TEST_CASE("CleanShape: repeated vertices and spikes are repaired") {
  SUBCASE("repeated consecutive vertices") {
    auto c = CleanShape(Wkt("POLYGON((0 0,0 0,1 0,1 0,1 0,1 1,0 1,0 0))"));
    REQUIRE(c);
    CHECK(c->shape.parts[0].rings[0].size() == 4);
    CHECK(c->repairs.repeated_vertices == 3);
  }
  SUBCASE("a zero-area spike is removed and stops claiming ground") {
    // Spike from (1, 0.5) out to (3, 0.5) and back along the same line.
    Shape spiky = Wkt("POLYGON((0 0,1 0,1 0.5,3 0.5,1 0.5,1 1,0 1,0 0))");
    CHECK(Classify(spiky, P(2, 0.5)) == Side::kBoundary);  // before repair
    auto c = CleanShape(spiky);
    REQUIRE(c);
    CHECK(c->repairs.spikes == 1);
    CHECK(Classify(c->shape, P(2, 0.5)) == Side::kOutside);
    CHECK(Classify(c->shape, P(0.5, 0.5)) == Side::kInside);
  }
  SUBCASE("a spike at the ring's seam") {
    auto c = CleanShape(Wkt("POLYGON((2 0,0 0,1 0,1 1,0 1,0 0,2 0))"));
    REQUIRE(c);
    CHECK(c->repairs.spikes >= 1);
    CHECK(Classify(c->shape, P(1.5, 0)) == Side::kOutside);
  }
  SUBCASE("a ring touching itself at one point is kept as drawn") {
    // Two squares joined at (1, 1): a pinched ring.
    auto c = CleanShape(Wkt("POLYGON((0 0,1 0,1 1,2 1,2 2,1 2,1 1,0 1,0 0))"));
    REQUIRE(c);
    CHECK(c->repairs.total() == 0);
    CHECK(Classify(c->shape, P(0.5, 0.5)) == Side::kInside);
    CHECK(Classify(c->shape, P(1.5, 1.5)) == Side::kInside);
    CHECK(Classify(c->shape, P(1.5, 0.5)) == Side::kOutside);
    CHECK(Classify(c->shape, P(1, 1)) == Side::kBoundary);
  }
}

TEST_CASE("CleanShape: rings whose edges truly cross are refused") {
  SUBCASE("bow-tie") {
    auto c = CleanShape(Wkt("POLYGON((0 0,2 2,2 0,0 2,0 0))"));
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("self-intersects near") != std::string::npos);
  }
  SUBCASE("an edge passing through a vertex of the ring") {
    // The edge (1,-1)->(1,3) passes through the vertex (1,1) of the ring,
    // whose neighbours (0,0) and (2,0) lie on both sides of it.
    auto c =
        CleanShape(Wkt("POLYGON((0 0,1 1,2 0,3 0,3 3,1 3,1 -1,-1 -1,0 0))"));
    CHECK_FALSE(c);
  }
  SUBCASE("a hole crossing its shell") {
    auto c =
        CleanShape(Wkt("POLYGON((0 0,4 0,4 4,0 4,0 0),(3 1,5 1,5 2,3 2,3 1))"));
    CHECK_FALSE(c);
  }
  SUBCASE("a shell with no area") {
    auto c = CleanShape(Wkt("POLYGON((0 0,1 1,2 2,0 0))"));
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("no area") != std::string::npos);
  }
}

TEST_CASE("IsSimple: edges meet only where consecutive edges share a vertex") {
  auto ring = [](const std::string& wkt) {
    Shape s = Wkt(wkt);
    Ring r = s.parts.at(0).rings.at(0);
    if (r.size() >= 2 && r.front() == r.back()) r.pop_back();
    return r;
  };
  CHECK(IsSimple(ring("POLYGON((0 0,1 0,1 1,0 1,0 0))")));
  CHECK(IsSimple(ring("POLYGON((0 0,1 0,0 1,0 0))")));
  // A straight vertex along an edge is fine; a jagged ring too.
  CHECK(IsSimple(ring("POLYGON((0 0,1 0,2 0,2 1,0 1,0 0))")));
  CHECK(IsSimple(ring("POLYGON((0 0,3 0,3 3,2 1,1 3,0 3,0 0))")));
  // Too few vertices, a repeated vertex, a spike, three on one line.
  CHECK_FALSE(IsSimple(Ring{P(0, 0), P(1, 0)}));
  CHECK_FALSE(IsSimple(Ring{P(0, 0), P(1, 0), P(1, 0), P(0, 1)}));
  CHECK_FALSE(IsSimple(ring("POLYGON((0 0,2 0,1 0,1 1,0 1,0 0))")));
  CHECK_FALSE(IsSimple(ring("POLYGON((0 0,1 0,2 0,0 0))")));
  // Touching itself at a vertex, at an edge, crossing, overlapping.
  CHECK_FALSE(IsSimple(ring("POLYGON((0 0,1 1,2 0,2 2,1 1,0 2,0 0))")));
  CHECK_FALSE(
      IsSimple(ring("POLYGON((0 0,1 0,1 1,0.6 1,0.5 0,0.4 1,0 1,0 0))")));
  CHECK_FALSE(IsSimple(ring("POLYGON((0 0,2 2,2 0,0 2,0 0))")));
  CHECK_FALSE(IsSimple(ring("POLYGON((0 0,3 0,3 1,1 1,1 0,2 0,2 2,0 2,0 0))")));
}

TEST_CASE("MetricScaleAt: a degree in metres at 34.5°N on WGS84") {
  MetricScale s = MetricScaleAt(34.5);
  // Reference values of the WGS84 ellipsoid at 34.5°N.
  CHECK(s.y * kUnitsPerDegree == doctest::Approx(110931.0).epsilon(0.001));
  CHECK(s.x * kUnitsPerDegree == doctest::Approx(91840.0).epsilon(0.001));
}

TEST_CASE("DistanceMetres: metres to the nearest edge, 0 when covered") {
  Shape square =
      Wkt("POLYGON((110 34.5,110.01 34.5,110.01 34.51,110 34.51,110 34.5))");
  MetricScale s = MetricScaleAt(34.505);
  CHECK(DistanceMetres(square, P(110.005, 34.505), s) == 0);
  CHECK(DistanceMetres(square, P(110.02, 34.505), s) ==
        doctest::Approx(0.01 * s.x * kUnitsPerDegree));
  CHECK(DistanceMetres(square, P(110.005, 34.52), s) ==
        doctest::Approx(0.01 * s.y * kUnitsPerDegree));
}
