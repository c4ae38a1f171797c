#include "spatial/jagged_grid.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace wangge::spatial {

uint64_t Mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t v : {a, b, c, d}) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

double Signed(uint64_t hash) {
  return double(hash >> 11) / double(1ULL << 53) * 2.0 - 1.0;
}

Pt JaggedGrid::Corner(int i, int j) const {
  double jx = 0.2 * Signed(Mix(spec_.seed, 1, i, j));
  double jy = 0.2 * Signed(Mix(spec_.seed, 2, i, j));
  return {spec_.origin.x + std::llround((i + jx) * spec_.cell_width),
          spec_.origin.y - std::llround((j + jy) * spec_.cell_height)};
}

void JaggedGrid::AppendEdge(int i0, int j0, int i1, int j1, Ring& out) const {
  // Key the edge by its lower corner so both directions get one polyline.
  bool forward = std::pair(i0, j0) < std::pair(i1, j1);
  int ia = forward ? i0 : i1, ja = forward ? j0 : j1;
  bool horizontal = (j0 == j1);
  uint64_t key = Mix(spec_.seed, horizontal ? 3 : 4, ia, ja);
  Pt a = Corner(ia, ja);
  Pt b = forward ? Corner(i1, j1) : Corner(i0, j0);
  int span = spec_.max_segments - spec_.min_segments + 1;
  int segments = spec_.min_segments + int(Mix(key, 5) % uint64_t(span));
  double dx = double(b.x - a.x), dy = double(b.y - a.y);
  // Sideways amplitude: 6% of the edge length, tapering to 0 at the corners,
  // which keeps the edges of one cell from ever meeting.
  double amplitude = 0.06;
  Ring edge;
  edge.reserve(segments);
  edge.push_back(a);
  double drift = 0;
  for (int m = 1; m < segments; ++m) {
    double t = double(m) / segments;
    drift = 0.6 * drift + 0.4 * Signed(Mix(key, 6, m));  // field-edge wobble
    double side = amplitude * 4 * t * (1 - t) * drift;
    edge.push_back({a.x + std::llround(t * dx - side * dy),
                    a.y + std::llround(t * dy + side * dx)});
  }
  if (!forward) {
    edge.push_back(b);
    std::reverse(edge.begin(), edge.end());
    edge.pop_back();
  }
  out.insert(out.end(), edge.begin(), edge.end());
}

Ring JaggedGrid::CellRing(int col, int row) const {
  return BlockRing(col, row, col + 1, row + 1);
}

Ring JaggedGrid::BlockRing(int col0, int row0, int col1, int row1) const {
  // Corners: i grows east, j grows south. Counter-clockwise on the map:
  // south side eastwards, east side north, north side west, west side south.
  Ring out;
  for (int i = col0; i < col1; ++i) AppendEdge(i, row1, i + 1, row1, out);
  for (int j = row1; j > row0; --j) AppendEdge(col1, j, col1, j - 1, out);
  for (int i = col1; i > col0; --i) AppendEdge(i, row0, i - 1, row0, out);
  for (int j = row0; j < row1; ++j) AppendEdge(col0, j, col0, j + 1, out);
  return out;
}

Result<Ring> JaggedGrid::OutlineOf(
    const std::vector<std::pair<int, int>>& cells) const {
  using Corner = std::pair<int, int>;
  // Each cell's sides as directed corner pairs, counter-clockwise; a side
  // shared by two cells of the set appears once each way and cancels.
  std::set<std::pair<Corner, Corner>> sides;
  for (auto [c, r] : cells) {
    Corner sw{c, r + 1}, se{c + 1, r + 1}, ne{c + 1, r}, nw{c, r};
    for (auto side : {std::pair{sw, se}, std::pair{se, ne}, std::pair{ne, nw},
                      std::pair{nw, sw}}) {
      auto reverse = std::pair{side.second, side.first};
      if (sides.count(reverse)) {
        sides.erase(reverse);
      } else {
        sides.insert(side);
      }
    }
  }
  std::map<Corner, Corner> next;
  for (const auto& [from, to] : sides) {
    if (!next.emplace(from, to).second) {
      return Fail(ErrorCode::kInvalidArgument,
                  "cells touch only at a corner; the outline is not one ring");
    }
  }
  if (next.empty()) return Fail(ErrorCode::kInvalidArgument, "no cells");
  Ring out;
  Corner start = next.begin()->first, at = start;
  size_t used = 0;
  do {
    Corner to = next.at(at);
    AppendEdge(at.first, at.second, to.first, to.second, out);
    at = to;
    ++used;
  } while (at != start && used <= next.size());
  if (used != next.size()) {
    return Fail(ErrorCode::kInvalidArgument,
                "cells form more than one ring (a hole or separate parts)");
  }
  return out;
}

}  // namespace wangge::spatial
