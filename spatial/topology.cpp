#include "spatial/topology.h"

// g++ 12 reports a false -Wmaybe-uninitialized inside Boost.Geometry's
// envelope of a multipolygon (used by union_ and difference); off for this
// file, since the warning is emitted from inlined Boost code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <boost/geometry.hpp>
#include <boost/geometry/algorithms/point_on_surface.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "spatial/simple_ring.h"

namespace wangge::spatial {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

// Boost works on offsets from an origin, in nanodegrees, as doubles: exact
// for any extent below 2^53 nanodegrees, and the vertices of touching
// shapes stay identical.
using BPoint = bg::model::d2::point_xy<double>;
using BPolygon = bg::model::polygon<BPoint>;  // clockwise, closed
using BMulti = bg::model::multi_polygon<BPolygon>;
using BBox = bg::model::box<BPoint>;

struct Frame {
  int64_t x0 = 0;
  int64_t y0 = 0;
};

BPoint ToB(Pt p, Frame f) { return {double(p.x - f.x0), double(p.y - f.y0)}; }

Pt FromB(const BPoint& b, Frame f) {
  return {std::llround(b.x()) + f.x0, std::llround(b.y()) + f.y0};
}

LonLat ToDegrees(const BPoint& b, Frame f) {
  return {(b.x() + double(f.x0)) / kUnitsPerDegree,
          (b.y() + double(f.y0)) / kUnitsPerDegree};
}

std::string Where(LonLat p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "(%.6f, %.6f)", p.lon, p.lat);
  return buf;
}

std::string Metres2(double m2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f m²", m2);
  return buf;
}

void AppendRing(const Ring& ring, Frame f, BPolygon::ring_type& out) {
  for (const Pt& p : ring) out.push_back(ToB(p, f));
  if (!ring.empty()) out.push_back(ToB(ring.front(), f));
}

BPolygon ToB(const Polygon& polygon, Frame f) {
  BPolygon out;
  if (polygon.rings.empty()) return out;
  AppendRing(polygon.rings[0], f, out.outer());
  for (size_t i = 1; i < polygon.rings.size(); ++i) {
    out.inners().emplace_back();
    AppendRing(polygon.rings[i], f, out.inners().back());
  }
  bg::correct(out);
  return out;
}

BMulti ToB(const Shape& shape, Frame f) {
  BMulti out;
  for (const Polygon& part : shape.parts) out.push_back(ToB(part, f));
  return out;
}

Ring FromB(const BPolygon::ring_type& ring, Frame f) {
  Ring out;
  for (const BPoint& p : ring) out.push_back(FromB(p, f));
  if (out.size() >= 2 && out.front() == out.back()) out.pop_back();
  return out;
}

Shape FromB(const BMulti& multi, Frame f) {
  Shape out;
  for (const BPolygon& polygon : multi) {
    Polygon part;
    part.rings.push_back(FromB(polygon.outer(), f));
    for (const auto& inner : polygon.inners()) {
      part.rings.push_back(FromB(inner, f));
    }
    out.parts.push_back(std::move(part));
  }
  return out;
}

// The bounding box of the outer rings (Boost's own envelope of a
// multipolygon trips a false -Wmaybe-uninitialized in g++ 12).
BBox Envelope(const BMulti& multi) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x0 = kInf, y0 = kInf, x1 = -kInf, y1 = -kInf;
  for (const BPolygon& polygon : multi) {
    for (const BPoint& p : polygon.outer()) {
      x0 = std::min(x0, p.x());
      y0 = std::min(y0, p.y());
      x1 = std::max(x1, p.x());
      y1 = std::max(y1, p.y());
    }
  }
  if (x0 > x1) return BBox(BPoint(0, 0), BPoint(0, 0));
  return BBox(BPoint(x0, y0), BPoint(x1, y1));
}

Frame FrameOf(const Shape& shape) {
  for (const Polygon& part : shape.parts) {
    if (!part.rings.empty() && !part.rings[0].empty()) {
      return {part.rings[0][0].x, part.rings[0][0].y};
    }
  }
  return {};
}

Frame FrameOf(const std::vector<const Feature*>& features) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Frame f{kMax, kMax};
  for (const Feature* feature : features) {
    Box b = BoundsOf(feature->shape);
    f.x0 = std::min(f.x0, b.min.x);
    f.y0 = std::min(f.y0, b.min.y);
  }
  if (f.x0 == kMax) return {};
  return f;
}

// Metric measures of a piece, in its own latitude's local frame.
struct Measure {
  double area_m2 = 0;
  double width_m = 0;  // 2 * area / perimeter
  LonLat where;
};

