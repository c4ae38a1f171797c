#include "spatial/geometry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "spatial/simple_ring.h"

namespace wangge::spatial {
namespace {

using Wide = __int128;

bool OnSegment(Pt a, Pt b, Pt p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) &&
         std::min(a.y, b.y) <= p.y && p.y <= std::max(a.y, b.y) &&
         Orient(a, b, p) == 0;
}

std::string Where(Pt p) {
  LonLat ll = ToLonLat(p);
  char buf[64];
  std::snprintf(buf, sizeof buf, "(%.6f, %.6f)", ll.lon, ll.lat);
  return buf;
}

// True if b is the tip of a zero-area spike a -> b -> c: the three are
// collinear and the path turns back at b.
bool IsSpikeTip(Pt a, Pt b, Pt c) {
  Wide dot = Wide(b.x - a.x) * (c.x - b.x) + Wide(b.y - a.y) * (c.y - b.y);
  return dot < 0 && Orient(a, b, c) == 0;
}

// Drops the closing vertex (not counted), then consecutive duplicates and
// zero-area spikes, treating the ring as a cycle. In place: the kept
// vertices are compacted to the front of `ring`.
void CleanRing(Ring& ring, Repairs& repairs) {
  if (ring.size() >= 2 && ring.front() == ring.back()) ring.pop_back();
  size_t kept = 0;  // ring[0, kept) is the cleaned prefix
  for (size_t i = 0; i < ring.size(); ++i) {
    const Pt p = ring[i];
    // Removing a spike tip a -> b -> a leaves a -> a: that duplicate is part
    // of the spike, not counted again.
    bool after_spike = false;
    for (;;) {
      if (kept > 0 && ring[kept - 1] == p) {
        if (!after_spike) ++repairs.repeated_vertices;
        break;
      }
      if (kept >= 2 && IsSpikeTip(ring[kept - 2], ring[kept - 1], p)) {
        --kept;
        ++repairs.spikes;
        after_spike = true;
        continue;
      }
      ring[kept++] = p;
      break;
    }
  }
  ring.resize(kept);
  // Wrap-around: the seam between the last and first vertex.
  bool after_spike = false;
  while (ring.size() >= 3) {
    size_t n = ring.size();
    if (ring.back() == ring.front()) {
      ring.pop_back();
      if (!after_spike) ++repairs.repeated_vertices;
    } else if (IsSpikeTip(ring[n - 2], ring[n - 1], ring[0])) {
      ring.pop_back();
      ++repairs.spikes;
      after_spike = true;
      continue;
    } else if (IsSpikeTip(ring[n - 1], ring[0], ring[1])) {
      ring.erase(ring.begin());
      ++repairs.spikes;
      after_spike = true;
      continue;
    } else {
      break;
    }
    after_spike = false;
  }
}

struct Edge {
  Pt a, b;
  Pt before_a;  // the vertex before a in its ring
  Pt after_b;   // the vertex after b in its ring
};

// True when `p`, strictly inside edge e, is a vertex whose two ring edges
// (prev -> p -> next) pass from one side of e to the other.
bool CrossesAtVertex(const Edge& e, Pt prev, Pt p, Pt next) {
  if (p == e.a || p == e.b || !OnSegment(e.a, e.b, p)) return false;
  return Orient(e.a, e.b, prev) * Orient(e.a, e.b, next) < 0;
}

// Finds a pair of edges that truly cross: a proper crossing, or a vertex of
// one edge lying inside another with the ring passing through to the other
// side. Touching at a point and collinear overlap are not crossings.
std::optional<Pt> FindCrossing(const Polygon& polygon) {
  std::vector<Edge> edges;
  for (const Ring& ring : polygon.rings) {
    size_t n = ring.size();
    for (size_t i = 0; i < n; ++i) {
      edges.push_back({ring[i], ring[(i + 1) % n], ring[(i + n - 1) % n],
                       ring[(i + 2) % n]});
    }
  }
  auto min_x = [](const Edge& e) { return std::min(e.a.x, e.b.x); };
  std::sort(edges.begin(), edges.end(),
            [&](const Edge& l, const Edge& r) { return min_x(l) < min_x(r); });
  std::vector<const Edge*> active;
  for (const Edge& e : edges) {
    int64_t x0 = min_x(e);
    std::erase_if(active,
                  [&](const Edge* o) { return std::max(o->a.x, o->b.x) < x0; });
    int64_t y0 = std::min(e.a.y, e.b.y), y1 = std::max(e.a.y, e.b.y);
    for (const Edge* o : active) {
      if (std::max(o->a.y, o->b.y) < y0 || std::min(o->a.y, o->b.y) > y1) {
        continue;
      }
      int o1 = Orient(e.a, e.b, o->a), o2 = Orient(e.a, e.b, o->b);
      int o3 = Orient(o->a, o->b, e.a), o4 = Orient(o->a, o->b, e.b);
      if (o1 * o2 < 0 && o3 * o4 < 0) {
        // Report roughly where: the midpoint of the shorter edge is enough.
        return Pt{(e.a.x + e.b.x) / 2, (e.a.y + e.b.y) / 2};
      }
      if (CrossesAtVertex(e, o->before_a, o->a, o->b)) return o->a;
      if (CrossesAtVertex(e, o->a, o->b, o->after_b)) return o->b;
      if (CrossesAtVertex(*o, e.before_a, e.a, e.b)) return e.a;
      if (CrossesAtVertex(*o, e.a, e.b, e.after_b)) return e.b;
    }
    active.push_back(&e);
  }
  return std::nullopt;
}

}  // namespace

