#include <fstream>
#include <iostream>

#include "bench/locate_bench.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge bench [locate|all] [--quick] [--json FILE] [--no-postgis]\n"
    "  Runs the benchmarks (today: locate) and prints a table to stdout.\n"
    "  locate: wangge's locator against GEOS (STRtree + prepared) and\n"
    "  PostGIS (a throwaway local server) on the same synthetic tilings and\n"
    "  points; every answer is cross-checked.\n"
    "  --quick       tiny sizes (smoke test)\n"
    "  --json FILE   also write one record per (benchmark, size, method,\n"
    "                threads) with median, min, max and unit of each figure\n"
    "  --no-postgis  leave PostGIS out\n"
    "  Exit status 1 when any answer differs off the cells' edges.\n";

}  // namespace

int RunBench(int argc, char** argv) {
  Args args =
      ParseArgs(argc, argv, 2, {"json"}, {"help", "quick", "no-postgis"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  std::string which = args.positional.empty() ? "all" : args.positional[0];
  if (!args.error.empty() || args.positional.size() > 1 ||
      (which != "all" && which != "locate")) {
    std::cerr << (args.error.empty() ? ""
                                     : "wangge bench: " + args.error + "\n")
              << kUsage;
    return 2;
  }
  bench::LocateOptions options{.quick = args.Has("quick"),
                               .postgis = !args.Has("no-postgis")};
  auto report = bench::RunLocateBench(options, std::cerr);
  if (!report) {
    std::cerr << "wangge bench: " << report.error().message << "\n";
    return 1;
  }
  std::cout << report->table << std::flush;
  if (auto path = args.Flag("json")) {
    std::ofstream out(*path, std::ios::binary);
    out << bench::RecordsToJson(report->records);
    if (!out) {
      std::cerr << "wangge bench: cannot write " << *path << "\n";
      return 1;
    }
  }
  if (report->mismatches > 0) {
    std::cerr << "wangge bench: " << report->mismatches
              << " answers differ from wangge's off the cells' edges; that "
                 "is a bug\n";
    return 1;
  }
  return 0;
}

}  // namespace wangge::tools