// Without `width`, width_m is left 0 (no perimeter is measured).
template <class G>
Measure MeasureOf(const G& piece, Frame f, bool width = true) {
  Measure m;
  BPoint inside;
  try {
    bg::point_on_surface(piece, inside);
  } catch (const std::exception&) {
    bg::centroid(piece, inside);
  }
  m.where = ToDegrees(inside, f);
  MetricScale s = MetricScaleAt(m.where.lat);
  m.area_m2 = std::abs(bg::area(piece)) * s.x * s.y;
  if (!width) return m;
  double perimeter = 0;
  auto add_ring = [&](const BPolygon::ring_type& ring) {
    for (size_t i = 1; i < ring.size(); ++i) {
      double dx = (ring[i].x() - ring[i - 1].x()) * s.x;
      double dy = (ring[i].y() - ring[i - 1].y()) * s.y;
      perimeter += std::hypot(dx, dy);
    }
  };
  auto add_polygon = [&](const BPolygon& p) {
    add_ring(p.outer());
    for (const auto& inner : p.inners()) add_ring(inner);
  };
  if constexpr (std::is_same_v<G, BMulti>) {
    for (const BPolygon& p : piece) add_polygon(p);
  } else {
    add_polygon(piece);
  }
  m.width_m = perimeter > 0 ? 2 * m.area_m2 / perimeter : 0;
  return m;
}

bool IsSliver(const Measure& m, const TopologyOptions& o) {
  return m.area_m2 < o.sliver_area_m2 || m.width_m < o.sliver_width_m;
}

// --- NormalizeShape ------------------------------------------------------

struct PtHash {
  size_t operator()(const Pt& p) const {
    return std::hash<int64_t>()(p.x) * 31 ^ std::hash<int64_t>()(p.y);
  }
};

bool StrictlyInside(Pt a, Pt b, Pt p) {
  if (p == a || p == b || Orient(a, b, p) != 0) return false;
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) &&
         std::min(a.y, b.y) <= p.y && p.y <= std::max(a.y, b.y);
}

// Inserts every vertex that lies strictly inside another edge of the same
// ring into that edge (a ring touching itself at a point of an edge), so the
// touch becomes a repeated vertex. The shape does not change.
Ring InsertTouchingVertices(const Ring& ring) {
  size_t n = ring.size();
  std::vector<size_t> by_x(n);
  for (size_t i = 0; i < n; ++i) by_x[i] = i;
  std::sort(by_x.begin(), by_x.end(),
            [&](size_t l, size_t r) { return ring[l].x < ring[r].x; });
  Ring out;
  out.reserve(n);
  bool changed = false;
  for (size_t i = 0; i < n; ++i) {
    Pt a = ring[i], b = ring[(i + 1) % n];
    out.push_back(a);
    auto lo =
        std::lower_bound(by_x.begin(), by_x.end(), std::min(a.x, b.x),
                         [&](size_t k, int64_t x) { return ring[k].x < x; });
    std::vector<Pt> on_edge;
    for (auto it = lo; it != by_x.end() && ring[*it].x <= std::max(a.x, b.x);
         ++it) {
      if (StrictlyInside(a, b, ring[*it])) on_edge.push_back(ring[*it]);
    }
    if (on_edge.empty()) continue;
    changed = true;
    auto along = [&](Pt p) {
      return std::abs(double(p.x - a.x)) + std::abs(double(p.y - a.y));
    };
    std::sort(on_edge.begin(), on_edge.end(),
              [&](Pt l, Pt r) { return along(l) < along(r); });
    on_edge.erase(std::unique(on_edge.begin(), on_edge.end()), on_edge.end());
    out.insert(out.end(), on_edge.begin(), on_edge.end());
  }
  return changed ? out : ring;
}

struct Loop {
  Ring ring;
  Pt touch;  // where it was cut off the ring (the start of the ring if none)
};

// Splits a ring at every vertex it visits twice into simple loops.
std::vector<Loop> SplitAtTouches(const Ring& input) {
  Ring ring = InsertTouchingVertices(input);
  std::unordered_map<Pt, size_t, PtHash> position;
  Ring stack;
  std::vector<Loop> loops;
  for (const Pt& p : ring) {
    auto it = position.find(p);
    if (it == position.end()) {
      position[p] = stack.size();
      stack.push_back(p);
      continue;
    }
    size_t i = it->second;
    Loop loop{Ring(stack.begin() + i, stack.end()), p};
    for (size_t k = i + 1; k < stack.size(); ++k) position.erase(stack[k]);
    stack.resize(i + 1);
    loops.push_back(std::move(loop));
  }
  // The rest is touched where the last loop was cut off it.
  Pt rest_touch =
      loops.empty() ? (ring.empty() ? Pt{} : ring.front()) : loops.back().touch;
  loops.push_back({std::move(stack), rest_touch});
  // A loop with no area (a back-and-forth between two touches) is nothing.
  std::erase_if(loops, [](const Loop& l) {
    return l.ring.size() < 3 || SignedArea(l.ring) == 0;
  });
  return loops;
}

// True when `inner` lies inside `outer`, touching it at most at vertices.
bool Inside(const Ring& inner, const Ring& outer) {
  bool strictly = false;
  for (const Pt& p : inner) {
    Side s = Classify(outer, p);
    if (s == Side::kOutside) return false;
    if (s == Side::kInside) strictly = true;
  }
  return strictly;
}

