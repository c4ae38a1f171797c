#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "bench/import_bench.h"
#include "bench/intake_bench.h"
#include "bench/locate_bench.h"
#include "bench/startup_bench.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge bench [locate|intake|import|startup|all] [--quick]\n"
    "                    [--json FILE] [--no-postgis] [--data DIR]\n"
    "                    [--cells N]\n"
    "  Runs the benchmarks and prints a table to stdout.\n"
    "  locate: wangge's locator against GEOS (STRtree + prepared) and\n"
    "  PostGIS (a throwaway local server) on the same synthetic tilings and\n"
    "  points; every answer is cross-checked.\n"
    "  intake: wangge serve on loopback driven by wrk (64 connections, 10 s,\n"
    "  durable reports) beside cpp-httplib's ceiling; every acknowledged\n"
    "  report must be stored.\n"
    "  import: wangge import of a 300,000-cell Shapefile (validated, into a\n"
    "  fresh database each run) beside `ogr2ogr -f GPKG` of the same file.\n"
    "  startup: wangge serve on a town of 300,000 cells: time until /healthz\n"
    "  answers 200, resident memory then and once idle.\n"
    "  --quick       tiny sizes (smoke test)\n"
    "  --json FILE   also write one record per (benchmark, size, method,\n"
    "                threads) with median, min, max and unit of each figure\n"
    "  --no-postgis  leave PostGIS out\n"
    "  --data DIR    the sample town for intake, import and startup.\n"
    "                Default: data/taiyao\n"
    "  --cells N     cells for import and startup. Default: 300000\n"
    "  Exit status 1 when any answer differs off the cells' edges, an\n"
    "  acknowledged report is missing, wangge refuses the generated cells or\n"
    "  the server never becomes healthy.\n";

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "wangge";
}

// Prints a benchmark's table and keeps its records; false (and the reason
// on stderr) if it failed.
template <typename R>
bool Take(const char* name, const Result<R>& report,
          std::vector<bench::Record>& records) {
  if (!report) {
    std::cerr << "wangge bench: " << report.error().message << "\n";
    return false;
  }
  std::cout << "## " << name << "\n\n" << report->table << "\n" << std::flush;
  records.insert(records.end(), report->records.begin(), report->records.end());
  return true;
}

}  // namespace

int RunBench(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"json", "data", "cells"},
                        {"help", "quick", "no-postgis"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  std::string which = args.positional.empty() ? "all" : args.positional[0];
  if (!args.error.empty() || args.positional.size() > 1 ||
      (which != "all" && which != "locate" && which != "intake" &&
       which != "import" && which != "startup")) {
    std::cerr << (args.error.empty() ? ""
                                     : "wangge bench: " + args.error + "\n")
              << kUsage;
    return 2;
  }
  std::string data = args.Flag("data").value_or("data/taiyao");
  // --cells N: a grid of about N cells, 6 columns to 5 rows.
  int cols = 600, rows = 500;
  if (auto n = args.Flag("cells")) {
    char* end = nullptr;
    long cells = std::strtol(n->c_str(), &end, 10);
    if (n->empty() || *end || cells < 100 || cells > 10000000) {
      std::cerr << "wangge bench: --cells takes 100..10000000\n" << kUsage;
      return 2;
    }
    rows = std::max(1, int(std::lround(std::sqrt(cells / 1.2))));
    cols = int((cells + rows - 1) / rows);
  }
  std::vector<bench::Record> records;
  int status = 0;
  if (which == "all" || which == "locate") {
    bench::LocateOptions options{.quick = args.Has("quick"),
                                 .postgis = !args.Has("no-postgis")};
    auto report = bench::RunLocateBench(options, std::cerr);
    if (!Take("locate", report, records)) return 1;
    if (report->mismatches > 0) {
      std::cerr << "wangge bench: " << report->mismatches
                << " answers differ from wangge's off the cells' edges; that "
                   "is a bug\n";
      status = 1;
    }
  }
  if (which == "all" || which == "intake") {
    bench::IntakeOptions options{
        .wangge = SelfPath(), .data = data, .quick = args.Has("quick")};
    auto report = bench::RunIntakeBench(options, std::cerr);
    if (!Take("intake", report, records)) return 1;
    if (report->lost > 0) {
      std::cerr << "wangge bench: " << report->lost
                << " reports acknowledged but not stored, or errors; that is "
                   "a bug\n";
      status = 1;
    }
  }
  if (which == "all" || which == "import") {
    bench::ImportBenchOptions options{
        .data = data, .quick = args.Has("quick"), .cols = cols, .rows = rows};
    auto report = bench::RunImportBench(options, std::cerr);
    if (!Take("import", report, records)) return 1;
  }
  if (which == "all" || which == "startup") {
    bench::StartupOptions options{.wangge = SelfPath(),
                                  .town = {.data = data,
                                           .quick = args.Has("quick"),
                                           .cols = cols,
                                           .rows = rows}};
    auto report = bench::RunStartupBench(options, std::cerr);
    if (!Take("startup", report, records)) return 1;
  }
  if (auto path = args.Flag("json")) {
    std::ofstream out(*path, std::ios::binary);
    out << bench::RecordsToJson(records);
    if (!out) {
      std::cerr << "wangge bench: cannot write " << *path << "\n";
      return 1;
    }
  }
  return status;
}

}  // namespace wangge::tools
