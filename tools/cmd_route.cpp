#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/intake.h"
#include "core/router.h"
#include "core/town.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge route --data DIR|--db FILE LON LAT CATEGORY [--at TIME]\n"
    "  Prints, as JSON, who is responsible for a report of CATEGORY (a\n"
    "  5-digit 小类 code from DIR/categories.json) at LON LAT: branch,\n"
    "  committee member, grid leader, offices, deadlines on the working\n"
    "  calendar and the reasons for each choice.\n"
    "  TIME: 2026-10-08T09:30 (China Standard Time) or with an offset;\n"
    "  default now.\n";

}  // namespace

int RunRoute(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"data", "db", "at"}, {"help"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!args.error.empty() || (!args.Flag("data") == !args.Flag("db")) ||
      args.positional.size() != 3) {
    std::cerr << (args.error.empty() ? ""
                                     : "wangge route: " + args.error + "\n")
              << kUsage;
    return 2;
  }
  char* end = nullptr;
  double lon = std::strtod(args.positional[0].c_str(), &end);
  bool lon_ok = *end == '\0' && !args.positional[0].empty();
  double lat = std::strtod(args.positional[1].c_str(), &end);
  bool lat_ok = *end == '\0' && !args.positional[1].empty();
  if (!lon_ok || !lat_ok) {
    std::cerr << "wangge route: LON and LAT must be numbers in degrees\n"
              << kUsage;
    return 2;
  }
  core::Time at = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  if (auto text = args.Flag("at")) {
    auto parsed = core::ParseTime(*text);
    if (!parsed) {
      std::cerr << "wangge route: --at: " << parsed.error().message << "\n";
      return 2;
    }
    at = *parsed;
  }
  auto town =
      core::LoadTown(core::TownSource{.data = args.Flag("data").value_or(""),
                                      .db = args.Flag("db").value_or("")});
  if (!town) {
    std::cerr << "wangge route: " << town.error().message << "\n";
    return 1;
  }
  auto placed = town->locator->Locate({lon, lat});
  if (!placed) {
    std::cerr << "wangge route: " << placed.error().message << "\n";
    return 2;
  }
  auto a = core::Route(*placed, args.positional[2], at, town->config);
  if (!a) {
    std::cerr << "wangge route: " << a.error().message << "\n";
    return a.error().field == "category" ? 2 : 1;
  }
  auto j = nlohmann::ordered_json::parse(core::AssignmentJson(*a));
  j["category"] = a->category;
  j["outside"] = a->outside;
  auto text_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s);
  };
  j["cell"] = text_or_null(a->cell);
  j["village"] = text_or_null(a->village);
  j["reported_at"] = core::FormatLocal(a->reported_at);
  j["accept_by"] = core::FormatLocal(a->accept_by);
  j["handle_by"] = core::FormatLocal(a->handle_by);
  j["level"] = core::LevelName(a->level);
  j["boundary_version"] = a->boundary_version;
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
  for (const auto& w : a->warnings) std::cerr << "warning: " << w << "\n";
  return 0;
}

}  // namespace wangge::tools