std::string ReasonInWords(bg::validity_failure_type failure) {
  switch (failure) {
    case bg::failure_few_points:
      return "a ring has fewer than 3 distinct vertices";
    case bg::failure_wrong_topological_dimension:
      return "a ring has no area";
    case bg::failure_spikes:
      return "a ring has a spike";
    case bg::failure_self_intersections:
      return "ring self-intersects";
    case bg::failure_interior_rings_outside:
      return "a hole lies outside its polygon";
    case bg::failure_nested_interior_rings:
      return "a hole lies inside another hole";
    case bg::failure_disconnected_interior:
      return "holes cut the polygon in pieces";
    case bg::failure_intersecting_interiors:
      return "parts of the multipolygon overlap";
    case bg::failure_invalid_coordinate:
      return "a coordinate is not a number";
    default:
      return "geometry is invalid";
  }
}

// Boost's message gives the place as "found at (x, y)" in frame units.
std::optional<LonLat> PlaceInReason(const std::string& reason, Frame f) {
  auto at = reason.find("found at (");
  if (at == std::string::npos) return std::nullopt;
  double x = 0, y = 0;
  if (std::sscanf(reason.c_str() + at + 10, "%lf, %lf", &x, &y) != 2) {
    return std::nullopt;
  }
  return ToDegrees(BPoint(x, y), f);
}

// True when Boost.Geometry decides everything about `ring` exactly in frame
// `f`. Its coordinates are integers as doubles; is_valid scales them by an
// integer factor into a range of 10^7 (or leaves them when wider) and finds
// turns with integer side tests and segment ratios. Offsets below 2^25 keep
// every product of coordinate differences, scaled or not, below 2^52, so no
// double rounds and no epsilon turns a non-zero determinant into zero. Boost
// then finds a simple ring (IsSimple) valid: no turn between non-adjacent
// edges, no spike, enough points, and bg::correct has set the orientation.
bool BoostIsExactOn(const Ring& ring, Frame f) {
  constexpr int64_t kLimit = int64_t(1) << 25;
  for (const Pt& p : ring) {
    if (p.x - f.x0 >= kLimit || f.x0 - p.x >= kLimit || p.y - f.y0 >= kLimit ||
        f.y0 - p.y >= kLimit) {
      return false;
    }
  }
  return true;
}

// `fast`: a part that is one simple ring skips the split and Boost.
// `simple`: the shape is known to be one part of one simple ring.
Result<Normalized> NormalizeUnsafe(Shape shape, bool fast, bool simple) {
  Normalized out;
  std::vector<Polygon> polygons;
  size_t simple_parts = 0;  // parts that are one simple ring
  for (Polygon& part : shape.parts) {
    if (part.rings.empty()) continue;
    // A simple shell without holes has no touch to split: SplitAtTouches
    // would give it back as one loop.
    if (fast && part.rings.size() == 1 && (simple || IsSimple(part.rings[0]))) {
      ++simple_parts;
      polygons.push_back(std::move(part));
      continue;
    }
    double shell_sign = SignedArea(part.rings[0]) > 0 ? 1 : -1;
    std::vector<Loop> shell_loops = SplitAtTouches(part.rings[0]);
    if (shell_loops.size() > 1) ++out.self_touching_rings;
    std::vector<Ring> shells;
    std::vector<Loop> inverted;  // loops running against the shell: holes
    for (Loop& loop : shell_loops) {
      if ((SignedArea(loop.ring) > 0 ? 1 : -1) == shell_sign) {
        shells.push_back(std::move(loop.ring));
      } else {
        inverted.push_back(std::move(loop));
      }
    }
    std::vector<Ring> holes;
    for (Loop& loop : inverted) {
      bool contained =
          std::any_of(shells.begin(), shells.end(),
                      [&](const Ring& s) { return Inside(loop.ring, s); });
      if (!contained) {
        LonLat at = ToLonLat(loop.touch);
        return Fail(ErrorCode::kInvalidArgument,
                    "ring self-intersects near " + Where(at) +
                        " (it crosses itself at a vertex, like a bow-tie). "
                        "Fix it in QGIS (Check Validity) and load again");
      }
      holes.push_back(std::move(loop.ring));
    }
    for (size_t r = 1; r < part.rings.size(); ++r) {
      double hole_sign = SignedArea(part.rings[r]) > 0 ? 1 : -1;
      std::vector<Loop> loops = SplitAtTouches(part.rings[r]);
      if (loops.size() > 1) ++out.self_touching_rings;
      for (Loop& loop : loops) {
        // A loop running against its hole is an island inside the hole.
        if ((SignedArea(loop.ring) > 0 ? 1 : -1) == hole_sign) {
          holes.push_back(std::move(loop.ring));
        } else {
          shells.push_back(std::move(loop.ring));
        }
      }
    }
    std::vector<Polygon> made(shells.size());
    for (size_t i = 0; i < shells.size(); ++i)
      made[i].rings.push_back(shells[i]);
    for (Ring& hole : holes) {
      // The smallest shell that holds it: an island may sit in a hole of
      // another shell. None: keep it on the first, is_valid says where.
      std::optional<size_t> owner;
      for (size_t i = 0; i < shells.size(); ++i) {
        if (Inside(hole, shells[i]) &&
            (!owner || std::abs(SignedArea(shells[i])) <
                           std::abs(SignedArea(shells[*owner])))) {
          owner = i;
        }
      }
      if (!made.empty())
        made[owner.value_or(0)].rings.push_back(std::move(hole));
    }
    for (Polygon& p : made) polygons.push_back(std::move(p));
  }
  out.shape.parts = std::move(polygons);
  if (out.shape.parts.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "geometry is empty");
  }

  Frame f = FrameOf(out.shape);
  if (simple_parts == 1 && out.shape.parts.size() == 1 &&
      BoostIsExactOn(out.shape.parts[0].rings[0], f)) {
    return out;  // one simple ring: valid, as Boost would find it
  }
  BMulti multi = ToB(out.shape, f);
  // Each polygon on its own first, so a reason names a ring, not a pair.
  for (const BPolygon& polygon : multi) {
    bg::validity_failure_type failure;
    if (!bg::is_valid(polygon, failure)) {
      std::string reason;
      bg::is_valid(polygon, reason);
      std::optional<LonLat> at = PlaceInReason(reason, f);
      if (!at) at = ToDegrees(polygon.outer().front(), f);
      return Fail(ErrorCode::kInvalidArgument,
                  ReasonInWords(failure) + " near " + Where(*at) +
                      ". Fix it in QGIS (Check Validity) and load again");
    }
  }
  if (multi.size() > 1 && !bg::is_valid(multi)) {
    // Parts sharing a border (or overlapping): merge them into their union.
    BMulti merged;
    for (const BPolygon& polygon : multi) {
      BMulti next;
      bg::union_(merged, polygon, next);
      merged = std::move(next);
    }
    out.merged_parts = int(multi.size()) - int(merged.size());
    multi = std::move(merged);
    std::string reason;
    bg::validity_failure_type failure;
    if (!bg::is_valid(multi, failure)) {
      bg::is_valid(multi, reason);
      std::optional<LonLat> at = PlaceInReason(reason, f);
      if (!at) at = ToDegrees(multi.front().outer().front(), f);
      return Fail(ErrorCode::kInvalidArgument,
                  ReasonInWords(failure) + " near " + Where(*at) +
                      " after merging its parts. Fix it in QGIS (Check "
                      "Validity) and load again");
    }
    out.shape = FromB(multi, f);
  }
  return out;
}

