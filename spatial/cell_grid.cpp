#include "spatial/cell_grid.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "spatial/huge_pages.h"

namespace wangge::spatial {
namespace {

// Layout of data_ for a mixed bucket, at the offset its slot holds:
//   [units | nudge << 24]
//   per unit (a ring touching the bucket or containing its reference point;
//   ascending by feature, then part, shell before its holes):
//     [feature | kHole if the ring is a hole]
//     [part << 16 | runs << 1 | 1 if the ring contains the reference point]
//     per run of consecutive edges, either
//       [n], then n vertices as int32 x, y relative to the bucket's
//       south-west corner; or
//       [kRunRef | d]: the same edges as the run whose [n] lies d words
//       before this word, in the same bucket (an edge two rings share, as
//       neighbours in a tiling do, is stored once and tested once).
constexpr uint32_t kMixed = 0x80000000u;
constexpr uint32_t kHole = 0x80000000u;
constexpr uint32_t kRunRef = 0x80000000u;
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
  for (uint32_t r = 0; r < runs; ++r) w += w[0] & kRunRef ? 1 : 1 + 2 * w[0];
  return w;
}

using Wide = __int128;

inline int Orient3(Pt a, Pt b, Pt c) {
  Wide det = Wide(b.x - a.x) * (c.y - a.y) - Wide(b.y - a.y) * (c.x - a.x);
  return (det > 0) - (det < 0);
}

// The tests below take coordinates relative to a bucket, each within
// +-kMaxRelative: every difference then stays below 2^31 and each sum of
// two products below 2^63.

// True if p lies on edge a-b.
inline bool OnEdge(int64_t ax, int64_t ay, int64_t bx, int64_t by, int64_t px,
                   int64_t py) {
  return std::min(ax, bx) <= px && px <= std::max(ax, bx) &&
         std::min(ay, by) <= py && py <= std::max(ay, by) &&
         Cross(ax, ay, bx, by, px, py) == 0;
}

// True if segment u-w crosses edge e (e.ax, e.ay to e.bx, e.by), where
// neither u nor w lies on it. A vertex exactly on the line u-w counts as
// lying on its left: that is a symbolic shift of the segment, and keeps the
// parity right at vertices.
template <class E>
inline bool Crosses(int64_t ux, int64_t uy, int64_t wx, int64_t wy,
                    const E& e) {
  int64_t ax = e.ax, ay = e.ay, bx = e.bx, by = e.by;
  if (std::max(ax, bx) < std::min(ux, wx) ||
      std::min(ax, bx) > std::max(ux, wx) ||
      std::max(ay, by) < std::min(uy, wy) ||
      std::min(ay, by) > std::max(uy, wy)) {
    return false;
  }
  int64_t ou = Cross(ax, ay, bx, by, ux, uy);
  int64_t ow = Cross(ax, ay, bx, by, wx, wy);
  if ((ou > 0 && ow > 0) || (ou < 0 && ow < 0) || ou == 0 || ow == 0) {
    return false;
  }
  return (Cross(ux, uy, wx, wy, ax, ay) >= 0) !=
         (Cross(ux, uy, wx, wy, bx, by) >= 0);
}

// Where edge a-b crosses the line y = yc, a vertex on the line counting as
// lying above it (as Crosses counts a vertex on a west-to-east segment): the
// first column whose bucket centre lies there or east of it, or -1 if the
// edge does not cross the line or spans 2^30 or more on an axis. Such an
// edge never fits the grid's encoding (some bucket it touches holds one of
// its ends, the other then over kMaxRelative away): the build refuses it.
// Column c0's centre is within 2^29 of the edge's west end.
static_assert(kMaxRelative < (int64_t(1) << 30));
inline int64_t CentreLineStep(Pt a, Pt b, int64_t yc, int64_t min_x, int kx,
                              int64_t c0) {
  if ((a.y >= yc) == (b.y >= yc)) return -1;
  if (a.y > b.y) std::swap(a, b);  // a below the line, b on or above it
  int64_t x0 = min_x + (c0 << kx) + (int64_t(1) << kx) / 2;
  int64_t dx = b.x - a.x, dy = b.y - a.y, t = yc - a.y, ox = a.x - x0;
  constexpr int64_t kShort = int64_t(1) << 30;
  if (!(dx > -kShort && dx < kShort && dy < kShort && ox > -2 * kShort &&
        ox < 2 * kShort)) {
    return -1;
  }
  // The crossing is x0 + (ox * dy + t * dx) / dy; q is that fraction's
  // ceiling, the step its ceiling in columns.
  int64_t num = ox * dy + t * dx;  // below 2^62
  int64_t q = num / dy + (num % dy > 0);
  return c0 - ((-q) >> kx);
}

// True if segment a-b touches the closed box; the boxes of both overlap and
// the box's sides are at most 2^29.
bool TouchesBox(Pt a, Pt b, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  int64_t dx = b.x - a.x, dy = b.y - a.y;
  constexpr int64_t kShort = int64_t(1) << 30;
  if (dx > -kShort && dx < kShort && dy > -kShort && dy < kShort) {
    // Corners are then within 2^31 of a: each product stays below 2^61.
    auto side = [&](int64_t x, int64_t y) {
      int64_t d = dx * (y - a.y) - dy * (x - a.x);
      return (d > 0) - (d < 0);
    };
    int s0 = side(x0, y0), s1 = side(x1, y0), s2 = side(x1, y1),
        s3 = side(x0, y1);
    return !(s0 > 0 && s1 > 0 && s2 > 0 && s3 > 0) &&
           !(s0 < 0 && s1 < 0 && s2 < 0 && s3 < 0);
  }
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

constexpr size_t kLarge = size_t(4) << 20;
// A growing array commits at most this much more at a time.
constexpr size_t kCommitStep = size_t(256) << 20;

size_t PageSize() {
  static const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

WordArray::WordArray(size_t max_words, bool huge_pages) {
  reserved_ =
      RoundUp(std::max<size_t>(max_words, 1) * sizeof(uint32_t), PageSize());
  bool huge = huge_pages && reserved_ >= kLarge;
  size_t slack =
      huge ? kHugePageBytes : 0;  // to align the start to a huge page
  // PROT_NONE reserves address space without committing memory.
  void* p = mmap(nullptr, reserved_ + slack, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    reserved_ = 0;
    throw std::bad_alloc();
  }
  char* start = static_cast<char*>(p);
  if (huge) {
    auto address = reinterpret_cast<uintptr_t>(start);
    char* aligned = start + (RoundUp(address, kHugePageBytes) - address);
    if (aligned > start) munmap(start, size_t(aligned - start));
    char* end = start + reserved_ + slack;
    if (end > aligned + reserved_) {
      munmap(aligned + reserved_, size_t(end - (aligned + reserved_)));
    }
    start = aligned;
    AdviseHugePages(start, reserved_);
  }
  words_ = reinterpret_cast<uint32_t*>(start);
}

WordArray::WordArray(WordArray&& other) noexcept
    : words_(std::exchange(other.words_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      committed_(std::exchange(other.committed_, 0)),
      reserved_(std::exchange(other.reserved_, 0)) {}

WordArray& WordArray::operator=(WordArray&& other) noexcept {
  if (this != &other) {
    if (words_) munmap(words_, reserved_);
    words_ = std::exchange(other.words_, nullptr);
    size_ = std::exchange(other.size_, 0);
    committed_ = std::exchange(other.committed_, 0);
    reserved_ = std::exchange(other.reserved_, 0);
  }
  return *this;
}

WordArray::~WordArray() {
  if (words_) munmap(words_, reserved_);
}

void WordArray::Resize(size_t n) {
  size_t bytes = n * sizeof(uint32_t);
  assert(bytes <= reserved_);
  if (bytes > committed_) {
    // Geometric growth, in steps of at most kCommitStep.
    size_t want =
        std::max(bytes, std::min(2 * committed_, committed_ + kCommitStep));
    want = std::min(
        reserved_, RoundUp(want, want >= kLarge ? kHugePageBytes : PageSize()));
    char* base = reinterpret_cast<char*>(words_);
    if (mprotect(base + committed_, want - committed_,
                 PROT_READ | PROT_WRITE) != 0) {
      throw std::bad_alloc();
    }
    committed_ = want;
  } else if (n < size_) {
    std::fill(words_ + n, words_ + size_, 0u);  // new words read as zero
  }
  size_ = n;
}

void WordArray::ShrinkToFit() {
  if (!words_) return;
  size_t keep = RoundUp(size_ * sizeof(uint32_t), PageSize());
  char* base = reinterpret_cast<char*>(words_);
  if (keep == 0) {
    munmap(words_, reserved_);
    words_ = nullptr;
    committed_ = reserved_ = 0;
    return;
  }
  if (keep < reserved_) {
    munmap(base + keep, reserved_ - keep);
    reserved_ = keep;
  }
  committed_ = std::min(committed_, keep);
}

}  // namespace cell_grid_detail

namespace {

// The grid's array for good: its mapping never moves, so views stay valid.
SharedArray<uint32_t> Share(cell_grid_detail::WordArray words) {
  auto kept = std::make_shared<cell_grid_detail::WordArray>(std::move(words));
  return SharedArray<uint32_t>(kept->data(), kept->size(), kept);
}

}  // namespace

class CellGridBuilder {
 public:
  static Result<CellGrid> Build(const std::vector<Feature>& features,
                                const std::vector<Box>& bounds,
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

namespace {

// Crossings of the segment q -> p with a run of edges at `run` (its [n]
// word): 0 or 1 for their parity, 2 if p lies on one of the edges. The
// box [lo, hi] bounds the segment.
inline int RunCrossings(const uint32_t* run, int64_t px, int64_t py, int64_t qx,
                        int64_t qy, int64_t lo_x, int64_t lo_y, int64_t hi_x,
                        int64_t hi_y) {
  uint32_t n = run[0];
  const auto* v = reinterpret_cast<const int32_t*>(run + 1);
  int odd = 0;
  int64_t ax = v[0], ay = v[1];
  for (uint32_t i = 1; i < n; ++i) {
    int64_t bx = v[2 * i], by = v[2 * i + 1];
    int64_t ex0 = std::min(ax, bx), ex1 = std::max(ax, bx);
    int64_t ey0 = std::min(ay, by), ey1 = std::max(ay, by);
    if (ex1 >= lo_x && ex0 <= hi_x && ey1 >= lo_y && ey0 <= hi_y) {
      int64_t op = Cross(ax, ay, bx, by, px, py);
      if (op == 0) {
        // On the edge's line: on the edge, or off it and not crossed.
        if (ex0 <= px && px <= ex1 && ey0 <= py && py <= ey1) return 2;
      } else {
        int64_t oq = Cross(ax, ay, bx, by, qx, qy);
        if ((oq > 0 && op < 0) || (oq < 0 && op > 0)) {
          bool a_left = Cross(qx, qy, px, py, ax, ay) >= 0;
          bool b_left = Cross(qx, qy, px, py, bx, by) >= 0;
          odd ^= int(a_left != b_left);
        }
      }
    }
    ax = bx;
    ay = by;
  }
  return odd;
}

}  // namespace

CellGrid::RingSide CellGrid::SideOf(const uint32_t* unit, const Query& query,
                                    RunCache& cache, const uint32_t*& next) {
  uint32_t runs = (unit[1] >> 1) & kMaxRuns;
  bool inside = unit[1] & 1;
  const uint32_t* w = unit + 2;
  for (uint32_t r = 0; r < runs; ++r) {
    const uint32_t* run = w;
    int crossings = -1;
    if (w[0] & kRunRef) {
      run = w - (w[0] & ~kRunRef);
      ++w;
      for (uint32_t k = 0; k < cache.size; ++k) {
        if (cache.run[k] == run) {
          crossings = cache.odd[k];
          break;
        }
      }
    } else {
      w += 1 + 2 * w[0];
    }
    if (crossings < 0) {
      crossings = RunCrossings(run, query.px, query.py, query.qx, query.qy,
                               query.lo_x, query.lo_y, query.hi_x, query.hi_y);
      if (crossings == 2) return RingSide::kBoundary;
      if (cache.size < RunCache::kSize) {
        cache.run[cache.size] = run;
        cache.odd[cache.size++] = bool(crossings);
      }
    }
    inside ^= bool(crossings);
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
  Query query;
  query.px = p.x - layout_.origin.x - int64_t(col << layout_.shift_x);
  query.py = p.y - layout_.origin.y - int64_t(row << layout_.shift_y);
  query.qx = q.x;
  query.qy = q.y;
  query.lo_x = std::min(query.px, q.x);
  query.hi_x = std::max(query.px, q.x);
  query.lo_y = std::min(query.py, q.y);
  query.hi_y = std::max(query.py, q.y);
  RunCache cache;
  const uint32_t* unit = d + 1;
  for (uint32_t k = 0; k < units;) {
    uint32_t feature = unit[0] & ~kHole;
    uint32_t part = unit[1] >> 16;
    RingSide side = RingSide::kOutside;
    const uint32_t* next = nullptr;
    if (unit[0] & kHole) {
      next = SkipUnit(unit);  // a hole listed without its shell
    } else {
      side = SideOf(unit, query, cache, next);
      if (side == RingSide::kBoundary) return feature;
    }
    unit = next;
    ++k;
    // The holes of this polygon, in order, as Classify(Polygon) takes them.
    while (k < units && unit[0] == (feature | kHole) &&
           (unit[1] >> 16) == part) {
      if (side == RingSide::kInside) {
        RingSide hole = SideOf(unit, query, cache, next);
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
  return (slots_.size() + data_.size()) * sizeof(uint32_t);
}

namespace {

// Threads for work over `items` things: options.threads if set, else one
// per core (at most 8), one below `serial_below` items.
unsigned ThreadsFor(const CellGridOptions& options, uint64_t items,
                    uint64_t serial_below) {
  if (options.threads > 0) return unsigned(options.threads);
  if (items < serial_below) return 1;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}

// Runs body(t) for t in [0, threads), t = 0 on the calling thread.
template <class Body>
void Parallel(unsigned threads, Body&& body) {
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(body, t);
  body(0u);
  for (auto& th : pool) th.join();
}

}  // namespace

Result<CellGrid> CellGrid::Build(const std::vector<Feature>& features,
                                 const CellGridOptions& options) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<Box> bounds(features.size(), Box{{kMax, kMax}, {-kMax, -kMax}});
  unsigned threads = ThreadsFor(options, features.size(), 4096);
  Parallel(threads, [&](unsigned t) {
    for (size_t i = features.size() * t / threads;
         i < features.size() * (t + 1) / threads; ++i) {
      Box& box = bounds[i];
      for (const Polygon& part : features[i].shape.parts) {
        for (const Ring& ring : part.rings) {
          for (const Pt& p : ring) {
            box.min.x = std::min(box.min.x, p.x);
            box.min.y = std::min(box.min.y, p.y);
            box.max.x = std::max(box.max.x, p.x);
            box.max.y = std::max(box.max.y, p.y);
          }
        }
      }
    }
  });
  return CellGridBuilder::Build(features, bounds, options);
}

Result<CellGrid> CellGrid::BuildWithBounds(const std::vector<Feature>& features,
                                           const std::vector<Box>& bounds,
                                           const CellGridOptions& options) {
  assert(bounds.size() == features.size());
  return CellGridBuilder::Build(features, bounds, options);
}

Result<CellGrid> CellGridBuilder::Build(const std::vector<Feature>& features,
                                        const std::vector<Box>& bounds,
                                        const CellGridOptions& options) {
  auto too_big = [](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument,
                "layer does not fit the bucket grid: " + why);
  };
  CellGrid g;
  // 1. Rings, in place, in order of feature, part, ring: vertex i of ring r
  // is ring[r].v[i], and vertex ring[r].n closes the ring (edge i runs from
  // vertex i to i + 1). Each thread lists the rings of a range of features.
  if (features.size() >= (1u << 31)) {
    return too_big("over 2^31 features or vertices");
  }
  struct RingInfo {
    const Pt* v;
    uint32_t n;
    uint32_t feature;  // | kHole if the ring is a hole
    uint32_t part;     // part << 16
    uint32_t shell;    // the ring index of its polygon's shell
  };
  std::vector<RingInfo> ring;
  {
    unsigned threads = ThreadsFor(options, features.size(), 4096);
    std::vector<std::vector<RingInfo>> lists(threads);
    std::atomic<bool> many_parts{false};
    Parallel(threads, [&](unsigned t) {
      std::vector<RingInfo>& list = lists[t];
      for (size_t i = features.size() * t / threads;
           i < features.size() * (t + 1) / threads; ++i) {
        const auto& parts = features[i].shape.parts;
        if (parts.size() > kMaxParts) many_parts = true;
        for (size_t k = 0; k < parts.size(); ++k) {
          // Local for now: the shell's index in this thread's list.
          uint32_t shell = uint32_t(list.size());
          for (const Ring& r : parts[k].rings) {
            list.push_back({r.data(), uint32_t(r.size()),
                            uint32_t(i) | (list.size() != shell ? kHole : 0),
                            uint32_t(k) << 16, shell});
          }
        }
      }
    });
    if (many_parts) return too_big("a shape has 2^16 parts");
    size_t total = 0;
    for (const auto& list : lists) total += list.size();
    ring.resize(total);
    size_t at = 0;
    for (auto& list : lists) {
      uint32_t offset = uint32_t(at);
      for (RingInfo x : list) {
        x.shell += offset;
        ring[at++] = x;
      }
      list = {};
    }
  }
  size_t rings = ring.size();
  std::vector<uint64_t> ring_start(rings + 1, 0);  // closed vertices before
  for (size_t r = 0; r < rings; ++r) {
    ring_start[r + 1] = ring_start[r] + (ring[r].n ? ring[r].n + 1 : 0);
  }
  uint64_t vertices = ring_start.back();
  if (vertices >= (1u << 31)) return too_big("over 2^31 features or vertices");
  CellGrid::Layout& L = g.layout_;
  if (vertices == 0) return g;  // no buckets: nothing covers anything

  // Rings split between threads by vertex count.
  unsigned threads = ThreadsFor(options, vertices, 200000);
  std::vector<size_t> ring_split{0};
  for (unsigned t = 1; t < threads; ++t) {
    uint64_t want = vertices * t / threads;
    size_t r =
        std::lower_bound(ring_start.begin(), ring_start.end() - 1, want) -
        ring_start.begin();
    ring_split.push_back(std::max(r, ring_split.back()));
  }
  ring_split.push_back(rings);
  auto parallel = [&](auto&& body) { Parallel(threads, body); };

  // 2. Extent and bucket size: powers of two, about the requested count.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Box ext{{kMax, kMax}, {-kMax, -kMax}};
  for (const Box& b : bounds) {
    ext.min.x = std::min(ext.min.x, b.min.x);
    ext.min.y = std::min(ext.min.y, b.min.y);
    ext.max.x = std::max(ext.max.x, b.max.x);
    ext.max.y = std::max(ext.max.y, b.max.y);
  }
  const int64_t min_x = ext.min.x, min_y = ext.min.y;
  int64_t w = ext.max.x - min_x, h = ext.max.y - min_y;
  auto count = [&](int kx, int ky) {
    return double((w >> kx) + 1) * double((h >> ky) + 1);
  };
  int min_shift = std::max(2, options.min_shift);
  int kx = min_shift, ky = min_shift;
  if (options.force_shift >= 2) {
    kx = ky = options.force_shift;
  } else {
    double target =
        std::max(1.0, double(vertices) * options.buckets_per_vertex);
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

  // Buckets whose closed box edge a-b's box touches: rows r0..r1 and
  // columns c0..c1.
  struct Span {
    int64_t c0, c1, r0, r1;
  };
  auto span_of = [&](Pt a, Pt b) {
    return Span{std::max<int64_t>(0, (std::min(a.x, b.x) - min_x - 1) >> kx),
                (std::max(a.x, b.x) - min_x) >> kx,
                std::max<int64_t>(0, (std::min(a.y, b.y) - min_y - 1) >> ky),
                (std::max(a.y, b.y) - min_y) >> ky};
  };

  // 3. Bands of rows, built one at a time by each thread so that a band's
  // working set stays in cache and only the final arrays grow with the
  // layer. First, per band, the runs of consecutive edges of each ring that
  // touch its rows, ascending by ring, then edge: each thread lists them for
  // its rings, then sorts its list by band (stably).
  uint32_t band_rows =
      options.band_rows > 0
          ? uint32_t(options.band_rows)
          : uint32_t(std::max<uint64_t>(1, (uint64_t(1) << 15) / cols));
  size_t bands = (size_t(L.rows) + band_rows - 1) / band_rows;
  struct Run {
    uint32_t ring, e0, e1;  // edges [e0, e1)
  };
  struct BandRun {
    uint32_t band;
    Run run;
  };
  // Thread t's runs in band b: thread_runs[t][band_first[t][b] ..
  // band_first[t][b + 1]).
  std::vector<std::vector<Run>> thread_runs(threads);
  std::vector<std::vector<uint64_t>> band_first(threads);
  parallel([&](unsigned t) {
    std::vector<BandRun> out;
    // Start edge of the open run in each band of the last edge's range.
    std::vector<uint32_t> open, next;
    // Most rings lie in one band: all their edges touch it. (The box is
    // the feature's: a hole's may be smaller.) Its band, or kSpans.
    constexpr uint32_t kSpans = UINT32_MAX;
    auto band_of = [&](const RingInfo& info) {
      const Box& box = bounds[info.feature & ~kHole];
      uint32_t first =
          uint32_t(std::max<int64_t>(0, (box.min.y - min_y - 1) >> ky));
      uint32_t last = uint32_t((box.max.y - min_y) >> ky);
      return first / band_rows == last / band_rows ? first / band_rows : kSpans;
    };
    for (size_t r = ring_split[t]; r < ring_split[t + 1]; ++r) {
      // The vertices of a later ring this loop will walk, asked for ahead.
      if (r + 2 < ring_split[t + 1] && band_of(ring[r + 2]) == kSpans) {
        PrefetchVertices(ring[r + 2].v, ring[r + 2].n);
      }
      const RingInfo& info = ring[r];
      uint32_t n = info.n;
      if (n == 0) continue;
      if (uint32_t band = band_of(info); band != kSpans) {
        out.push_back({band, {uint32_t(r), 0, n}});
        continue;
      }
      int64_t b0 = 1, b1 = 0;  // bands of the open runs
      // While b0 == b1, an edge whose lowest y is at least stay_lo and
      // highest below stay_hi touches band b0 alone too: nothing changes.
      int64_t stay_lo = kMax, stay_hi = -kMax;
      open.clear();
      const Pt* v = info.v;
      for (uint32_t e = 0; e < n; ++e) {
        Pt a = v[e], b = v[e + 1 == n ? 0 : e + 1];
        if (std::min(a.y, b.y) >= stay_lo && std::max(a.y, b.y) < stay_hi) {
          continue;
        }
        Span s = span_of(a, b);
        int64_t nb0 = uint32_t(s.r0) / band_rows;
        int64_t nb1 = uint32_t(s.r1) / band_rows;
        next.assign(size_t(nb1 - nb0 + 1), e);
        for (int64_t k = b0; k <= b1; ++k) {
          if (k < nb0 || k > nb1) {
            out.push_back({uint32_t(k), {uint32_t(r), open[k - b0], e}});
          } else {
            next[k - nb0] = open[k - b0];
          }
        }
        std::swap(open, next);
        b0 = nb0;
        b1 = nb1;
        if (b0 == b1) {
          stay_lo = b0 == 0 ? -kMax : min_y + 1 + ((b0 * band_rows) << ky);
          stay_hi = min_y + (((b0 + 1) * band_rows) << ky);
        } else {
          stay_lo = kMax;
          stay_hi = -kMax;
        }
      }
      for (int64_t k = b0; k <= b1; ++k) {
        out.push_back({uint32_t(k), {uint32_t(r), open[k - b0], n}});
      }
    }
    std::vector<uint64_t>& first = band_first[t];
    first.assign(bands + 1, 0);
    for (const BandRun& br : out) ++first[br.band + 1];
    for (size_t b = 0; b < bands; ++b) first[b + 1] += first[b];
    std::vector<uint64_t> fill(first.begin(), first.end() - 1);
    thread_runs[t].resize(out.size());
    for (const BandRun& br : out) thread_runs[t][fill[br.band]++] = br.run;
  });

  // 4. Each band: which edges touch which bucket (closed boxes), then walk
  // each row west to east from a point west of the extent (inside no ring),
  // carrying the set of rings that contain the current reference point: the
  // segment between two neighbours' reference points lies in their two
  // buckets, so only their edges can cross it. The slots go straight to
  // their place; a band's data goes to the end of data_words when it is done.
  cell_grid_detail::WordArray slot_words, data_words;
  try {
    slot_words = cell_grid_detail::WordArray(buckets);
    slot_words.Resize(buckets);
    // The mixed buckets' words in huge pages too. Which is cheaper to touch
    // first depends on the host: on session 10's (Intel) a huge page cost
    // up to 4.9 s a GiB against about 0.6 s in small pages (the 1,000,000-cell
    // build 11.8-13.7 s with, 10.2-11.6 s without); on session 23's (AMD
    // EPYC), where small-page faults are the dear ones, the build up to the
    // grid's end took 4.9-6.7 s with and 6.5-7.5 s without (three builds
    // each, two alternating runs). A grid from an index file views the mapped
    // file's pages instead (see index_file.cpp).
    data_words = cell_grid_detail::WordArray(kMixed);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kUnavailable, "out of memory for a bucket grid of " +
                                             std::to_string(buckets) +
                                             " buckets");
  }
  std::mutex data_mutex;  // guards data_words' size
  std::atomic<size_t> next_band{0};
  std::atomic<bool> failed{false};
  std::vector<std::string> errors(threads);
  std::vector<size_t> mixed(threads, 0), edge_entries(threads, 0);
  const int64_t sx = int64_t(1) << kx, sy = int64_t(1) << ky;
  parallel([&](unsigned t) {
    std::string& error = errors[t];
    size_t mixed_here = 0;  // a counter per thread shares a cache line
    auto fail = [&](const std::string& why) {
      error = why;
      failed = true;
    };
    // The band's rings, numbered in order of their global index, so that a
    // bucket's rings and the walk's set of rings stay in cache.
    struct LocalRing {
      uint32_t feature;  // feature index | kHole if a hole
      uint32_t part;     // part << 16
      uint32_t shell;    // the shell's global index
      uint32_t global;
    };
    std::vector<LocalRing> locals;
    struct Touch {
      uint32_t col, row, edge;  // row within the band
    };
    std::vector<Touch> touches;
    std::vector<Pt> pts;             // the band's runs' vertices
    std::vector<uint32_t> pts_ring;  // local ring of edge j
    std::vector<uint32_t> offset, fill;
    // The row's centre line: the walk's reference points lie on it in
    // buckets with no nudge. Per bucket, the rings of the edges that cross
    // the line between the last bucket's centre (exclusive) and its own
    // (inclusive), in (ring, edge) order; the same counting sort as offset.
    struct Crossing {
      uint32_t bucket, ring;
    };
    std::vector<Crossing> crossings;
    std::vector<uint32_t> cross_offset, cross_ring;
    // Counts per bucket (at [b + 1]) to where each bucket's items start;
    // `fill` then holds the next free place of each.
    auto to_starts = [&](std::vector<uint32_t>& at) {
      std::partial_sum(at.begin(), at.end(), at.begin());
      fill.assign(at.begin(), at.end() - 1);
    };
    // Edges touching each bucket, with their vertices relative to the
    // bucket's south-west corner: the walk reads them in order, and every
    // product of coordinate differences fits in 64 bits.
    struct Entry {
      uint32_t edge, ring;  // edge j of the band: pts[j] to pts[j + 1]
      int32_t ax, ay, bx, by;
    };
    std::vector<Entry> entries;
    std::vector<uint32_t> data;       // this band's data, from offset 0
    std::vector<uint32_t> members;    // sorted local ring ids
    std::vector<uint32_t> run;        // a run's relative vertices
    std::vector<size_t> bucket_runs;  // where the bucket's runs start
    bool members_changed = true;
    auto toggle = [&](uint32_t ring) {
      members_changed = true;
      auto it = std::lower_bound(members.begin(), members.end(), ring);
      if (it != members.end() && *it == ring) {
        members.erase(it);
      } else {
        members.insert(it, ring);
      }
    };
    // The lowest feature whose polygon contains the reference point: a
    // shell in `members` none of whose holes is (they follow it there).
    auto pure_answer = [&]() -> uint32_t {
      for (size_t k = 0; k < members.size(); ++k) {
        const LocalRing& x = locals[members[k]];
        if (x.shell != x.global) continue;  // a hole
        if (k + 1 < members.size() &&
            locals[members[k + 1]].shell == x.global) {
          continue;  // in one of its holes
        }
        return x.feature;
      }
      return CellGrid::kNone;
    };
    for (size_t band; !failed && (band = next_band++) < bands;) {
      uint32_t row_lo = uint32_t(band * band_rows);
      uint32_t row_hi =
          uint32_t(std::min<uint64_t>(L.rows, row_lo + band_rows));
      size_t band_buckets = size_t(row_hi - row_lo) * cols;
      // Touches in (ring, edge) order, then sorted by bucket (stable).
      touches.clear();
      pts.clear();
      pts_ring.clear();
      locals.clear();
      offset.assign(band_buckets + 1, 0);
      crossings.clear();
      cross_offset.assign(band_buckets + 1, 0);
      for (unsigned u = 0; u < threads; ++u) {
        const std::vector<Run>& runs = thread_runs[u];
        uint64_t runs_end = band_first[u][band + 1];
        for (uint64_t i = band_first[u][band]; i < runs_end; ++i) {
          // The rings' records and vertices are far apart in memory: ask
          // for those of later runs ahead, every cache line of a run's
          // vertices (the first alone left the copy below waiting on the
          // rest: 1M build-only, 10.14-10.48 s vs 10.57-11.31 s).
          if (i + 16 < runs_end) __builtin_prefetch(&ring[runs[i + 16].ring]);
          if (i + 4 < runs_end) {
            const Run& ahead = runs[i + 4];
            const RingInfo& later = ring[ahead.ring];
            uint32_t last = std::min(ahead.e1, later.n - 1);  // n wraps to 0
            PrefetchVertices(later.v + ahead.e0, last - ahead.e0 + 1);
          }
          Run run = runs[i];
          const RingInfo& info = ring[run.ring];
          if (locals.empty() || locals.back().global != run.ring) {
            locals.push_back({info.feature, info.part, info.shell, run.ring});
          }
          uint32_t local_ring = uint32_t(locals.size() - 1);
          // The run's vertices, copied: edge j of the band runs from pts[j]
          // to pts[j + 1].
          uint32_t base = uint32_t(pts.size());
          const Pt* v = info.v;
          uint32_t n = info.n;
          for (uint32_t e = run.e0; e <= run.e1; ++e) {
            pts.push_back(v[e == n ? 0 : e]);
          }
          pts_ring.resize(pts.size(), local_ring);
          for (uint32_t j = base; j < base + (run.e1 - run.e0); ++j) {
            Pt a = pts[j], b = pts[j + 1];
            Span s = span_of(a, b);
            int64_t r0 = std::max<int64_t>(s.r0, row_lo);
            int64_t r1 = std::min<int64_t>(s.r1, row_hi - 1);
            // In a single row or column of buckets the segment, being
            // connected, touches every one its box spans.
            bool line = s.c0 == s.c1 || s.r0 == s.r1;
            for (int64_t row = r0; row <= r1; ++row) {
              if (int64_t step = CentreLineStep(
                      a, b, min_y + (row << ky) + sy / 2, min_x, kx, s.c0);
                  step >= 0 && step < int64_t(cols)) {
                size_t at = size_t(row - row_lo) * cols + size_t(step);
                crossings.push_back({uint32_t(at), local_ring});
                ++cross_offset[at + 1];
              }
              for (int64_t col = s.c0; col <= s.c1; ++col) {
                if (!line &&
                    !TouchesBox(a, b, min_x + (col << kx), min_y + (row << ky),
                                min_x + ((col + 1) << kx),
                                min_y + ((row + 1) << ky))) {
                  continue;
                }
                uint32_t local_row = uint32_t(row - row_lo);
                touches.push_back({uint32_t(col), local_row, j});
                ++offset[size_t(local_row) * cols + size_t(col) + 1];
              }
            }
          }
        }
      }
      if (touches.size() >= (1u << 31)) {
        fail("over 2^31 edge entries");
        break;
      }
      edge_entries[t] += touches.size();
      to_starts(offset);
      entries.resize(touches.size());
      bool fits = true;
      for (const Touch& x : touches) {
        int64_t cx = min_x + (int64_t(x.col) << kx);
        int64_t cy = min_y + (int64_t(row_lo + x.row) << ky);
        Pt a = pts[x.edge], b = pts[x.edge + 1];
        int64_t ax = a.x - cx, ay = a.y - cy, bx = b.x - cx, by = b.y - cy;
        fits &= std::max({ax, ay, bx, by}) <= kMaxRelative &&
                std::min({ax, ay, bx, by}) >= -kMaxRelative;
        entries[fill[size_t(x.row) * cols + x.col]++] = {
            x.edge,      pts_ring[x.edge], int32_t(ax),
            int32_t(ay), int32_t(bx),      int32_t(by)};
      }
      if (!fits) {
        fail("an edge over 1 degree long");
        break;
      }
      to_starts(cross_offset);
      cross_ring.resize(crossings.size());
      for (const Crossing& x : crossings) cross_ring[fill[x.bucket]++] = x.ring;

      data.clear();
      uint32_t* slots = slot_words.data() + size_t(row_lo) * cols;
      for (uint32_t row = row_lo; row < row_hi && !failed; ++row) {
        members.clear();
        members_changed = true;
        uint32_t answer = CellGrid::kNone;
        Pt prev{};  // the last reference point, relative to its bucket
        bool prev_centre = true;  // prev is its bucket's centre (or west)
        for (uint32_t col = 0; col < L.cols; ++col) {
          size_t b = size_t(row - row_lo) * cols + col;
          uint32_t begin = offset[b], end = offset[b + 1];
          // Reference point: on no edge touching the bucket.
          uint32_t nudge = 0;
          Pt q = g.ReferencePoint(col, row, 0);
          for (uint32_t i = begin; i < end;) {
            const Entry& x = entries[i];
            if (OnEdge(x.ax, x.ay, x.bx, x.by, q.x, q.y)) {
              if (++nudge > kMaxNudge) {
                fail("no free reference point in a bucket");
                break;
              }
              q = g.ReferencePoint(col, row, nudge);
              i = begin;
            } else {
              ++i;
            }
          }
          if (failed) break;
          // Crossings of prev -> q, a ring's counted together (edges come
          // in (ring, edge) order). Between two centres the segment runs
          // along the row's centre line, on no edge at either end: the
          // edges crossing the line between them, found with the touches.
          if (nudge == 0 && prev_centre) {
            uint32_t ring = UINT32_MAX;
            bool odd = false;
            for (uint32_t i = cross_offset[b]; i < cross_offset[b + 1]; ++i) {
              if (cross_ring[i] != ring) {
                if (odd) toggle(ring);
                ring = cross_ring[i];
                odd = false;
              }
              odd = !odd;
            }
            if (odd) toggle(ring);
          } else {
            // Else with the edges of this bucket and the last, each edge
            // once, tested in its own bucket's coordinates (the segment
            // lies in both buckets).
            uint32_t a = col > 0 ? offset[b - 1] : begin, a_end = begin;
            uint32_t c = begin;
            // prev -> q in the last bucket's and this bucket's coordinates.
            int64_t px = col > 0 ? prev.x : -1, py = col > 0 ? prev.y : q.y;
            int64_t qx_last = q.x + sx, px_this = col > 0 ? prev.x - sx : -1;
            uint32_t ring = UINT32_MAX;
            bool odd = false;
            while (a < a_end || c < end) {
              uint32_t ja = a < a_end ? entries[a].edge : UINT32_MAX;
              uint32_t jc = c < end ? entries[c].edge : UINT32_MAX;
              const Entry* x;
              bool crosses;
              if (ja < jc) {
                x = &entries[a++];
                crosses = Crosses(px, py, qx_last, q.y, *x);
              } else {
                if (ja == jc) ++a;
                x = &entries[c++];
                crosses = Crosses(px_this, py, q.x, q.y, *x);
              }
              if (x->ring != ring) {
                if (odd) toggle(ring);
                ring = x->ring;
                odd = false;
              }
              odd ^= crosses;
            }
            if (odd) toggle(ring);
          }
          prev = q;
          prev_centre = nudge == 0;
          if (begin == end) {
            if (members_changed) {
              answer = pure_answer();
              members_changed = false;
            }
            slots[b] = answer + 1;  // kNone + 1 == 0
            continue;
          }
          // Mixed: the rings with edges here, and those containing q.
          if (data.size() >= kMixed) {
            fail("over 2^31 words");
            break;
          }
          slots[b] = kMixed | uint32_t(data.size());  // local for now
          ++mixed_here;
          size_t header = data.size();
          data.push_back(0);
          bucket_runs.clear();
          uint32_t units = 0;
          size_t m = 0;
          uint32_t i = begin;
          while (i < end || m < members.size()) {
            uint32_t ring_e = i < end ? entries[i].ring : UINT32_MAX;
            uint32_t ring_m = m < members.size() ? members[m] : UINT32_MAX;
            uint32_t ring = std::min(ring_e, ring_m);
            bool contains = ring_m == ring;
            if (contains) ++m;
            const LocalRing& words = locals[ring];
            data.push_back(words.feature);
            size_t info_at = data.size();
            data.push_back(0);
            uint32_t runs = 0;
            while (i < end && entries[i].ring == ring) {
              // One run: edges j, j + 1, ... that all touch this bucket.
              uint32_t j = entries[i].edge;
              run.clear();
              run.push_back(uint32_t(entries[i].ax));
              run.push_back(uint32_t(entries[i].ay));
              for (; i < end && entries[i].edge == j; ++i, ++j) {
                run.push_back(uint32_t(entries[i].bx));
                run.push_back(uint32_t(entries[i].by));
              }
              ++runs;
              // The same edges, either way round, stored already for
              // another ring (the last few runs are looked at).
              uint32_t n = uint32_t(run.size() / 2);
              size_t same = SIZE_MAX;
              size_t looked = 0;
              for (size_t k = bucket_runs.size(); k-- > 0 && looked < 16;) {
                size_t at = bucket_runs[k];
                if (data[at] != n) continue;
                ++looked;
                const uint32_t* v = data.data() + at + 1;
                bool forward = std::equal(run.begin(), run.end(), v);
                bool backward = !forward;
                for (uint32_t j = 0; backward && j < n; ++j) {
                  backward = v[2 * (n - 1 - j)] == run[2 * j] &&
                             v[2 * (n - 1 - j) + 1] == run[2 * j + 1];
                }
                if (forward || backward) {
                  same = at;
                  break;
                }
              }
              if (same != SIZE_MAX) {
                data.push_back(kRunRef | uint32_t(data.size() - same));
              } else {
                bucket_runs.push_back(data.size());
                data.push_back(n);
                data.insert(data.end(), run.begin(), run.end());
              }
            }
            if (runs > kMaxRuns) {
              fail("2^15 runs of one ring");
              break;
            }
            data[info_at] = words.part | (runs << 1) | (contains ? 1 : 0);
            ++units;
          }
          if (failed) break;
          if (units > kMaxUnits) {
            fail("2^24 rings in one bucket");
            break;
          }
          data[header] = units | (nudge << 24);
        }
      }
      if (failed) break;
      // The band's data goes after the bands finished before it; its slots
      // move by the words before it.
      size_t base = 0;
      {
        std::lock_guard<std::mutex> lock(data_mutex);
        base = data_words.size();
        if (base + data.size() >= kMixed) {
          fail("over 2^31 words");
          break;
        }
        try {
          data_words.Resize(base + data.size());
        } catch (const std::bad_alloc&) {
          fail("out of memory");
          break;
        }
      }
      if (!data.empty()) {
        std::memcpy(data_words.data() + base, data.data(),
                    data.size() * sizeof(uint32_t));
      }
      for (size_t b = 0; b < band_buckets; ++b) {
        if (slots[b] & kMixed) slots[b] += uint32_t(base);
      }
    }
    mixed[t] = mixed_here;
  });
  for (const std::string& error : errors) {
    if (!error.empty()) return too_big(error);
  }
  data_words.ShrinkToFit();
  g.slots_ = Share(std::move(slot_words));
  g.data_ = Share(std::move(data_words));
  for (unsigned t = 0; t < threads; ++t) {
    L.mixed_buckets += mixed[t];
    L.edge_entries += edge_entries[t];
  }
  return g;
}

}  // namespace wangge::spatial
