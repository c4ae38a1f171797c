#include <iostream>

#include "core/sample_town.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {

namespace {
constexpr const char* kUsage =
    "Usage: wangge gen-sample --out DIR [--seed N]\n"
    "  Writes the synthetic sample town 太要镇 (villages, cells, zones as\n"
    "  GeoJSON, and a README) into DIR. Same seed, same bytes.\n"
    "  Default seed: 20260101 (the committed data/taiyao).\n";
}

int RunGenSample(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"out", "seed"}, {"help"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!args.error.empty() || !args.positional.empty() || !args.Flag("out")) {
    std::cerr << (args.error.empty()
                      ? ""
                      : "wangge gen-sample: " + args.error + "\n")
              << kUsage;
    return 2;
  }
  uint64_t seed = core::kSampleSeed;
  if (auto s = args.Flag("seed")) {
    try {
      size_t used = 0;
      seed = std::stoull(*s, &used);
      if (used != s->size()) throw std::invalid_argument(*s);
    } catch (const std::exception&) {
      std::cerr << "wangge gen-sample: --seed must be a whole number, got '"
                << *s << "'\n"
                << kUsage;
      return 2;
    }
  }
  auto written = core::WriteSampleTown(*args.Flag("out"), seed);
  if (!written) {
    std::cerr << "wangge gen-sample: " << written.error().message << "\n";
    return 1;
  }
  std::cerr << "wrote the sample town to " << *args.Flag("out") << "\n";
  return 0;
}

}  // namespace wangge::tools