// --- layer checks ----------------------------------------------------------

// The features' bounding boxes in an R-tree; their Boost shapes are made on
// first use (an exact tiling skips most of them).
struct Indexed {
  Frame frame;
  std::vector<const Feature*> features;
  std::vector<BBox> boxes;
  std::vector<std::optional<BMulti>> made;
  bgi::rtree<std::pair<BBox, size_t>, bgi::rstar<16>> tree;

  const BMulti& shape(size_t i) {
    if (!made[i]) made[i] = ToB(features[i]->shape, frame);
    return *made[i];
  }
};

BBox BoxOf(const Shape& shape, Frame f) {
  Box b = BoundsOf(shape);
  return BBox(ToB(b.min, f), ToB(b.max, f));
}

Indexed Index(const std::vector<const Feature*>& features, Frame frame) {
  Indexed ix;
  ix.frame = frame;
  ix.features = features;
  ix.made.resize(features.size());
  std::vector<std::pair<BBox, size_t>> boxes;
  boxes.reserve(features.size());
  for (size_t i = 0; i < features.size(); ++i) {
    ix.boxes.push_back(BoxOf(features[i]->shape, frame));
    boxes.emplace_back(ix.boxes.back(), i);
  }
  ix.tree = decltype(ix.tree)(boxes.begin(), boxes.end());  // packed
  return ix;
}

std::vector<const Feature*> Pointers(const std::vector<Feature>& features) {
  std::vector<const Feature*> out;
  for (const Feature& f : features) out.push_back(&f);
  return out;
}

std::string Prefix(const TopologyOptions& o) {
  return o.file.empty() ? std::string() : o.file + ", ";
}

// Sums the non-sliver pieces of `pieces`; slivers go to the report's count.
struct Pieces {
  double area_m2 = 0;
  LonLat where;
  double largest = -1;
  int count = 0;
};

Pieces Keep(const BMulti& pieces, Frame f, const TopologyOptions& o,
            TopologyReport& report) {
  Pieces kept;
  for (const BPolygon& piece : pieces) {
    if (bg::area(piece) == 0) continue;
    Measure m = MeasureOf(piece, f);
    if (IsSliver(m, o)) {
      ++report.slivers;
      report.sliver_area_m2 += m.area_m2;
      continue;
    }
    ++kept.count;
    kept.area_m2 += m.area_m2;
    if (m.area_m2 > kept.largest) {
      kept.largest = m.area_m2;
      kept.where = m.where;
    }
  }
  return kept;
}

