#pragma once
// The `import` benchmark: a synthetic cells layer of `cells` jagged cells
// (spatial::JaggedGrid: 30-120 vertices a cell, exactly shared edges) as an
// ESRI Shapefile, imported and validated by wangge exactly as `wangge
// import --db DB --layer cells cells.shp` does (core::ImportLayer into a
// fresh copy of the town's database each run), and, in the same run, the
// same file through `ogr2ogr -f GPKG` for the ratio.
//
// The town is the sample town (`data`) with its villages replaced by
// synthetic ones of the same codes that the cells tile exactly, so the full
// validation applies (overlaps, cells outside their village, gaps, the town
// configuration with the new layer) and must pass: a refused import fails
// the benchmark.
//
// Everything lives in a temporary folder that is deleted at the end
// (WANGGE_BENCH_KEEP=1 keeps it). Needs `ogr2ogr` (gdal-bin) on the PATH.
//
//   ImportBenchOptions options{.data = "data/taiyao", .quick = true};
//   auto report = RunImportBench(options, std::cerr);

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/record.h"

namespace wangge::bench {

// A temporary folder, removed with everything in it on destruction unless
// WANGGE_BENCH_KEEP is set.
class TempDir {
 public:
  // `stem` e.g. "wangge-import"; the folder is /tmp/<stem>-XXXXXX.
  static Result<TempDir> Make(const std::string& stem);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A town database ready for a large cells import, and the cells file.
struct SyntheticTown {
  std::string base_db;    // sample town, synthetic villages, no new cells
  std::string cells_shp;  // the generated cells layer
  int64_t cells = 0;
  int64_t vertices = 0;  // in all the cells' rings, closing vertex not counted
};

// Builds a SyntheticTown of cols x rows cells in `dir` from the sample town
// folder `data`: `wangge init` of it into base_db, then an import of
// villages of the same codes as vertical strips of the grid, then the cells
// (each with its village, a branch of that village and a Chinese name)
// written as a Shapefile. Fails naming the step.
// REQUIRES: cols >= the number of villages in `data`.
Result<SyntheticTown> MakeSyntheticTown(const std::string& dir,
                                        const std::string& data, int cols,
                                        int rows, std::ostream& progress);

// Imports the cells layer `source` into the database `db` as `wangge import
// --db db --layer cells source` does. Fails with kInvalidArgument quoting
// the report when the import is refused.
Result<int64_t> ImportCells(const std::string& db, const std::string& source);

// Deletes a SQLite database file and its -wal and -shm companions.
void RemoveDatabase(const std::string& db);

// The synthetic town that the import and start-up benchmarks build.
struct TownBenchOptions {
  std::string data;    // the sample town folder
  bool quick = false;  // 2,000 cells, one run
  int cols = 600;      // 600 x 500 = 300,000 cells
  int rows = 500;
  int runs = 3;

  // These options with --quick's size and run count applied.
  TownBenchOptions Effective() const {
    if (!quick) return *this;
    TownBenchOptions o = *this;
    o.cols = 50;
    o.rows = 40;
    o.runs = 1;
    return o;
  }
};

using ImportBenchOptions = TownBenchOptions;

using ImportReport = Report;

// Fails when the setup fails, ogr2ogr fails, or wangge refuses the layer.
Result<ImportReport> RunImportBench(const ImportBenchOptions& options,
                                    std::ostream& progress);

}  // namespace wangge::bench
