#include "spatial/cell_grid.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <thread>

namespace wangge::spatial {
namespace {

// Layout of data_ for a mixed bucket, at the offset its slot holds:
//   [units | nudge << 24]
//   per unit (a ring touching the bucket or containing its reference point;
//   ascending by feature, then part, shell before its holes):
//     [feature | kHole if the ring is a hole]
//     [part << 16 | runs << 1 | 1 if the ring contains the reference point]
//     per run of consecutive edges: [n], then n vertices as int32 x, y
//     relative to the bucket's south-west corner.
constexpr uint32_t kMixed = 0x80000000u;
constexpr uint32_t kHole = 0x80000000u;
constexpr uint32_t kMaxNudge = 255;
constexpr uint32_t kMaxUnits = (1u << 24) - 1;
constexpr uint32_t kMaxRuns = (1u << 15) - 1;
constexpr uint32_t kMaxParts = (1u << 16) - 1;
// Relative coordinates stay within +-kMaxRelative, so differences stay
// below 2^31 and each cross product below 2^63.
constexpr int64_t kMaxRelative = (int64_t(1) << 30) - 1;

// Sign of (b - a) x (c - a) on relative coordinates; exact in 64 bits.
inline int64_t Cross(int64_t ax, int64_t ay, int64_t bx, int64_t by, int64_t cx,
                     int64_t cy) {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

// The word after a unit, without evaluating it.
inline const uint32_t* SkipUnit(const uint32_t* unit) {
  uint32_t runs = (unit[1] >> 1) & kMaxRuns;
  const uint32_t* w = unit + 2;
  for (uint32_t r = 0; r < runs; ++r) w += 1 + 2 * w[0];
  return w;
}

using Wide = __int128;

inline int Orient3(Pt a, Pt b, Pt c) {
  Wide det = Wide(b.x - a.x) * (c.y - a.y) - Wide(b.y - a.y) * (c.x - a.x);
  return (det > 0) - (det < 0);
}

inline bool OnEdge(Pt a, Pt b, Pt p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) &&
         std::min(a.y, b.y) <= p.y && p.y <= std::max(a.y, b.y) &&
         Orient3(a, b, p) == 0;
}

// True if segment u-w crosses edge a-b, where neither u nor w lies on a-b.
// A vertex exactly on the line u-w counts as lying on its left: that is a
// symbolic shift of the segment, and keeps the parity right at vertices.
inline bool Crosses(Pt u, Pt w, Pt a, Pt b) {
  if (std::max(a.x, b.x) < std::min(u.x, w.x) ||
      std::min(a.x, b.x) > std::max(u.x, w.x) ||
      std::max(a.y, b.y) < std::min(u.y, w.y) ||
      std::min(a.y, b.y) > std::max(u.y, w.y)) {
    return false;
  }
  if (Orient3(a, b, u) * Orient3(a, b, w) >= 0) return false;
  return (Orient3(u, w, a) >= 0) != (Orient3(u, w, b) >= 0);
}

// True if segment a-b touches the closed box; the boxes of both overlap.
bool TouchesBox(Pt a, Pt b, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  int s[4] = {Orient3(a, b, {x0, y0}), Orient3(a, b, {x1, y0}),
              Orient3(a, b, {x1, y1}), Orient3(a, b, {x0, y1})};
  bool all_left = s[0] > 0 && s[1] > 0 && s[2] > 0 && s[3] > 0;
  bool all_right = s[0] < 0 && s[1] < 0 && s[2] < 0 && s[3] < 0;
  return !all_left && !all_right;
}

uint64_t Hash(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 31 ^
               (c + 0x85157af5ULL) * 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

namespace cell_grid_detail {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kLarge = size_t(4) << 20;

void* AllocateLarge(size_t bytes) {
  if (bytes < kLarge) return ::operator new(bytes);
  size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (!p) throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
  return p;
}

void FreeLarge(void* p, size_t bytes) {
  if (bytes < kLarge) {
    ::operator delete(p);
  } else {
    std::free(p);
  }
}

}  // namespace cell_grid_detail

class CellGridBuilder {
 public:
  static Result<CellGrid> Build(const std::vector<Feature>& features,
                                const CellGridOptions& options);
};

Pt CellGrid::ReferencePoint(uint32_t col, uint32_t row, uint32_t nudge) const {
  int64_t sx = int64_t(1) << layout_.shift_x;
  int64_t sy = int64_t(1) << layout_.shift_y;
  Pt c{sx / 2, sy / 2};
  if (nudge == 0) return c;
  // Another point strictly inside the bucket.
  uint64_t h = Hash(nudge, col, row);
  int64_t dx = int64_t((h & 0xffffffffu) % uint64_t(sx - 1)) - (sx / 2 - 1);
  int64_t dy = int64_t((h >> 32) % uint64_t(sy - 1)) - (sy / 2 - 1);
  return {c.x + dx, c.y + dy};
}

CellGrid::RingSide CellGrid::SideOf(const uint32_t* unit, int64_t px,
                                    int64_t py, int64_t qx, int64_t qy,
                                    const uint32_t*& next) {
  uint32_t runs = (unit[1] >> 1) & kMaxRuns;
  bool inside = unit[1] & 1;
  int64_t lo_x = std::min(px, qx), hi_x = std::max(px, qx);
  int64_t lo_y = std::min(py, qy), hi_y = std::max(py, qy);
  const uint32_t* w = unit + 2;
  for (uint32_t r = 0; r < runs; ++r) {
    uint32_t n = w[0];
    const auto* v = reinterpret_cast<const int32_t*>(w + 1);
    w += 1 + 2 * n;
    int64_t ax = v[0], ay = v[1];
    for (uint32_t i = 1; i < n; ++i) {
      int64_t bx = v[2 * i], by = v[2 * i + 1];
      int64_t ex0 = std::min(ax, bx), ex1 = std::max(ax, bx);
      int64_t ey0 = std::min(ay, by), ey1 = std::max(ay, by);
      if (ex1 >= lo_x && ex0 <= hi_x && ey1 >= lo_y && ey0 <= hi_y) {
        int64_t op = Cross(ax, ay, bx, by, px, py);
        if (op == 0) {
          // On the edge's line: on the edge, or off it and not crossed.
          if (ex0 <= px && px <= ex1 && ey0 <= py && py <= ey1) {
            return RingSide::kBoundary;
          }
        } else {
          int64_t oq = Cross(ax, ay, bx, by, qx, qy);
          if ((oq > 0 && op < 0) || (oq < 0 && op > 0)) {
            bool a_left = Cross(qx, qy, px, py, ax, ay) >= 0;
            bool b_left = Cross(qx, qy, px, py, bx, by) >= 0;
            if (a_left != b_left) inside = !inside;
          }
        }
      }
      ax = bx;
      ay = by;
    }
  }
  next = w;
  return inside ? RingSide::kInside : RingSide::kOutside;
}

uint32_t CellGrid::FirstCovering(Pt p) const {
  if (p.x < layout_.origin.x || p.y < layout_.origin.y) return kNone;
  uint64_t col = uint64_t(p.x - layout_.origin.x) >> layout_.shift_x;
  uint64_t row = uint64_t(p.y - layout_.origin.y) >> layout_.shift_y;
  if (col >= layout_.cols || row >= layout_.rows) return kNone;
  uint32_t slot = slots_[row * layout_.cols + col];
  if (!(slot & kMixed)) return slot - 1;  // 0 - 1 == kNone
  const uint32_t* d = data_.data() + (slot & ~kMixed);
  uint32_t units = d[0] & kMaxUnits;
  Pt q = ReferencePoint(uint32_t(col), uint32_t(row), d[0] >> 24);
  int64_t px = p.x - layout_.origin.x - int64_t(col << layout_.shift_x);
  int64_t py = p.y - layout_.origin.y - int64_t(row << layout_.shift_y);
  const uint32_t* unit = d + 1;
  for (uint32_t k = 0; k < units;) {
    uint32_t feature = unit[0] & ~kHole;
    uint32_t part = unit[1] >> 16;
    RingSide side = RingSide::kOutside;
    const uint32_t* next = nullptr;
    if (unit[0] & kHole) {
      next = SkipUnit(unit);  // a hole listed without its shell
    } else {
      side = SideOf(unit, px, py, q.x, q.y, next);
      if (side == RingSide::kBoundary) return feature;
    }
    unit = next;
    ++k;
    // The holes of this polygon, in order, as Classify(Polygon) takes them.
    while (k < units && unit[0] == (feature | kHole) &&
           (unit[1] >> 16) == part) {
      if (side == RingSide::kInside) {
        RingSide hole = SideOf(unit, px, py, q.x, q.y, next);
        if (hole == RingSide::kBoundary) return feature;
        if (hole == RingSide::kInside) side = RingSide::kOutside;
      } else {
        next = SkipUnit(unit);
      }
      unit = next;
      ++k;
    }
    if (side != RingSide::kOutside) return feature;
  }
  return kNone;
}

size_t CellGrid::Bytes() const {
  return (slots_.capacity() + data_.capacity()) * sizeof(uint32_t);
}

Result<CellGrid> CellGrid::Build(const std::vector<Feature>& features,
                                 const CellGridOptions& options) {
  return CellGridBuilder::Build(features, options);
}

Result<CellGrid> CellGridBuilder::Build(const std::vector<Feature>& features,
                                        const CellGridOptions& options) {
  auto too_big = [](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument,
                "layer does not fit the bucket grid: " + why);
  };
  CellGrid g;
  // 1. Rings, closed, back to back (build time only).
  std::vector<Pt> vertices;
  std::vector<uint64_t> ring_start;
  std::vector<uint32_t> ring_cell, ring_shell, ring_part;
  size_t total = 0;
  for (const Feature& f : features) {
    for (const Polygon& part : f.shape.parts) {
      for (const Ring& ring : part.rings) total += ring.size() + 1;
    }
  }
  if (total >= (1u << 31) || features.size() >= (1u << 31)) {
    return too_big("over 2^31 features or vertices");
  }
  vertices.reserve(total);
  for (size_t i = 0; i < features.size(); ++i) {
    const auto& parts = features[i].shape.parts;
    if (parts.size() > kMaxParts) return too_big("a shape has 2^16 parts");
    for (size_t k = 0; k < parts.size(); ++k) {
      uint32_t shell = uint32_t(ring_cell.size());
      for (const Ring& ring : parts[k].rings) {
        ring_start.push_back(vertices.size());
        ring_cell.push_back(uint32_t(i));
        ring_shell.push_back(shell);
        ring_part.push_back(uint32_t(k));
        if (ring.empty()) continue;
        vertices.insert(vertices.end(), ring.begin(), ring.end());
        vertices.push_back(ring.front());
      }
    }
  }
  ring_start.push_back(vertices.size());
  size_t rings = ring_cell.size();
  CellGrid::Layout& L = g.layout_;
  if (vertices.empty()) return g;  // no buckets: nothing covers anything

  // 2. Extent and bucket size: powers of two, about the requested count.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t min_x = kMax, min_y = kMax, max_x = -kMax, max_y = -kMax;
  for (Pt p : vertices) {
    min_x = std::min(min_x, p.x);
    min_y = std::min(min_y, p.y);
    max_x = std::max(max_x, p.x);
    max_y = std::max(max_y, p.y);
  }
  int64_t w = max_x - min_x, h = max_y - min_y;
  auto count = [&](int kx, int ky) {
    return double((w >> kx) + 1) * double((h >> ky) + 1);
  };
  int min_shift = std::max(2, options.min_shift);
  int kx = min_shift, ky = min_shift;
  if (options.force_shift >= 2) {
    kx = ky = options.force_shift;
  } else {
    double target =
        std::max(1.0, double(vertices.size()) * options.buckets_per_vertex);
    while (count(kx, ky) > target && kx < 29) ++kx, ++ky;
    // One axis a step finer when that still fits.
    if (kx > min_shift) {
      if (w >= h && count(kx - 1, ky) <= target) {
        --kx;
      } else if (h > w && count(kx, ky - 1) <= target) {
        --ky;
      }
    }
  }
  if (kx > 29 || ky > 29) return too_big("buckets over 2^29 nanodegrees");
  L.origin = {min_x, min_y};
  L.shift_x = kx;
  L.shift_y = ky;
  uint64_t cols = uint64_t(w >> kx) + 1, rows = uint64_t(h >> ky) + 1;
  if (cols * rows >= (1u << 31)) return too_big("over 2^31 buckets");
  L.cols = uint32_t(cols);
  L.rows = uint32_t(rows);
  size_t buckets = size_t(cols * rows);

  // 3. Which edges touch which bucket (closed boxes): count, then fill.
  // Visiting rings in order keeps each bucket's list sorted by (ring, edge).
  auto for_each_touch = [&](size_t ring_lo, size_t ring_hi, auto&& visit) {
    for (size_t r = ring_lo; r < ring_hi; ++r) {
      for (uint64_t e = ring_start[r]; e + 1 < ring_start[r + 1]; ++e) {
        Pt a = vertices[e], b = vertices[e + 1];
        int64_t c0 =
            std::max<int64_t>(0, (std::min(a.x, b.x) - min_x - 1) >> kx);
        int64_t c1 = (std::max(a.x, b.x) - min_x) >> kx;
        int64_t r0 =
            std::max<int64_t>(0, (std::min(a.y, b.y) - min_y - 1) >> ky);
        int64_t r1 = (std::max(a.y, b.y) - min_y) >> ky;
        // In a single row or column of buckets the segment, being
        // connected, touches every one its box spans.
        bool line = c0 == c1 || r0 == r1;
        for (int64_t row = r0; row <= r1; ++row) {
          for (int64_t col = c0; col <= c1; ++col) {
            if (!line &&
                !TouchesBox(a, b, min_x + (col << kx), min_y + (row << ky),
                            min_x + ((col + 1) << kx),
                            min_y + ((row + 1) << ky))) {
              continue;
            }
            visit(size_t(row) * cols + size_t(col), uint32_t(r), uint32_t(e));
          }
        }
      }
    }
  };
  // Rings split between threads by vertex count; a thread's entries go
  // after those of the threads before it, so the order stays the same.
  unsigned threads =
      vertices.size() < 200000
          ? 1u
          : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<size_t> ring_split{0};
  for (unsigned t = 1; t < threads; ++t) {
    uint64_t want = vertices.size() * t / threads;
    size_t r =
        std::lower_bound(ring_start.begin(), ring_start.end() - 1, want) -
        ring_start.begin();
    ring_split.push_back(std::max(r, ring_split.back()));
  }
  ring_split.push_back(rings);
  auto parallel = [&](auto&& body) {
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(body, t);
    body(0u);
    for (auto& th : pool) th.join();
  };
  std::vector<std::vector<uint32_t>> counts(threads);
  parallel([&](unsigned t) {
    counts[t].assign(buckets, 0);
    for_each_touch(ring_split[t], ring_split[t + 1],
                   [&](size_t b, uint32_t, uint32_t) { ++counts[t][b]; });
  });
  std::vector<uint32_t> offset(buckets + 1, 0);
  uint64_t entries = 0;
  for (size_t b = 0; b < buckets; ++b) {
    offset[b] = uint32_t(entries);
    for (unsigned t = 0; t < threads; ++t) {
      uint32_t n = counts[t][b];
      counts[t][b] = uint32_t(entries);  // where thread t starts filling
      entries += n;
    }
    if (entries >= (1u << 31)) return too_big("over 2^31 edge entries");
  }
  offset[buckets] = uint32_t(entries);
  std::vector<uint32_t> entry_ring(entries), entry_edge(entries);
  parallel([&](unsigned t) {
    std::vector<uint32_t>& fill = counts[t];
    for_each_touch(ring_split[t], ring_split[t + 1],
                   [&](size_t b, uint32_t r, uint32_t e) {
                     entry_ring[fill[b]] = r;
                     entry_edge[fill[b]++] = e;
                   });
  });
  counts.clear();
  L.edge_entries = entries;

  // 4. Walk each row west to east from a point west of the extent (inside
  // no ring), carrying the set of rings that contain the current reference
  // point: the segment between two neighbours' reference points lies in
  // their two buckets, so only their edges can cross it.
  g.slots_.assign(buckets, 0);
  auto is_hole = [&](uint32_t r) { return ring_shell[r] != r; };
  std::vector<std::vector<uint32_t>> chunk(threads);
  std::vector<std::string> errors(threads);
  std::vector<size_t> mixed(threads, 0);
  parallel([&](unsigned t) {
    uint32_t row_lo = uint32_t(uint64_t(L.rows) * t / threads);
    uint32_t row_hi = uint32_t(uint64_t(L.rows) * (t + 1) / threads);
    std::vector<uint32_t>& data = chunk[t];
    data.reserve(size_t(entries) * 3 / threads + 1024);
    std::string& error = errors[t];
    std::vector<uint32_t> members;  // sorted ring ids
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    auto toggle = [&](uint32_t ring) {
      auto it = std::lower_bound(members.begin(), members.end(), ring);
      if (it != members.end() && *it == ring) {
        members.erase(it);
      } else {
        members.insert(it, ring);
      }
    };
    auto pure_answer = [&]() -> uint32_t {
      for (uint32_t r : members) {
        if (is_hole(r)) continue;
        bool covered = true;
        for (uint32_t hole = r + 1; hole < rings && ring_shell[hole] == r;
             ++hole) {
          if (std::binary_search(members.begin(), members.end(), hole)) {
            covered = false;
            break;
          }
        }
        if (covered) return ring_cell[r];
      }
      return CellGrid::kNone;
    };
    for (uint32_t row = row_lo; row < row_hi; ++row) {
      members.clear();
      Pt prev{};
      for (uint32_t col = 0; col < L.cols; ++col) {
        size_t b = size_t(row) * cols + col;
        uint32_t begin = offset[b], end = offset[b + 1];
        Pt corner{min_x + (int64_t(col) << kx), min_y + (int64_t(row) << ky)};
        auto absolute = [&](Pt rel) {
          return Pt{corner.x + rel.x, corner.y + rel.y};
        };
        // Reference point: on no edge touching the bucket.
        uint32_t nudge = 0;
        Pt q = absolute(g.ReferencePoint(col, row, 0));
        for (uint32_t i = begin; i < end;) {
          uint32_t e = entry_edge[i];
          if (OnEdge(vertices[e], vertices[e + 1], q)) {
            if (++nudge > kMaxNudge) {
              error = "no free reference point in a bucket";
              return;
            }
            q = absolute(g.ReferencePoint(col, row, nudge));
            i = begin;
          } else {
            ++i;
          }
        }
        if (col == 0) prev = {min_x - 1, q.y};
        // Crossings of prev -> q with the edges of this bucket and the last.
        uint32_t a = col > 0 ? offset[b - 1] : begin, a_end = begin;
        uint32_t c = begin;
        merged.clear();
        while (a < a_end || c < end) {
          std::pair<uint32_t, uint32_t> x =
              a < a_end ? std::pair(entry_ring[a], entry_edge[a])
                        : std::pair(UINT32_MAX, UINT32_MAX);
          std::pair<uint32_t, uint32_t> y =
              c < end ? std::pair(entry_ring[c], entry_edge[c])
                      : std::pair(UINT32_MAX, UINT32_MAX);
          if (x < y) {
            merged.push_back(x);
            ++a;
          } else if (y < x) {
            merged.push_back(y);
            ++c;
          } else {
            merged.push_back(x);
            ++a;
            ++c;
          }
        }
        for (size_t i = 0; i < merged.size();) {
          uint32_t ring = merged[i].first;
          bool odd = false;
          for (; i < merged.size() && merged[i].first == ring; ++i) {
            uint32_t e = merged[i].second;
            if (Crosses(prev, q, vertices[e], vertices[e + 1])) odd = !odd;
          }
          if (odd) toggle(ring);
        }
        prev = q;
        if (begin == end) {
          g.slots_[b] = pure_answer() + 1;  // kNone + 1 == 0
          continue;
        }
        // Mixed: the rings with edges here, and those containing q.
        if (data.size() >= kMixed) {
          error = "over 2^31 words";
          return;
        }
        g.slots_[b] = kMixed | uint32_t(data.size());  // local for now
        ++mixed[t];
        size_t header = data.size();
        data.push_back(0);
        uint32_t units = 0;
        size_t m = 0;
        uint32_t i = begin;
        while (i < end || m < members.size()) {
          uint32_t ring_e = i < end ? entry_ring[i] : UINT32_MAX;
          uint32_t ring_m = m < members.size() ? members[m] : UINT32_MAX;
          uint32_t ring = std::min(ring_e, ring_m);
          bool contains = ring_m == ring;
          if (contains) ++m;
          data.push_back(ring_cell[ring] | (is_hole(ring) ? kHole : 0));
          size_t info_at = data.size();
          data.push_back(0);
          uint32_t runs = 0;
          while (i < end && entry_ring[i] == ring) {
            // One run: edges e, e + 1, ... that all touch this bucket.
            size_t count_at = data.size();
            data.push_back(0);
            uint32_t e = entry_edge[i], n = 0;
            auto put = [&](Pt v) -> bool {
              int64_t rx = v.x - corner.x, ry = v.y - corner.y;
              if (rx < -kMaxRelative || rx > kMaxRelative ||
                  ry < -kMaxRelative || ry > kMaxRelative) {
                return false;
              }
              data.push_back(uint32_t(int32_t(rx)));
              data.push_back(uint32_t(int32_t(ry)));
              ++n;
              return true;
            };
            if (!put(vertices[e])) {
              error = "an edge over 1 degree long";
              return;
            }
            for (; i < end && entry_ring[i] == ring && entry_edge[i] == e;
                 ++i, ++e) {
              if (!put(vertices[e + 1])) {
                {
                  error = "an edge over 1 degree long";
                  return;
                }
              }
            }
            data[count_at] = n;
            ++runs;
          }
          if (runs > kMaxRuns) {
            error = "2^15 runs of one ring";
            return;
          }
          data[info_at] =
              (ring_part[ring] << 16) | (runs << 1) | (contains ? 1 : 0);
          ++units;
        }
        if (units > kMaxUnits) {
          error = "2^24 rings in one bucket";
          return;
        }
        data[header] = units | (nudge << 24);
      }
    }
  });
  for (const std::string& error : errors) {
    if (!error.empty()) return too_big(error);
  }
  // Join the threads' data; their slots move by the words before them.
  size_t words = 0;
  std::vector<size_t> base(threads);
  for (unsigned t = 0; t < threads; ++t) {
    base[t] = words;
    words += chunk[t].size();
    L.mixed_buckets += mixed[t];
  }
  if (words >= kMixed) return too_big("over 2^31 words");
  g.data_.resize(words);
  parallel([&](unsigned t) {
    std::copy(chunk[t].begin(), chunk[t].end(), g.data_.begin() + base[t]);
    chunk[t] = {};
    size_t lo = size_t(uint64_t(L.rows) * t / threads) * cols;
    size_t hi = size_t(uint64_t(L.rows) * (t + 1) / threads) * cols;
    for (size_t b = lo; b < hi; ++b) {
      if (g.slots_[b] & kMixed) g.slots_[b] += uint32_t(base[t]);
    }
  });
  return g;
}

}  // namespace wangge::spatial