Result<Pt> ToFixed(LonLat p) {
  if (!std::isfinite(p.lon)) {
    return Fail(ErrorCode::kInvalidArgument, "longitude is not a finite number",
                "lon");
  }
  if (!std::isfinite(p.lat)) {
    return Fail(ErrorCode::kInvalidArgument, "latitude is not a finite number",
                "lat");
  }
  if (p.lon < -180 || p.lon > 180) {
    return Fail(ErrorCode::kInvalidArgument,
                "longitude " + std::to_string(p.lon) +
                    " is outside [-180, 180]; give lon before lat, in degrees",
                "lon");
  }
  if (p.lat < -90 || p.lat > 90) {
    return Fail(ErrorCode::kInvalidArgument,
                "latitude " + std::to_string(p.lat) +
                    " is outside [-90, 90]; give lon before lat, in degrees",
                "lat");
  }
  return Pt{std::llround(p.lon * kUnitsPerDegree),
            std::llround(p.lat * kUnitsPerDegree)};
}

LonLat ToLonLat(Pt p) {
  return {double(p.x) / kUnitsPerDegree, double(p.y) / kUnitsPerDegree};
}

int Orient(Pt a, Pt b, Pt c) {
  Wide det = Wide(b.x - a.x) * (c.y - a.y) - Wide(b.y - a.y) * (c.x - a.x);
  return (det > 0) - (det < 0);
}

Side Classify(const Ring& ring, Pt p) {
  bool inside = false;
  size_t n = ring.size();
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    Pt a = ring[j], b = ring[i];
    // Edges entirely above, below, or to one side cannot matter.
    if ((a.y > p.y) != (b.y > p.y)) {
      int o = Orient(a, b, p);
      if (o == 0) return Side::kBoundary;
      // Upward edge with p on its left, or downward with p on its right:
      // the edge crosses the ray from p towards +x.
      if ((o > 0) == (b.y > a.y)) inside = !inside;
    } else if (a.y == p.y && b.y == p.y) {
      if (std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x)) {
        return Side::kBoundary;
      }
    } else if (p == a || p == b) {
      return Side::kBoundary;
    }
  }
  return inside ? Side::kInside : Side::kOutside;
}