// Union of many shapes, merged pairwise in x order so neighbours meet early.
BMulti CascadedUnion(std::vector<BMulti> items) {
  if (items.empty()) return {};
  std::sort(items.begin(), items.end(), [](const BMulti& l, const BMulti& r) {
    return Envelope(l).min_corner().x() < Envelope(r).min_corner().x();
  });
  while (items.size() > 1) {
    std::vector<BMulti> next;
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      BMulti u;
      bg::union_(items[i], items[i + 1], u);
      next.push_back(std::move(u));
    }
    if (items.size() % 2) next.push_back(std::move(items.back()));
    items = std::move(next);
  }
  return std::move(items.front());
}

void CheckFailed(TopologyReport& report, const TopologyOptions& o,
                 const std::string& what, const std::exception& e) {
  report.problems.push_back(
      {"", "check_failed",
       Prefix(o) + what + " could not be checked (" + e.what() +
           "); fix the invalid geometry reported above and check again"});
}

Frame FrameOf(const std::vector<Feature>& cells,
              const std::vector<Feature>& villages) {
  std::vector<const Feature*> all = Pointers(cells);
  for (const Feature& v : villages) all.push_back(&v);
  return FrameOf(all);
}

// Each cell's village as an index into `villages`, -1 when unknown.
std::vector<int> VillageOf(const std::vector<Feature>& cells,
                           const std::vector<Feature>& villages) {
  std::unordered_map<std::string, int> at;
  for (size_t i = 0; i < villages.size(); ++i) {
    at.emplace(villages[i].code, int(i));
  }
  std::vector<int> out;
  out.reserve(cells.size());
  for (const Feature& cell : cells) {
    auto it = at.find(cell.Attribute("village"));
    out.push_back(it == at.end() ? -1 : it->second);
  }
  return out;
}

// A directed edge as its lexicographically smaller end first, and +1 or -1
// for the direction it is used in, times the weight of its ring.
struct ChainEdge {
  Pt a;
  Pt b;
  int weight;
};

bool LexLess(Pt p, Pt q) { return p.x < q.x || (p.x == q.x && p.y < q.y); }

// Calls visit(a, b, w) for each edge of `shape`'s rings, outer rings
// counter-clockwise and holes clockwise, as a ChainEdge: a before b
// lexicographically, w = +-weight for the direction it is used in.
template <class Visit>
void ForEachEdge(const Shape& shape, int weight, Visit&& visit) {
  for (const Polygon& part : shape.parts) {
    for (size_t r = 0; r < part.rings.size(); ++r) {
      const Ring& ring = part.rings[r];
      size_t n = ring.size();
      if (n < 3) continue;
      bool ccw = SignedArea(ring) > 0;
      int w = (ccw == (r == 0)) ? weight : -weight;
      for (size_t i = 0; i < n; ++i) {
        Pt a = ring[i], b = ring[i + 1 == n ? 0 : i + 1];
        if (a == b) continue;
        if (LexLess(a, b)) {
          visit(a, b, w);
        } else {
          visit(b, a, -w);
        }
      }
    }
  }
}

// Appends the edges of `shape`'s rings (see ForEachEdge).
void AppendEdges(const Shape& shape, int weight, std::vector<ChainEdge>& out) {
  ForEachEdge(shape, weight, [&](Pt a, Pt b, int w) {
    out.push_back({a, b, w});
  });
}

// True when the weights of equal edges add up to zero, edge for edge.
// Each weight is +1 or -1.
bool Cancels(std::vector<ChainEdge>& edges) {
  std::sort(edges.begin(), edges.end(),
            [](const ChainEdge& l, const ChainEdge& r) {
              if (l.a != r.a) return LexLess(l.a, r.a);
              return LexLess(l.b, r.b);
            });
  for (size_t i = 0; i < edges.size();) {
    size_t j = i;
    int sum = 0;
    for (; j < edges.size() && edges[j].a == edges[i].a &&
           edges[j].b == edges[i].b;
         ++j) {
      sum += edges[j].weight;
    }
    if (sum != 0) return false;
    i = j;
  }
  return true;
}

using EdgeKey = unsigned __int128;

// Scratch space of CancelsPacked, kept from one village to the next.
struct KeyScratch {
  std::vector<EdgeKey> keys;
  std::vector<EdgeKey> sorted;
  std::vector<size_t> starts;
};

