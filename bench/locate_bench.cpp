#include "bench/locate_bench.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "base/memory.h"
#include "bench/geos_index.h"
#include "bench/postgis_server.h"
#include "spatial/jagged_grid.h"
#include "spatial/locator.h"

namespace wangge::bench {
namespace {

using spatial::Feature;
using spatial::Pt;
using Clock = std::chrono::steady_clock;

// Cell size of the sample town (about 660 m x 670 m).
constexpr int64_t kCellWidth = 7270000;
constexpr int64_t kCellHeight = 6000000;
constexpr Pt kOrigin{108000000000, 36000000000};

struct Size {
  int cols = 0;
  int rows = 0;
  int64_t cells() const { return int64_t(cols) * rows; }
};

struct Tiling {
  std::vector<Feature> cells;  // sorted by code: index = answer
  int64_t vertices = 0;
};

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Resident set size in bytes, after returning freed memory to the system.
int64_t ResidentBytes() {
  ReleaseFreeMemory();
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

Tiling MakeTiling(Size size, uint64_t seed) {
  spatial::JaggedGrid grid({.origin = kOrigin,
                            .cols = size.cols,
                            .rows = size.rows,
                            .cell_width = kCellWidth,
                            .cell_height = kCellHeight,
                            .seed = seed});
  Tiling t;
  int64_t n = size.cells();
  t.cells.resize(n);
  for (int row = 0; row < size.rows; ++row) {
    for (int col = 0; col < size.cols; ++col) {
      int64_t i = int64_t(row) * size.cols + col;
      // Codes in shuffled order, so "lowest code" is not "first in space";
      // 7919 is prime and divides none of the sizes.
      int64_t rank = (i * 7919) % n;
      char code[32], village[32];
      std::snprintf(code, sizeof code, "C%07lld", static_cast<long long>(rank));
      std::snprintf(village, sizeof village, "V%03d%03d", col / 16, row / 16);
      Feature& f = t.cells[rank];
      f.code = code;
      f.attributes["village"] = village;
      f.shape.parts.push_back({{grid.CellRing(col, row)}});
      t.vertices += int64_t(f.shape.parts[0].rings[0].size());
    }
  }
  return t;
}

// 99% of the points uniformly inside the tiling (its nominal rectangle less
// 0.3 cell all round, beyond the corner jitter and edge wobble), 1% in a
// frame of one cell around its bounding box: all outside.
std::vector<Pt> MakePoints(Size size, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t x0 = kOrigin.x, x1 = kOrigin.x + size.cols * kCellWidth;
  int64_t y1 = kOrigin.y, y0 = kOrigin.y - size.rows * kCellHeight;
  std::uniform_int_distribution<int64_t> in_x(x0 + kCellWidth * 3 / 10,
                                              x1 - kCellWidth * 3 / 10);
  std::uniform_int_distribution<int64_t> in_y(y0 + kCellHeight * 3 / 10,
                                              y1 - kCellHeight * 3 / 10);
  // Bounding box of the tiling is within 0.3 cell of the rectangle.
  int64_t bx0 = x0 - kCellWidth * 3 / 10, bx1 = x1 + kCellWidth * 3 / 10;
  int64_t by0 = y0 - kCellHeight * 3 / 10, by1 = y1 + kCellHeight * 3 / 10;
  std::uniform_int_distribution<int64_t> out_x(bx0 - kCellWidth,
                                               bx1 + kCellWidth);
  std::uniform_int_distribution<int64_t> out_y(by0 - kCellHeight,
                                               by1 + kCellHeight);
  std::vector<Pt> points;
  points.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    if (i % 100 == 99) {
      Pt p;
      do {
        p = {out_x(rng), out_y(rng)};
      } while (p.x >= bx0 && p.x <= bx1 && p.y >= by0 && p.y <= by1);
      points.push_back(p);
    } else {
      points.push_back({in_x(rng), in_y(rng)});
    }
  }
  return points;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// A locator built from a copy of `cells`, starting from memory given back to
// the system, and what the build cost.
struct TimedBuild {
  Result<spatial::Locator> locator;
  double wall_s = 0, cpu_s = 0;
  int64_t rss_growth = 0;  // resident bytes after the build less before
};

TimedBuild BuildLocator(const std::vector<Feature>& cells) {
  spatial::Layers layers;
  layers.cells = cells;
  int64_t rss0 = ResidentBytes();
  auto t0 = Clock::now();
  double c0 = ProcessCpuSeconds();
  TimedBuild b{.locator = spatial::Locator::Build(std::move(layers), 1)};
  b.cpu_s = ProcessCpuSeconds() - c0;
  b.wall_s = Seconds(Clock::now() - t0);
  b.rss_growth = ResidentBytes() - rss0;
  return b;
}

struct Timing {
  double wall_s = 0;
  double cpu_s = 0;  // CPU time of the querying threads, summed
};

// Runs body(thread, begin, end) over [0, n) split into `threads` contiguous
// parts, one std::thread each. On a shared machine the CPU time is the
// steadier figure: wall time also counts time spent waiting for a core.
Timing TimeParallel(int threads, int64_t n,
                    const std::function<void(int, int64_t, int64_t)>& body) {
  std::vector<double> cpu(threads, 0);
  auto run = [&](int t) {
    double c0 = ThreadCpuSeconds();
    body(t, n * t / threads, n * (t + 1) / threads);
    cpu[t] = ThreadCpuSeconds() - c0;
  };
  auto start = Clock::now();
  if (threads == 1) {
    run(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(run, t);
    for (auto& th : pool) th.join();
  }
  Timing timing{.wall_s = Seconds(Clock::now() - start)};
  for (double c : cpu) timing.cpu_s += c;
  return timing;
}

struct Check {
  int64_t agree = 0;
  int64_t on_edge = 0;
  int64_t mismatches = 0;
  std::string first_mismatch;
};

// Compares `got` with wangge's answers on `points[0..got.size())`.
Check CrossCheck(const std::vector<Feature>& cells,
                 const std::vector<Pt>& points,
                 const std::vector<int32_t>& want,
                 const std::vector<int32_t>& got) {
  Check c;
  auto on_boundary = [&](int32_t cell, Pt p) {
    return cell >= 0 &&
           spatial::Classify(cells[cell].shape, p) == spatial::Side::kBoundary;
  };
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) {
      ++c.agree;
    } else if (got[i] >= -1 && (on_boundary(want[i], points[i]) ||
                                on_boundary(got[i], points[i]))) {
      ++c.on_edge;
    } else {
      if (c.mismatches++ == 0) {
        LonLat ll = spatial::ToLonLat(points[i]);
        char buf[160];
        std::snprintf(buf, sizeof buf, "point (%.9f, %.9f): wangge %s, got %s",
                      ll.lon, ll.lat,
                      want[i] >= 0 ? cells[want[i]].code.c_str() : "outside",
                      got[i] >= 0    ? cells[got[i]].code.c_str()
                      : got[i] == -1 ? "outside"
                                     : "query error");
        c.first_mismatch = buf;
      }
    }
  }
  return c;
}

struct SizeRun {
  const LocateOptions& options;
  std::ostream& progress;
  Size size;
  const Tiling& tiling;
  const std::vector<Pt>& points;
  std::vector<LonLat> degrees;
  std::vector<int32_t> want;  // wangge's answers
  std::vector<Record>& records;
  Table& table;
  int64_t& mismatches;