Side Classify(const Polygon& polygon, Pt p) {
  if (polygon.rings.empty()) return Side::kOutside;
  Side shell = Classify(polygon.rings[0], p);
  if (shell != Side::kInside) return shell;
  for (size_t i = 1; i < polygon.rings.size(); ++i) {
    Side hole = Classify(polygon.rings[i], p);
    if (hole == Side::kBoundary) return Side::kBoundary;
    if (hole == Side::kInside) return Side::kOutside;
  }
  return Side::kInside;
}

Side Classify(const Shape& shape, Pt p) {
  Side best = Side::kOutside;
  for (const Polygon& part : shape.parts) {
    Side s = Classify(part, p);
    if (s == Side::kInside) return s;
    if (s == Side::kBoundary) best = s;
  }
  return best;
}

Box BoundsOf(const Shape& shape) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Box box{{kMax, kMax}, {-kMax, -kMax}};
  for (const Polygon& part : shape.parts) {
    if (part.rings.empty()) continue;
    for (const Pt& p : part.rings[0]) {
      box.min.x = std::min(box.min.x, p.x);
      box.min.y = std::min(box.min.y, p.y);
      box.max.x = std::max(box.max.x, p.x);
      box.max.y = std::max(box.max.y, p.y);
    }
  }
  return box;
}

double SignedArea(const Ring& ring) {
  Wide twice = 0;
  size_t n = ring.size();
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    twice += Wide(ring[j].x) * ring[i].y - Wide(ring[i].x) * ring[j].y;
  }
  return double(twice) / 2;
}

namespace {

// An edge's box, for IsSimple's sweep.
struct Span {
  int64_t x0, x1, y0, y1;
  size_t edge;  // from ring[edge] to ring[edge + 1]
};

}  // namespace

bool IsSimple(const Ring& ring) {
  const size_t n = ring.size();
  if (n < 3) return false;
  for (size_t i = 0; i < n; ++i) {
    if (ring[i] == ring[(i + 1) % n]) return false;
  }
  // Sweep the edges' boxes in x; every pair whose boxes meet is tested.
  // Scratch space is kept per thread: an import tests every cell.
  thread_local std::vector<Span> spans;
  thread_local std::vector<const Span*> active;
  spans.resize(n);
  active.clear();
  for (size_t i = 0; i < n; ++i) {
    Pt a = ring[i], b = ring[(i + 1) % n];
    spans[i] = {std::min(a.x, b.x), std::max(a.x, b.x), std::min(a.y, b.y),
                std::max(a.y, b.y), i};
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& l, const Span& r) { return l.x0 < r.x0; });
  // Consecutive edges a -> b -> c meet only at b unless c folds back.
  auto folds = [](Pt a, Pt b, Pt c) {
    Wide dot = Wide(b.x - a.x) * (c.x - b.x) + Wide(b.y - a.y) * (c.y - b.y);
    return dot < 0 && Orient(a, b, c) == 0;
  };
  auto in_box = [](Pt a, Pt b, Pt p) {
    return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) &&
           std::min(a.y, b.y) <= p.y && p.y <= std::max(a.y, b.y);
  };
  for (const Span& e : spans) {
    std::erase_if(active, [&](const Span* o) { return o->x1 < e.x0; });
    for (const Span* o : active) {
      if (o->y1 < e.y0 || o->y0 > e.y1) continue;
      size_t i = e.edge, j = o->edge;
      Pt a = ring[i], b = ring[(i + 1) % n];
      Pt c = ring[j], d = ring[(j + 1) % n];
      if ((i + 1) % n == j) {
        if (folds(a, b, d)) return false;
        continue;
      }
      if ((j + 1) % n == i) {
        if (folds(c, d, b)) return false;
        continue;
      }
      int o1 = Orient(a, b, c), o2 = Orient(a, b, d);
      int o3 = Orient(c, d, a), o4 = Orient(c, d, b);
      if (o1 * o2 < 0 && o3 * o4 < 0) return false;
      if ((o1 == 0 && in_box(a, b, c)) || (o2 == 0 && in_box(a, b, d)) ||
          (o3 == 0 && in_box(c, d, a)) || (o4 == 0 && in_box(c, d, b))) {
        return false;
      }
    }
    active.push_back(&e);
  }
  return true;
}

