#pragma once
// Simple rings: the exact test behind NormalizeShape's fast path, and the
// path without it, which tests compare NormalizeShape against.
//
// Nearly every surveyed cell is one ring that touches itself nowhere. Such a
// ring needs no split at self-touches, and Boost.Geometry's is_valid is
// bound to accept it (spatial/topology.cpp says why), so NormalizeShape
// accepts it as it is. Pure; safe from many threads.
//
//   if (IsSimple(shape.parts[0].rings[0])) ...  // no touch, no crossing
//
//   bool simple = false;
//   auto cleaned = CleanShape(std::move(shape), simple);
//   auto normal = NormalizeShape(std::move(cleaned->shape), simple);

#include "base/result.h"
#include "spatial/geometry.h"
#include "spatial/topology.h"

namespace wangge::spatial {

// True when `ring` is simple: at least 3 vertices, and its edges meet only
// where consecutive edges share their vertex (no repeated vertex, no vertex
// on another edge, no crossing, no edge folding back along the one before).
// A simple ring has non-zero area. Exact; O(n log n) for the usual ring.
bool IsSimple(const Ring& ring);

// CleanShape that also sets `one_simple_ring` when its result is one
// polygon of one ring that IsSimple. Such a ring is swept once, by IsSimple,
// instead of by the crossing search too: a simple ring crosses nothing and
// has an area. The same result as CleanShape(shape).
Result<Cleaned> CleanShape(Shape shape, bool& one_simple_ring);

// NormalizeShape of CleanShape's output; with `one_simple_ring` as CleanShape
// set it, the ring is not tested again. The same result as
// NormalizeShape(shape).
Result<Normalized> NormalizeShape(Shape shape, bool one_simple_ring);

// NormalizeShape without its fast path for a polygon that is one simple
// ring: every shape goes through the split and Boost's is_valid. The two
// give the same result for every shape.
Result<Normalized> NormalizeShapeWithBoost(Shape shape);

}  // namespace wangge::spatial
