// wangge: grid-based rural governance. One executable, many subcommands.
#include <cstring>
#include <iostream>
#include <string>

#include "tools/commands.h"

namespace {

constexpr const char* kUsage =
    "Usage: wangge <command> [options]\n"
    "\n"
    "Commands:\n"
    "  locate      which cell, village and zones hold a point (or a CSV of "
    "them)\n"
    "  gen-sample  write the synthetic sample town (太要镇) to a folder\n"
    "  route       who handles a report of a category at a point, and by when\n"
    "  serve       the HTTP server: JSON API, /healthz, /metrics\n"
    "  user        add, list, disable accounts; set passwords\n"
    "  init        create a town database from a town folder\n"
    "  import      import a boundary layer into the database as a new version\n"
    "  versions    list the boundary versions in a database\n"
    "  diff        cells changed between two boundary versions\n"
    "  export      write a layer of a boundary version to a GIS file\n"
    "  validate    read a GIS file as one layer, repair and check it, report\n"
    "  bench       benchmarks against GEOS and PostGIS (locate)\n"
    "  audit       verify: check every case's event hash chain\n"
    "\n"
    "Run `wangge <command> --help` for its options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "locate") return wangge::tools::RunLocate(argc, argv);
  if (command == "gen-sample") return wangge::tools::RunGenSample(argc, argv);
  if (command == "route") return wangge::tools::RunRoute(argc, argv);
  if (command == "serve") return wangge::tools::RunServe(argc, argv);
  if (command == "user") return wangge::tools::RunUser(argc, argv);
  if (command == "init") return wangge::tools::RunInit(argc, argv);
  if (command == "import") return wangge::tools::RunImport(argc, argv);
  if (command == "versions") return wangge::tools::RunVersions(argc, argv);
  if (command == "diff") return wangge::tools::RunDiff(argc, argv);
  if (command == "export") return wangge::tools::RunExport(argc, argv);
  if (command == "validate") return wangge::tools::RunValidate(argc, argv);
  if (command == "bench") return wangge::tools::RunBench(argc, argv);
  if (command == "audit") return wangge::tools::RunAudit(argc, argv);
  std::cerr << "wangge: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