// Cancels for the edges of `village` (weight -1) and of the cells
// `members` (weight +1), fast: each edge as one 128-bit integer, so equal
// edges sort next to each other: its start as offsets from the shapes'
// lower left (33 bits each, up to 8 degrees), its end relative to its start
// (30 and 31 bits, biased), and the weight's sign in the lowest bit. The
// keys are sorted in buckets of their start's x (equal edges share one),
// each small enough to sort in cache. Empty when an edge does not fit.
std::optional<bool> CancelsPacked(const Shape& village,
                                  const std::vector<Feature>& cells,
                                  const std::vector<size_t>& members,
                                  KeyScratch& s) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kStart = (int64_t(1) << 33) - 1;
  constexpr int64_t kBiasX = int64_t(1) << 29, kBiasY = int64_t(1) << 30;
  int64_t x0 = kMax, y0 = kMax, x1 = -kMax;
  size_t n = 0;
  auto bound = [&](const Shape& shape) {
    for (const Polygon& part : shape.parts) {
      for (const Ring& ring : part.rings) {
        if (ring.size() < 3) continue;
        n += ring.size();
        for (const Pt& p : ring) {
          x0 = std::min(x0, p.x);
          x1 = std::max(x1, p.x);
          y0 = std::min(y0, p.y);
        }
      }
    }
  };
  bound(village);
  for (size_t i : members) bound(cells[i].shape);
  if (n == 0 || x1 - x0 > kStart) return std::nullopt;
  s.keys.clear();
  s.keys.reserve(n);
  bool fits = true;
  auto add = [&](Pt a, Pt b, int w) {
    int64_t ax = a.x - x0, ay = a.y - y0;
    int64_t dx = b.x - a.x + kBiasX, dy = b.y - a.y + kBiasY;
    if (ay > kStart || dx < 0 || dx >= 2 * kBiasX || dy < 0 ||
        dy >= 2 * kBiasY) {
      fits = false;
      return;
    }
    s.keys.push_back((EdgeKey(uint64_t(ax)) << 95) |
                     (EdgeKey(uint64_t(ay)) << 62) |
                     (EdgeKey(uint64_t(dx)) << 32) |
                     (EdgeKey(uint64_t(dy)) << 1) | EdgeKey(w > 0));
  };
  ForEachEdge(village, -1, add);
  for (size_t i : members) {
    if (!fits) break;
    ForEachEdge(cells[i].shape, 1, add);
  }
  if (!fits) return std::nullopt;
  // Buckets of about 128 keys by the start's x.
  size_t buckets = 1;
  while (buckets < s.keys.size() / 128 && buckets < (size_t(1) << 20)) {
    buckets <<= 1;
  }
  int shift = 0;
  while ((uint64_t(x1 - x0) >> shift) >= buckets) ++shift;
  auto bucket = [&](EdgeKey k) { return size_t(uint64_t(k >> 95) >> shift); };
  s.starts.assign(buckets + 1, 0);
  for (EdgeKey k : s.keys) ++s.starts[bucket(k) + 1];
  for (size_t b = 0; b < buckets; ++b) s.starts[b + 1] += s.starts[b];
  s.sorted.resize(s.keys.size());
  for (EdgeKey k : s.keys) s.sorted[s.starts[bucket(k)]++] = k;
  // starts[b] is now the end of bucket b.
  for (size_t b = 0, begin = 0; b < buckets; begin = s.starts[b++]) {
    std::sort(s.sorted.begin() + ptrdiff_t(begin),
              s.sorted.begin() + ptrdiff_t(s.starts[b]));
  }
  const std::vector<EdgeKey>& keys = s.sorted;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    int sum = 0;
    for (; j < keys.size() && (keys[j] >> 1) == (keys[i] >> 1); ++j) {
      sum += (keys[j] & 1) ? 1 : -1;
    }
    if (sum != 0) return false;
    i = j;
  }
  return true;
}

// Which villages their cells tile exactly. The boundary of a valid polygon,
// outer rings counter-clockwise and holes clockwise, winds once around each
// point inside it and never around a point outside. So when the cells'
// boundaries and the village's reversed boundary cancel edge for edge (the
// same vertices: what a tiling with shared edges gives), the cells' winding
// numbers add up to the village's everywhere: each point of the village lies
// in exactly one cell, and no cell reaches outside it. No overlap, gap or
// outside piece, not even a sliver. Anything else (an edge of one cell
// running along two of its neighbour's, a hole, an overlap) leaves edges
// uncancelled, and the village gets the full geometric checks.
// REQUIRES: the cells and villages are valid (NormalizeShape's output).
std::vector<bool> ExactlyTiled(const std::vector<Feature>& cells,
                               const std::vector<int>& village_of,
                               const std::vector<Feature>& villages) {
  std::vector<std::vector<size_t>> members(villages.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    if (village_of[i] >= 0) members[size_t(village_of[i])].push_back(i);
  }
  std::vector<bool> exact(villages.size(), false);
  KeyScratch scratch;
  for (size_t v = 0; v < villages.size(); ++v) {
    if (members[v].empty()) continue;
    bool village_edges = false;
    ForEachEdge(villages[v].shape, -1,
                [&](Pt, Pt, int) { village_edges = true; });
    if (!village_edges) continue;
    if (auto packed =
            CancelsPacked(villages[v].shape, cells, members[v], scratch)) {
      exact[v] = *packed;
      continue;
    }
    std::vector<ChainEdge> edges;
    AppendEdges(villages[v].shape, -1, edges);
    for (size_t i : members[v]) AppendEdges(cells[i].shape, 1, edges);
    exact[v] = Cancels(edges);
  }
  return exact;
}

