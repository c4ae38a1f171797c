#include "bench/import_bench.h"

#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "bench/child_process.h"
#include "core/boundary_import.h"
#include "core/store.h"
#include "core/town.h"
#include "spatial/jagged_grid.h"
#include "spatial/layer_writer.h"

namespace wangge::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using spatial::Feature;

// Cell size of the sample town (about 660 m x 670 m), as in `bench locate`.
constexpr int64_t kCellWidth = 7270000;
constexpr int64_t kCellHeight = 6000000;
constexpr spatial::Pt kOrigin{108000000000, 36000000000};

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// CPU seconds (user + system) of this process.
double ProcessCpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

// CPU seconds (user + system) of the children waited for so far.
double ChildrenCpu() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The first lines of a refused import's report, for the error message.
std::string Head(const std::string& text, int lines) {
  size_t at = 0;
  for (int i = 0; i < lines && at != std::string::npos; ++i) {
    at = text.find('\n', at + 1);
  }
  return at == std::string::npos ? text : text.substr(0, at) + "\n...";
}

}  // namespace

Result<TempDir> TempDir::Make(const std::string& stem) {
  std::string pattern = "/tmp/" + stem + "-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    return Fail(ErrorCode::kInternal,
                "cannot make a temporary directory " + pattern);
  }
  return TempDir(pattern);
}

TempDir::~TempDir() {
  if (path_.empty() || std::getenv("WANGGE_BENCH_KEEP")) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void RemoveDatabase(const std::string& db) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(db + suffix, ignored);
  }
}

Result<int64_t> ImportCells(const std::string& db, const std::string& source) {
  // What `wangge import --db db --layer cells source` does (tools/cmd_db.cpp
  // RunImport with ImportOptionsFromArgs' defaults).
  auto store = core::Store::Open(db);
  if (!store) return std::unexpected(store.error());
  spatial::ImportOptions options;
  options.source = source;
  options.layer = spatial::LayerKind::kCells;
  auto outcome = core::ImportLayer(**store, options, "wangge bench", false);
  if (!outcome) return std::unexpected(outcome.error());
  if (!outcome->report.accepted() || !outcome->version) {
    return Fail(ErrorCode::kInvalidArgument,
                "wangge import refused " + source + ":\n" +
                    Head(spatial::FormatReport(outcome->report), 20));
  }
  return *outcome->version;
}