  std::vector<int> ThreadCounts() const {
    int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    return hw > 1 ? std::vector<int>{1, hw} : std::vector<int>{1};
  }

  void Add(const std::string& method, int threads, int64_t n,
           const std::vector<Timing>& timings, bool show_cpu,
           const std::vector<Figure>& extra, const std::string& check_text,
           const std::string& note, const std::string& build_text,
           const std::string& memory_text) {
    Record r{.benchmark = "locate",
             .size = size.cells(),
             .method = method,
             .threads = threads,
             .points = n,
             .note = note};
    std::vector<double> wall, cpu;
    for (const Timing& t : timings) {
      wall.push_back(t.wall_s * 1e9 / double(n));
      cpu.push_back(t.cpu_s * 1e9 / double(n));
    }
    r.figures.push_back(Summarise("ns_per_query", wall, "ns"));
    std::string cpu_text = "–";
    if (show_cpu) {
      r.figures.push_back(Summarise("cpu_ns_per_query", cpu, "ns"));
      cpu_text = Range(r.figures.back());
    }
    for (const Figure& f : extra) r.figures.push_back(f);
    table.Row({Thousands(size.cells()), method, std::to_string(threads),
               Thousands(n), Range(r.figures[0]), cpu_text, build_text,
               memory_text, check_text});
    progress << "  " << method << ", " << threads
             << " thread(s): " << Range(r.figures[0]) << " ns/query, CPU "
             << cpu_text << "\n";
    records.push_back(std::move(r));
  }