// One Problem per pair of features whose interiors overlap by more than a
// sliver. With `group`, pairs of one group (>= 0) are not compared.
void Overlaps(Indexed& ix, const std::vector<int>* group,
              const TopologyOptions& options, TopologyReport& report) {
  for (size_t i = 0; i < ix.features.size(); ++i) {
    std::vector<std::pair<BBox, size_t>> hits;
    ix.tree.query(bgi::intersects(ix.boxes[i]), std::back_inserter(hits));
    std::sort(hits.begin(), hits.end(),
              [](const auto& l, const auto& r) { return l.second < r.second; });
    for (const auto& [box, j] : hits) {
      if (j <= i) continue;
      if (group && (*group)[i] >= 0 && (*group)[i] == (*group)[j]) continue;
      BMulti overlap;
      bg::intersection(ix.shape(i), ix.shape(j), overlap);
      Pieces kept = Keep(overlap, ix.frame, options, report);
      if (kept.count == 0) continue;
      const std::string& a = ix.features[i]->code;
      const std::string& b = ix.features[j]->code;
      report.problems.push_back(
          {a, "overlap",
           Prefix(options) + "feature " + a + " overlaps " + b + " by " +
               Metres2(kept.area_m2) + " near " + Where(kept.where) +
               ". Move the shared border in QGIS (snap to the neighbour's "
               "vertices) so each place belongs to one feature",
           kept.where, kept.area_m2, b});
    }
  }
}

// Unknown villages, cells reaching outside their village, and gaps in each
// village; villages `exact` says are tiled exactly need no geometry.
void AgainstVillages(Indexed& cell_ix, const std::vector<Feature>& villages,
                     const std::vector<int>& village_of,
                     const std::vector<bool>& exact,
                     const TopologyOptions& options, TopologyReport& report) {
  Frame frame = cell_ix.frame;
  std::vector<std::optional<BMulti>> village_shapes(villages.size());
  auto village_shape = [&](size_t v) -> const BMulti& {
    if (!village_shapes[v]) village_shapes[v] = ToB(villages[v].shape, frame);
    return *village_shapes[v];
  };
  for (size_t i = 0; i < cell_ix.features.size(); ++i) {
    const Feature& cell = *cell_ix.features[i];
    std::string village = cell.Attribute("village");
    if (village_of[i] < 0) {
      report.problems.push_back(
          {cell.code, "unknown_village",
           Prefix(options) + "feature " + cell.code + ": its village `" +
               village +
               "` is not in the villages layer. Correct the cell's "
               "`village` code or add the village",
           std::nullopt, 0, village});
      continue;
    }
    size_t v = size_t(village_of[i]);
    if (exact[v]) continue;
    BMulti outside;
    bg::difference(cell_ix.shape(i), village_shape(v), outside);
    Pieces kept = Keep(outside, frame, options, report);
    if (kept.count == 0) continue;
    report.problems.push_back(
        {cell.code, "outside_village",
         Prefix(options) + "feature " + cell.code + " reaches " +
             Metres2(kept.area_m2) + " outside its village " + village +
             " near " + Where(kept.where) +
             ". Move its border inside the village, or correct its "
             "`village` code",
         kept.where, kept.area_m2, village});
  }
  for (size_t v = 0; v < villages.size(); ++v) {
    if (exact[v]) continue;
    std::vector<std::pair<BBox, size_t>> hits;
    cell_ix.tree.query(bgi::intersects(BoxOf(villages[v].shape, frame)),
                       std::back_inserter(hits));
    std::vector<BMulti> covering;
    for (const auto& [box, j] : hits) covering.push_back(cell_ix.shape(j));
    BMulti covered = CascadedUnion(std::move(covering));
    BMulti gaps;
    bg::difference(village_shape(v), covered, gaps);
    for (const BPolygon& gap : gaps) {
      BMulti one{gap};
      Pieces kept = Keep(one, frame, options, report);
      if (kept.count == 0) continue;
      const std::string& code = villages[v].code;
      report.problems.push_back(
          {code, "gap",
           Prefix(options) + "village " + code + " has a gap of " +
               Metres2(kept.area_m2) + " near " + Where(kept.where) +
               " that no cell covers. Extend a neighbouring cell over it "
               "or add a cell",
           kept.where, kept.area_m2, ""});
    }
  }
}

// NormalizeUnsafe, with an exception from Boost.Geometry as the user's error.
Result<Normalized> NormalizeChecked(Shape shape, bool fast, bool simple) {
  try {
    return NormalizeUnsafe(std::move(shape), fast, simple);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("geometry could not be checked (") + e.what() +
                    "). Fix it in QGIS (Check Validity) and load again");
  }
}

}  // namespace

Result<Normalized> NormalizeShape(Shape shape) {
  return NormalizeShape(std::move(shape), false);
}

Result<Normalized> NormalizeShape(Shape shape, bool one_simple_ring) {
  return NormalizeChecked(std::move(shape), true, one_simple_ring);
}

Result<Normalized> NormalizeShapeWithBoost(Shape shape) {
  return NormalizeChecked(std::move(shape), false, false);
}