Result<SyntheticTown> MakeSyntheticTown(const std::string& dir,
                                        const std::string& data, int cols,
                                        int rows, std::ostream& progress) {
  SyntheticTown town;
  town.base_db = dir + "/base.db";
  town.cells_shp = dir + "/cells.shp";
  // 1. The sample town, as `wangge init` makes it.
  {
    auto input = core::ReadTownFolder(data);
    if (!input)
      return Fail(input.error().code,
                  "read " + data + ": " + input.error().message);
    auto store = core::Store::Create(town.base_db);
    if (!store) return std::unexpected(store.error());
    input->actor = "wangge bench";
    if (auto v = (*store)->AddVersion(*input); !v) {
      return std::unexpected(v.error());
    }
  }
  auto sample = core::LoadTown(core::TownSource{.db = town.base_db});
  if (!sample) return std::unexpected(sample.error());
  const spatial::FeatureTable& villages = sample->locator->villages().table();
  int n = int(villages.size());
  if (n == 0 || cols < n) {
    return Fail(ErrorCode::kInvalidArgument,
                "the sample town needs 1.." + std::to_string(cols) +
                    " villages, has " + std::to_string(n));
  }
  // Each village's branches, for the cells' `branch` attribute.
  std::map<std::string, std::vector<std::string>> branches;
  std::vector<std::string> any_branch;
  for (const auto& [code, b] : sample->config.branches) {
    branches[b.village].push_back(code);
    any_branch.push_back(code);
  }
  if (any_branch.empty()) {
    return Fail(ErrorCode::kInvalidArgument, data + " has no branches");
  }

  // 2. Villages of the same codes: vertical strips of the grid.
  spatial::JaggedGrid grid({.origin = kOrigin,
                            .cols = cols,
                            .rows = rows,
                            .cell_width = kCellWidth,
                            .cell_height = kCellHeight,
                            .seed = 20261130});
  auto strip = [&](int k) {
    return std::pair(k * cols / n, (k + 1) * cols / n);
  };
  std::vector<Feature> new_villages;
  for (int k = 0; k < n; ++k) {
    Feature v = villages.feature(size_t(k));
    auto [c0, c1] = strip(k);
    v.shape.parts.clear();
    v.shape.parts.push_back({{grid.BlockRing(c0, 0, c1, rows)}});
    new_villages.push_back(std::move(v));
  }
  std::string villages_file = dir + "/villages.geojson";
  if (auto w = spatial::WriteLayer({.path = villages_file,
                                    .format = spatial::ExportFormat::kGeoJson,
                                    .layer = spatial::LayerKind::kVillages},
                                   new_villages, {});
      !w) {
    return std::unexpected(w.error());
  }
  {
    auto store = core::Store::Open(town.base_db);
    if (!store) return std::unexpected(store.error());
    spatial::ImportOptions options{.source = villages_file,
                                   .layer = spatial::LayerKind::kVillages};
    auto outcome = core::ImportLayer(**store, options, "wangge bench", false);
    if (!outcome) return std::unexpected(outcome.error());
    if (!outcome->version) {
      return Fail(ErrorCode::kInternal,
                  "the synthetic villages were refused:\n" +
                      Head(spatial::FormatReport(outcome->report), 20));
    }
  }

  // 3. The cells, as a Shapefile.
  progress << "bench: writing " << Thousands(int64_t(cols) * rows)
           << " cells to " << town.cells_shp << "\n";
  std::vector<Feature> cells;
  cells.reserve(size_t(cols) * size_t(rows));
  for (int k = 0; k < n; ++k) {
    const Feature& v = new_villages[size_t(k)];
    const auto& own = branches.count(v.code) ? branches[v.code] : any_branch;
    auto [c0, c1] = strip(k);
    int number = 0;
    for (int row = 0; row < rows; ++row) {
      for (int col = c0; col < c1; ++col) {
        ++number;
        char code[64];
        std::snprintf(code, sizeof code, "%s%06d", v.code.c_str(), number);
        Feature f;
        f.code = code;
        f.name = v.name + "第" + std::to_string(number) + "网格";
        f.attributes["village"] = v.code;
        f.attributes["branch"] = own[size_t(number) % own.size()];
        f.shape.parts.push_back({{grid.CellRing(col, row)}});
        town.vertices += int64_t(f.shape.parts[0].rings[0].size());
        cells.push_back(std::move(f));
      }
    }
  }
  town.cells = int64_t(cells.size());
  if (auto w = spatial::WriteLayer({.path = town.cells_shp,
                                    .format = spatial::ExportFormat::kShapefile,
                                    .layer = spatial::LayerKind::kCells},
                                   cells, {});
      !w) {
    return std::unexpected(w.error());
  }
  return town;
}

