// wangge validate: read a GIS file as one layer, repair benign defects,
// validate, and print the report. Flag parsing only; the work is
// spatial::ReadLayer.
#include <iostream>
#include <set>
#include <string>

#include "spatial/import.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/import_flags.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge validate --layer villages|cells|zones|households|shopfronts "
    "SOURCE\n"
    "         [--villages FILE] [--report json]\n";

constexpr const char* kAbout =
    "  Reads SOURCE as one layer, repairs benign defects and lists every\n"
    "  problem (校验报告). Exit 0 if the layer can be imported, 1 if it is\n"
    "  refused, 2 on bad arguments.\n"
    "  --villages FILE    check cells against these village boundaries\n"
    "  --report json      print the report as JSON on stdout\n";

int Usage(const std::string& error) {
  if (!error.empty()) std::cerr << "wangge validate: " << error << "\n";
  std::cerr << kUsage << kImportFlagsUsage << kAbout;
  return 2;
}

}  // namespace

int RunValidate(int argc, char** argv) {
  std::set<std::string> valued = ImportFlagNames();
  valued.insert({"villages", "report"});
  Args args = ParseArgs(argc, argv, 2, valued, {"help"});
  if (args.Has("help")) {
    std::cout << kUsage << kImportFlagsUsage << kAbout;
    return 0;
  }
  if (!args.error.empty()) return Usage(args.error);
  spatial::ImportOptions options;
  if (std::string bad = ImportOptionsFromArgs(args, options); !bad.empty()) {
    return Usage(bad);
  }
  std::string report = args.Flag("report").value_or("text");
  if (report != "text" && report != "json") {
    return Usage("--report takes json (or text, the default)");
  }
  options.villages_source = args.Flag("villages").value_or("");
  if (!options.villages_source.empty() &&
      options.layer != spatial::LayerKind::kCells) {
    return Usage("--villages only applies to --layer cells");
  }

  auto result = spatial::ReadLayer(options);
  if (!result) {
    std::cerr << "wangge validate: " << result.error().message << "\n";
    if (report == "json") {
      std::cout << spatial::ErrorJson(options.source, result.error()) << "\n";
    }
    return 1;
  }
  if (report == "json") {
    std::cout << spatial::ReportJson(*result) << "\n";
  } else {
    std::cout << spatial::FormatReport(*result);
  }
  return result->accepted() ? 0 : 1;
}

}  // namespace wangge::tools
