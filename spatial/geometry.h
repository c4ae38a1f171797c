#pragma once
// Exact planar geometry on fixed-point WGS84 coordinates.
//
// Every coordinate is stored as an integer number of nanodegrees (1e-9
// degree, about 0.1 mm on the ground), x = longitude, y = latitude. Decimal
// input with up to 9 decimals converts exactly (110.236 -> 110236000000), and
// all predicates below are exact (128-bit products), so two cells sharing an
// edge always agree on which side of it a point lies. A point is first
// snapped to the nearest nanodegree; that is the only rounding anywhere.
//
// Rings are stored open (the closing vertex is not repeated) and may run in
// either direction. A Polygon is a shell followed by zero or more holes; a
// Shape is one or more polygons (a MultiPolygon). All functions here are pure
// and safe from many threads.
//
//   Pt p = *ToFixed({110.236, 34.512});
//   if (Classify(shape, p) != Side::kOutside) ...  // covered, edge included

#include <cstdint>
#include <string>
#include <vector>

#include "base/lon_lat.h"
#include "base/result.h"

namespace wangge::spatial {

inline constexpr double kUnitsPerDegree = 1e9;

struct Pt {
  int64_t x = 0;
  int64_t y = 0;
  friend bool operator==(const Pt&, const Pt&) = default;
};

using Ring = std::vector<Pt>;

struct Polygon {
  std::vector<Ring> rings;  // rings[0] is the shell, the rest are holes
};

struct Shape {
  std::vector<Polygon> parts;
};

// Asks for every cache line of `n` vertices from `v` ahead of a pass over
// them, or of the shape's: each ring is an allocation of its own, so the
// hardware's prefetcher starts afresh, and waits, at every ring.
inline void PrefetchVertices(const Pt* v, size_t n) {
  const char* p = reinterpret_cast<const char*>(v);
  const char* end = p + n * sizeof(Pt);
  for (; p < end; p += 64) __builtin_prefetch(p);
}
inline void PrefetchVertices(const Shape& shape) {
  for (const Polygon& part : shape.parts) {
    for (const Ring& ring : part.rings) {
      PrefetchVertices(ring.data(), ring.size());
    }
  }
}

struct Box {
  Pt min;
  Pt max;
};

enum class Side { kOutside = 0, kBoundary = 1, kInside = 2 };

// Converts degrees to fixed point. Fails with kInvalidArgument naming the bad
// value when it is NaN, infinite, or outside [-180, 180] / [-90, 90].
Result<Pt> ToFixed(LonLat p);
LonLat ToLonLat(Pt p);

// Sign of the cross product (b - a) x (c - a): +1 if c lies left of the
// directed line a->b, -1 if right, 0 if collinear. Exact.
int Orient(Pt a, Pt b, Pt c);

// Where `p` lies relative to a ring, polygon (holes subtract) or shape.
// kBoundary when `p` is exactly on an edge or vertex.
Side Classify(const Ring& ring, Pt p);
Side Classify(const Polygon& polygon, Pt p);
Side Classify(const Shape& shape, Pt p);

Box BoundsOf(const Shape& shape);

// Planar area in square nanodegrees of a ring, positive if counter-clockwise.
double SignedArea(const Ring& ring);

// Metres per nanodegree of longitude and of latitude at latitude `lat_deg`
// on the WGS84 ellipsoid; good for distances up to tens of kilometres.
struct MetricScale {
  double x = 0;
  double y = 0;
};
MetricScale MetricScaleAt(double lat_deg);

// Distance in metres from `p` to the nearest edge of `shape` (0 if covered).
double DistanceMetres(const Shape& shape, Pt p, MetricScale scale);

// What CleanShape repaired, for import reports.
struct Repairs {
  int repeated_vertices = 0;  // consecutive duplicates and closing vertices
  int spikes = 0;             // zero-area spikes (a -> b -> a)
  int degenerate_holes = 0;   // holes with no area, dropped
  int total() const { return repeated_vertices + spikes + degenerate_holes; }
};

struct Cleaned {
  Shape shape;
  Repairs repairs;
};

// Repairs benign defects without moving any boundary: drops repeated
// consecutive vertices and zero-area spikes, and holes that collapse to
// nothing. Rings touching themselves at a point and either orientation are
// kept as they are (Classify handles them). Fails with kInvalidArgument when
// a shell has no area, or when edges of a polygon truly cross (a bow-tie),
// giving the place in the message.
Result<Cleaned> CleanShape(Shape shape);

}  // namespace wangge::spatial