Result<ImportReport> RunImportBench(const ImportBenchOptions& given,
                                    std::ostream& progress) {
  ImportBenchOptions o = given.Effective();
  if (std::system("command -v ogr2ogr >/dev/null 2>&1") != 0) {
    return Fail(ErrorCode::kUnavailable,
                "ogr2ogr is not installed: run `bash tools/install-deps.sh` "
                "(Debian package gdal-bin)");
  }
  auto dir = TempDir::Make("wangge-import");
  if (!dir) return std::unexpected(dir.error());
  if (std::getenv("WANGGE_BENCH_KEEP")) {
    progress << "import: in " << dir->path() << "\n";
  }
  auto town = MakeSyntheticTown(dir->path(), o.data, o.cols, o.rows, progress);
  if (!town) return std::unexpected(town.error());
  int64_t shp_bytes = 0;
  for (const char* ext : {".shp", ".shx", ".dbf"}) {
    std::error_code ignored;
    auto size = fs::file_size(fs::path(town->cells_shp).replace_extension(ext),
                              ignored);
    if (!ignored) shp_bytes += int64_t(size);
  }

  std::vector<double> wangge_s, ogr_s, wangge_cpu, ogr_cpu;
  std::string log = dir->path() + "/ogr2ogr.log";
  for (int run = 0; run < o.runs; ++run) {
    // wangge: a fresh copy of the town each run (copying is not timed).
    std::string db = dir->path() + "/run.db";
    RemoveDatabase(db);
    fs::copy_file(town->base_db, db);
    auto start = Clock::now();
    double cpu = ProcessCpu();
    auto version = ImportCells(db, town->cells_shp);
    double s = Seconds(Clock::now() - start);
    cpu = ProcessCpu() - cpu;
    if (!version) return std::unexpected(version.error());
    RemoveDatabase(db);
    wangge_s.push_back(s);
    wangge_cpu.push_back(cpu);
    progress << "import run " << run + 1 << "/" << o.runs
             << " wangge import: " << Format("%.2f", s) << " s (CPU "
             << Format("%.2f", cpu) << " s)\n";

    // ogr2ogr -f GPKG on the same file, into a fresh GeoPackage.
    std::string gpkg = dir->path() + "/out.gpkg";
    RemoveDatabase(gpkg);
    start = Clock::now();
    cpu = ChildrenCpu();
    auto converted = Shell("timeout 1800 ogr2ogr -f GPKG " + Quote(gpkg) + " " +
                               Quote(town->cells_shp),
                           log);
    s = Seconds(Clock::now() - start);
    cpu = ChildrenCpu() - cpu;
    if (!converted) return std::unexpected(converted.error());
    RemoveDatabase(gpkg);
    ogr_s.push_back(s);
    ogr_cpu.push_back(cpu);
    progress << "import run " << run + 1 << "/" << o.runs
             << " ogr2ogr -f GPKG: " << Format("%.2f", s) << " s (CPU "
             << Format("%.2f", cpu) << " s)\n";
  }

  ImportReport report;
  Table table;
  table.Row({"cells", "vertices", "method", "wall s", "CPU s",
             "vs ogr2ogr (wall)", "vs ogr2ogr (CPU)"});
  Figure ogr = Summarise("seconds", ogr_s, "s");
  Figure ogr_c = Summarise("cpu_seconds", ogr_cpu, "s");
  for (bool is_ogr : {true, false}) {
    Record rec{.benchmark = "import",
               .size = town->cells,
               .method = is_ogr ? "ogr2ogr-gpkg" : "wangge",
               .threads = 1};
    rec.figures.push_back(is_ogr ? ogr : Summarise("seconds", wangge_s, "s"));
    rec.figures.push_back(is_ogr ? ogr_c
                                 : Summarise("cpu_seconds", wangge_cpu, "s"));
    double vertices = double(town->vertices);
    rec.figures.push_back(
        Summarise("vertices", {vertices, vertices, vertices}, "count"));
    double ratio = rec.figures[0].median / ogr.median;
    double ratio_cpu = rec.figures[1].median / ogr_c.median;
    if (!is_ogr) {
      rec.figures.push_back(
          Summarise("ratio_to_ogr2ogr", {ratio, ratio, ratio}, "x"));
      rec.figures.push_back(Summarise("cpu_ratio_to_ogr2ogr",
                                      {ratio_cpu, ratio_cpu, ratio_cpu}, "x"));
    }
    rec.note = is_ogr ? "ogr2ogr -f GPKG out.gpkg cells.shp"
                      : "read, repair, validate (overlaps, cells in villages, "
                        "configuration) and store as a new boundary version";
    rec.note += "; Shapefile " + Thousands(shp_bytes / 1024 / 1024) + " MiB";
    table.Row({Thousands(town->cells), Thousands(town->vertices), rec.method,
               Range(rec.figures[0]), Range(rec.figures[1]),
               Format("%.2f", ratio), Format("%.2f", ratio_cpu)});
    report.records.push_back(std::move(rec));
  }
  report.table = table.Render();
  return report;
}

}  // namespace wangge::bench