  std::string CheckText(const Check& c, const std::string& method) {
    mismatches += c.mismatches;
    if (c.mismatches > 0) {
      progress << "MISMATCH " << method << " at " << size.cells()
               << " cells: " << c.mismatches
               << " answers differ off edges; first: " << c.first_mismatch
               << "\n";
    }
    return c.mismatches == 0 ? "ok, " + Thousands(c.on_edge) + " on edge"
                             : "MISMATCH " + Thousands(c.mismatches) + ", " +
                                   Thousands(c.on_edge) + " on edge";
  }

  // Two rows: "wangge" is the cell lookup that GEOS and PostGIS are compared
  // with (degrees in, the covering cell out, nothing for a point outside);
  // "wangge-placement" is Locator::Locate as the server calls it (the cell's
  // and village's codes as strings, zones, and the nearest cell with its
  // distance for a point outside), checked against the lookup.
  Result<void> Wangge() {
    progress << "wangge: building the locator for " << Thousands(size.cells())
             << " cells\n";
    TimedBuild built = BuildLocator(tiling.cells);
    if (!built.locator) return std::unexpected(built.locator.error());
    double build_cpu_s = built.cpu_s, build_s = built.wall_s;
    const spatial::Locator& locator = *built.locator;
    const spatial::LayerIndex& cells = locator.cells();
    double rss_per_vertex = double(built.rss_growth) / double(tiling.vertices);
    double accounted = double(cells.IndexBytes()) / double(tiling.vertices);
    // The locator keeps its cells sorted by code; answers name the tiling's.
    std::unordered_map<std::string, int32_t> index_of;
    for (size_t i = 0; i < tiling.cells.size(); ++i) {
      index_of[tiling.cells[i].code] = int32_t(i);
    }
    std::vector<int32_t> tiling_index(cells.size(), -1);
    for (size_t k = 0; k < cells.size(); ++k) {
      auto it = index_of.find(std::string(cells.table().code(k)));
      if (it != index_of.end()) tiling_index[k] = it->second;
    }
    int64_t n = int64_t(points.size());
    std::vector<int32_t> got(n);
    std::vector<std::string> codes(n);
    for (int threads : ThreadCounts()) {
      std::vector<Timing> ns;
      for (int run = 0; run < options.runs; ++run) {
        ns.push_back(TimeParallel(threads, n, [&](int, int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            auto p = spatial::ToFixed(degrees[i]);
            auto hit = p ? cells.FirstCovering(*p) : std::nullopt;
            got[i] = hit ? tiling_index[*hit] : -1;
          }
        }));
      }
      std::vector<Figure> extra;
      std::string build_text = "", memory_text = "";
      if (threads == 1) {
        extra.push_back({"build_s", build_s, build_s, build_s, "s"});
        extra.push_back(
            {"build_cpu_s", build_cpu_s, build_cpu_s, build_cpu_s, "s"});
        extra.push_back({"bytes_per_vertex_rss", rss_per_vertex, rss_per_vertex,
                         rss_per_vertex, "bytes"});
        extra.push_back({"bytes_per_vertex_accounted", accounted, accounted,
                         accounted, "bytes"});
        build_text = Format("%.3f", build_s) + " (CPU " +
                     Format("%.2f", build_cpu_s) + ")";
        memory_text = Format("%.1f", accounted) + " acc. / " +
                      Format("%.1f", rss_per_vertex) + " RSS";
      }
      int64_t bad = 0;
      if (threads == 1) {
        want = got;
      } else {
        for (int64_t i = 0; i < n; ++i) bad += got[i] != want[i];
      }
      mismatches += bad;
      Add("wangge", threads, n, ns, true, extra,
          bad ? "ERROR " + Thousands(bad) + " differ from 1 thread"
              : "reference",
          "cell lookup", build_text, memory_text);
    }
    for (int threads : ThreadCounts()) {
      std::vector<Timing> ns;
      for (int run = 0; run < options.runs; ++run) {
        ns.push_back(TimeParallel(threads, n, [&](int, int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            auto placed = locator.Locate(degrees[i]);
            codes[i] = !placed          ? "?"
                       : placed->inside ? std::move(placed->cell)
                                        : "-" + placed->nearest_cell;
          }
        }));
      }
      // Inside: the lookup's cell. Outside: "-" and a nearest cell.
      int64_t bad = 0;
      for (int64_t i = 0; i < n; ++i) {
        bool ok = want[i] >= 0 ? codes[i] == tiling.cells[want[i]].code
                               : codes[i].size() > 1 && codes[i][0] == '-';
        bad += !ok;
      }
      mismatches += bad;
      Add("wangge-placement", threads, n, ns, true, {},
          bad ? "ERROR " + Thousands(bad) + " differ from the lookup"
              : "agrees with the lookup",
          "Locator::Locate: codes as strings, nearest cell when outside", "",
          "");
    }
    return {};
  }