MetricScale MetricScaleAt(double lat_deg) {
  constexpr double kA = 6378137.0;          // WGS84 semi-major axis, m
  constexpr double kE2 = 6.69437999014e-3;  // first eccentricity squared
  constexpr double kRadPerUnit = M_PI / 180.0 / kUnitsPerDegree;
  double phi = lat_deg * M_PI / 180.0;
  double w = std::sqrt(1 - kE2 * std::sin(phi) * std::sin(phi));
  double prime_vertical = kA / w;                    // N
  double meridional = kA * (1 - kE2) / (w * w * w);  // M
  return {prime_vertical * std::cos(phi) * kRadPerUnit,
          meridional * kRadPerUnit};
}

double DistanceMetres(const Shape& shape, Pt p, MetricScale scale) {
  if (Classify(shape, p) != Side::kOutside) return 0;
  double best = std::numeric_limits<double>::infinity();
  for (const Polygon& part : shape.parts) {
    for (const Ring& ring : part.rings) {
      size_t n = ring.size();
      for (size_t i = 0, j = n - 1; i < n; j = i++) {
        // Local metric frame centred on p.
        double ax = double(ring[j].x - p.x) * scale.x;
        double ay = double(ring[j].y - p.y) * scale.y;
        double bx = double(ring[i].x - p.x) * scale.x;
        double by = double(ring[i].y - p.y) * scale.y;
        double dx = bx - ax, dy = by - ay;
        double len2 = dx * dx + dy * dy;
        double t =
            len2 > 0 ? std::clamp(-(ax * dx + ay * dy) / len2, 0.0, 1.0) : 0.0;
        double cx = ax + t * dx, cy = ay + t * dy;
        best = std::min(best, cx * cx + cy * cy);
      }
    }
  }
  return std::sqrt(best);
}

Result<Cleaned> CleanShape(Shape shape) {
  bool one_simple_ring = false;
  return CleanShape(std::move(shape), one_simple_ring);
}

Result<Cleaned> CleanShape(Shape shape, bool& one_simple_ring) {
  one_simple_ring = false;
  Cleaned out;
  size_t simple_parts = 0;
  for (size_t k = 0; k < shape.parts.size(); ++k) {
    Polygon& part = shape.parts[k];
    if (part.rings.empty()) continue;
    for (Ring& ring : part.rings) CleanRing(ring, out.repairs);
    // A simple ring crosses nothing and has an area: nothing below can
    // fail or change for it, and it is swept once instead of twice.
    if (part.rings.size() == 1 && IsSimple(part.rings[0])) {
      ++simple_parts;
      out.shape.parts.push_back(std::move(part));
      continue;
    }
    // Crossings first: a symmetric bow-tie also has zero net area.
    if (auto where = FindCrossing(part)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "ring self-intersects near " + Where(*where) +
                      " (edges cross like a bow-tie). Fix it in QGIS (Check "
                      "Validity) and load again");
    }
    std::vector<Ring> kept;
    for (size_t r = 0; r < part.rings.size(); ++r) {
      Ring& ring = part.rings[r];
      bool degenerate = ring.size() < 3 || SignedArea(ring) == 0;
      if (degenerate && r == 0) {
        return Fail(ErrorCode::kInvalidArgument,
                    "polygon " + std::to_string(k + 1) +
                        " has an outer ring with no area (fewer than 3 "
                        "distinct vertices or all on one line)");
      }
      if (degenerate) {
        ++out.repairs.degenerate_holes;
        continue;
      }
      kept.push_back(std::move(ring));
    }
    part.rings = std::move(kept);
    out.shape.parts.push_back(std::move(part));
  }
  if (out.shape.parts.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "geometry is empty");
  }
  one_simple_ring = out.shape.parts.size() == 1 && simple_parts == 1;
  return out;
}

}  // namespace wangge::spatial