double AreaSquareMetres(const Shape& shape) {
  // Shoelace area of each ring in square nanodegrees (a fan from its first
  // vertex), shells less holes, scaled at the latitude halfway across the
  // shape: the scale varies by under 1e-4 across a cell or a village, and
  // this needs no point-on-surface search (a tenth of an import's time).
  double area = 0;
  int64_t south = std::numeric_limits<int64_t>::max();
  int64_t north = std::numeric_limits<int64_t>::min();
  for (const Polygon& part : shape.parts) {
    for (size_t r = 0; r < part.rings.size(); ++r) {
      const Ring& ring = part.rings[r];
      double twice = 0;
      for (size_t i = 1; i + 1 < ring.size(); ++i) {
        Pt o = ring[0], a = ring[i], b = ring[i + 1];
        twice += double(a.x - o.x) * double(b.y - o.y) -
                 double(b.x - o.x) * double(a.y - o.y);
      }
      area += (r == 0 ? 0.5 : -0.5) * std::abs(twice);
      for (const Pt& p : ring) {
        south = std::min(south, p.y);
        north = std::max(north, p.y);
      }
    }
  }
  if (south > north) return 0;
  MetricScale s =
      MetricScaleAt((double(south) + double(north)) / 2 / kUnitsPerDegree);
  return std::max(0.0, area) * s.x * s.y;
}

TopologyReport CheckOverlaps(const std::vector<Feature>& features,
                             const TopologyOptions& options) {
  TopologyReport report;
  try {
    auto pointers = Pointers(features);
    Indexed ix = Index(pointers, FrameOf(pointers));
    Overlaps(ix, nullptr, options, report);
  } catch (const std::exception& e) {
    CheckFailed(report, options, "overlaps", e);
  }
  return report;
}

TopologyReport CheckCellsInVillages(const std::vector<Feature>& cells,
                                    const std::vector<Feature>& villages,
                                    const TopologyOptions& options) {
  TopologyReport report;
  try {
    Frame frame = FrameOf(cells, villages);
    Indexed cell_ix = Index(Pointers(cells), frame);
    std::vector<int> village_of = VillageOf(cells, villages);
    std::vector<bool> exact = ExactlyTiled(cells, village_of, villages);
    AgainstVillages(cell_ix, villages, village_of, exact, options, report);
  } catch (const std::exception& e) {
    CheckFailed(report, options, "cells against villages", e);
  }
  return report;
}

TopologyReport CheckCells(const std::vector<Feature>& cells,
                          const std::vector<Feature>& villages,
                          const TopologyOptions& options) {
  TopologyReport report;
  std::vector<int> village_of = VillageOf(cells, villages);
  std::vector<bool> exact = ExactlyTiled(cells, village_of, villages);
  Frame frame = FrameOf(cells, villages);
  std::optional<Indexed> cell_ix;
  try {
    cell_ix = Index(Pointers(cells), frame);
    // Cells of one exactly tiled village cannot overlap each other.
    std::vector<int> group(cells.size(), -1);
    for (size_t i = 0; i < cells.size(); ++i) {
      if (village_of[i] >= 0 && exact[size_t(village_of[i])]) {
        group[i] = village_of[i];
      }
    }
    Overlaps(*cell_ix, &group, options, report);
  } catch (const std::exception& e) {
    CheckFailed(report, options, "overlaps", e);
  }
  try {
    if (!cell_ix) cell_ix = Index(Pointers(cells), frame);
    AgainstVillages(*cell_ix, villages, village_of, exact, options, report);
  } catch (const std::exception& e) {
    CheckFailed(report, options, "cells against villages", e);
  }
  return report;
}

TopologyReport CheckGapsBetweenCells(const std::vector<Feature>& cells,
                                     const TopologyOptions& options) {
  TopologyReport report;
  try {
    Frame frame = FrameOf(Pointers(cells));
    std::map<std::string, std::vector<BMulti>> by_village;
    for (const Feature& cell : cells) {
      by_village[cell.Attribute("village")].push_back(ToB(cell.shape, frame));
    }
    for (auto& [village, shapes] : by_village) {
      BMulti covered = CascadedUnion(std::move(shapes));
      for (const BPolygon& polygon : covered) {
        for (const auto& inner : polygon.inners()) {
          BPolygon hole;
          hole.outer() = inner;
          bg::correct(hole);
          BMulti one{hole};
          Pieces kept = Keep(one, frame, options, report);
          if (kept.count == 0) continue;
          std::string who = village.empty() ? "(no village)" : village;
          report.problems.push_back(
              {village, "gap",
               Prefix(options) + "village " + who + " has a gap of " +
                   Metres2(kept.area_m2) + " near " + Where(kept.where) +
                   " enclosed by its cells but covered by none. Extend a "
                   "neighbouring cell over it or add a cell",
               kept.where, kept.area_m2, ""});
        }
      }
    }
  } catch (const std::exception& e) {
    CheckFailed(report, options, "gaps", e);
  }
  return report;
}

}  // namespace wangge::spatial