  Result<void> Geos() {
    progress << "geos: building STRtree + prepared geometries\n";
    int64_t rss0 = ResidentBytes();
    auto t0 = Clock::now();
    auto index = GeosIndex::Build(tiling.cells);
    if (!index) return std::unexpected(index.error());
    auto main_querier = (*index)->NewQuerier(/*prepare_all=*/true);
    double build_s = Seconds(Clock::now() - t0);
    int64_t rss1 = ResidentBytes();
    double rss_per_vertex = double(rss1 - rss0) / double(tiling.vertices);
    int64_t n = int64_t(points.size());
    std::vector<int32_t> got(n);
    for (int threads : ThreadCounts()) {
      std::vector<std::unique_ptr<GeosIndex::Querier>> queriers;
      if (threads == 1) {
        queriers.push_back(std::move(main_querier));
      } else {
        for (int t = 0; t < threads; ++t) {
          queriers.push_back((*index)->NewQuerier(true));
        }
      }
      std::vector<Timing> ns;
      for (int run = 0; run < options.runs; ++run) {
        Timing s = TimeParallel(threads, n, [&](int t, int64_t b, int64_t e) {
          GeosIndex::Querier& q = *queriers[t];
          for (int64_t i = b; i < e; ++i) got[i] = q.Locate(degrees[i]);
        });
        ns.push_back(s);
      }
      std::vector<Figure> extra;
      std::string build_text = "", memory_text = "";
      if (threads == 1) {
        extra.push_back({"build_s", build_s, build_s, build_s, "s"});
        extra.push_back({"bytes_per_vertex_rss", rss_per_vertex, rss_per_vertex,
                         rss_per_vertex, "bytes"});
        build_text = Format("%.3f", build_s);
        memory_text = Format("%.1f", rss_per_vertex) + " RSS";
      }
      Check c = CrossCheck(tiling.cells, points, want, got);
      Add("geos-prepared", threads, n, ns, true, extra, CheckText(c, "geos"),
          "", build_text, memory_text);
    }
    return {};
  }

  Result<void> Postgis(PostgisServer& server, int64_t subset) {
    progress << "postgis: loading " << Thousands(size.cells())
             << " cells and building the GiST index\n";
    auto t0 = Clock::now();
    auto bytes = server.Load(tiling.cells);
    if (!bytes) return std::unexpected(bytes.error());
    double build_s = Seconds(Clock::now() - t0);
    double per_vertex = double(*bytes) / double(tiling.vertices);
    int64_t n = std::min<int64_t>(subset, int64_t(points.size()));
    std::vector<int32_t> got(n);
    for (int threads : ThreadCounts()) {
      std::vector<std::unique_ptr<PostgisServer::Connection>> conns;
      for (int t = 0; t < threads; ++t) {
        auto conn = server.Connect();
        if (!conn) return std::unexpected(conn.error());
        conns.push_back(std::move(*conn));
      }
      std::vector<Timing> ns;
      for (int run = 0; run < options.runs; ++run) {
        Timing s = TimeParallel(threads, n, [&](int t, int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) got[i] = conns[t]->Locate(degrees[i]);
        });
        ns.push_back(s);
      }
      std::vector<Figure> extra;
      std::string build_text = "", memory_text = "";
      if (threads == 1) {
        extra.push_back({"build_s", build_s, build_s, build_s, "s"});
        extra.push_back({"bytes_per_vertex_table_and_index", per_vertex,
                         per_vertex, per_vertex, "bytes"});
        build_text = Format("%.3f", build_s);
        memory_text = Format("%.1f", per_vertex) + " disk";
      }
      Check c = CrossCheck(tiling.cells, points, want, got);
      Add("postgis", threads, n, ns, false, extra, CheckText(c, "postgis"),
          "first " + std::to_string(n) + " of the points, one query each",
          build_text, memory_text);
    }
    return {};
  }
};

// Parses a size list such as "225,300000" or "15x15,600x500": a count of
// cells from the standard sizes, or COLSxROWS.
Result<std::vector<Size>> ParseSizes(const std::string& text) {
  std::vector<Size> sizes;
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ',')) {
    if (token.empty()) continue;
    Size s;
    if (auto x = token.find('x'); x != std::string::npos) {
      s = {std::atoi(token.substr(0, x).c_str()),
           std::atoi(token.substr(x + 1).c_str())};
    } else {
      long long n = std::atoll(token.c_str());
      for (Size known : {Size{15, 15}, Size{50, 40}, Size{100, 100},
                         Size{600, 500}, Size{1000, 1000}}) {
        if (known.cells() == n) s = known;
      }
    }
    if (s.cols <= 0 || s.rows <= 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "WANGGE_LOCATE_SIZES: bad size '" + token +
                      "'; give 225, 2000, 10000, 300000, 1000000 or COLSxROWS",
                  "WANGGE_LOCATE_SIZES");
    }
    sizes.push_back(s);
  }
  return sizes;
}

}  // namespace

Result<LocateReport> RunLocateBench(const LocateOptions& options,
                                    std::ostream& progress) {
  std::vector<Size> sizes =
      options.quick ? std::vector<Size>{{15, 15}, {50, 40}}
                    : std::vector<Size>{{15, 15}, {100, 100}, {600, 500}};
  // For profiling one size at a time: WANGGE_LOCATE_SIZES=225,300000 (queried)
  // and WANGGE_LOCATE_BUILD=1000000 or 0 (the build-only size; 0 skips it).
  // The build-only size: 1,000,000 cells, or 10,000 for a smoke run.
  bool build_only = true;
  Size big = options.quick ? Size{100, 100} : Size{1000, 1000};
  if (const char* env = std::getenv("WANGGE_LOCATE_SIZES")) {
    auto parsed = ParseSizes(env);
    if (!parsed) return std::unexpected(parsed.error());
    sizes = *parsed;
  }
  if (const char* env = std::getenv("WANGGE_LOCATE_BUILD")) {
    auto parsed = ParseSizes(env);
    if (std::string(env) == "0") {
      build_only = false;
    } else if (!parsed) {
      return std::unexpected(parsed.error());
    } else if (!parsed->empty()) {
      build_only = true;
      big = parsed->front();
    }
  }
  int64_t n_points = options.quick ? 20000 : 1000000;
  int64_t postgis_points = options.quick ? 2000 : 20000;

  LocateReport report;
  Table table;
  table.Row({"cells", "method", "threads", "points", "wall ns/query",
             "CPU ns/query", "build s", "bytes/vertex", "answers"});
  std::unique_ptr<PostgisServer> server;
  if (options.postgis) {
    auto started = PostgisServer::Start(progress);
    if (!started) return std::unexpected(started.error());
    server = std::move(*started);
  }
  for (Size size : sizes) {
    progress << "locate: " << Thousands(size.cells()) << " cells, "
             << Thousands(n_points) << " points\n";
    Tiling tiling = MakeTiling(size, 20260101);
    std::vector<Pt> points = MakePoints(size, n_points, 7);
    SizeRun run{.options = options,
                .progress = progress,
                .size = size,
                .tiling = tiling,
                .points = points,
                .degrees = {},
                .want = {},
                .records = report.records,
                .table = table,
                .mismatches = report.mismatches};
    for (Pt p : points) run.degrees.push_back(spatial::ToLonLat(p));
    if (auto done = run.Wangge(); !done) return std::unexpected(done.error());
    // WANGGE_LOCATE_GEOS=0 leaves GEOS out (for profiling wangge alone).
    const char* geos_env = std::getenv("WANGGE_LOCATE_GEOS");
    if (options.geos && !(geos_env && std::string(geos_env) == "0")) {
      if (auto done = run.Geos(); !done) return std::unexpected(done.error());
    }
    if (server) {
      auto done = run.Postgis(*server, postgis_points);
      if (!done) return std::unexpected(done.error());
    }
  }
  server.reset();
  if (build_only) {
    // Build time and memory only, at the size the issue sets the build
    // target for.
    progress << "locate: building the locator for " << Thousands(big.cells())
             << " cells (build only)\n";
    Tiling tiling = MakeTiling(big, 20260101);
    // `runs` builds, each from a copy of the cells and from memory given
    // back to the system (ResidentBytes releases what the allocator holds),
    // as a first start builds: the median is the figure, the first run's
    // memory the memory figure.
    std::vector<double> wall, cpu;
    double rss = 0, acc = 0;
    double v = double(tiling.vertices);
    for (int run = 0; run < options.runs; ++run) {
      TimedBuild built = BuildLocator(tiling.cells);
      if (!built.locator) return std::unexpected(built.locator.error());
      cpu.push_back(built.cpu_s);
      wall.push_back(built.wall_s);
      if (run == 0) {
        rss = double(built.rss_growth) / v;
        acc = double(built.locator->cells().IndexBytes()) / v;
      }
      progress << "  build " << Format("%.3f", wall.back()) << " s\n";
    }
    Record r{.benchmark = "locate",
             .size = big.cells(),
             .method = "wangge",
             .threads = 1,
             .points = 0,
             .note = "build only"};
    Figure build = Summarise("build_s", wall, "s");
    Figure build_cpu = Summarise("build_cpu_s", cpu, "s");
    r.figures = {build,
                 build_cpu,
                 {"bytes_per_vertex_rss", rss, rss, rss, "bytes"},
                 {"bytes_per_vertex_accounted", acc, acc, acc, "bytes"}};
    report.records.push_back(r);
    table.Row({Thousands(big.cells()), "wangge", "1", "–", "–", "–",
               Range(build) + " (CPU " + Format("%.2f", build_cpu.median) + ")",
               Format("%.1f", acc) + " acc. / " + Format("%.1f", rss) + " RSS",
               "build only, median of " + std::to_string(options.runs)});
  }
  int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  std::ostringstream out;
  out << "locate: JaggedGrid tilings (30-120 vertices a cell), "
      << Thousands(n_points)
      << " random points (1% outside the tiling); PostGIS on the first "
      << Thousands(postgis_points)
      << " of them, one query each over a Unix socket.\n"
         "ns/query = wall time / points, and CPU time of the querying "
         "threads / points (steadier on a shared machine; not meaningful for "
         "PostGIS, whose work is in the server): median of "
      << options.runs << " runs (min–max); threads: 1 and " << hw
      << " (all cores).\n"
         "build s: wall time (CPU time of the process, all its threads); at "
         "the build-only size, the median of "
      << options.runs
      << " builds (min–max), each from memory given back to the system.\n"
         "bytes/vertex: acc. = index structures wangge accounts for; RSS = "
         "resident-memory growth during the build; disk = PostGIS table + "
         "index.\n"
         "answers: checked against wangge; 'on edge' = the point lies on "
         "the boundary of one of the two cells (no lowest-code rule there).\n\n"
      << table.Render();
  report.table = out.str();
  return report;
}

}  // namespace wangge::bench
