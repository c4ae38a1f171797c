#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/store.h"
#include "spatial/layer_reader.h"
#include "spatial/locator.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge locate --data DIR|--db FILE LON LAT\n"
    "       wangge locate --data DIR|--db FILE --csv FILE  (FILE '-' = stdin)\n"
    "  Prints which grid cell, village and demonstration zones hold a point,\n"
    "  as JSON; with --csv, reads rows `id,lon,lat` and writes CSV\n"
    "  `id,cell,village,zones,outside_m` (zones joined by ';', outside_m\n"
    "  empty inside a cell, else metres to the nearest cell).\n"
    "  DIR holds villages.geojson, cells.geojson and optionally "
    "zones.geojson.\n"
    "  Coordinates are WGS84 degrees, longitude first.\n";

// Boundary version of layers read straight from files (not a database).
constexpr int64_t kFileVersion = 0;

std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

nlohmann::ordered_json ToJson(const spatial::Placement& p, LonLat at) {
  nlohmann::ordered_json j;
  j["lon"] = at.lon;
  j["lat"] = at.lat;
  j["inside"] = p.inside;
  j["cell"] = p.inside ? nlohmann::ordered_json(p.cell) : nullptr;
  j["village"] = p.village.empty() ? nlohmann::ordered_json(nullptr)
                                   : nlohmann::ordered_json(p.village);
  j["zones"] = p.zones;
  if (!p.inside) {
    j["nearest_cell"] = p.nearest_cell;
    j["distance_m"] = std::round(p.distance_m * 10) / 10;
  }
  j["boundary_version"] = p.boundary_version;
  return j;
}

// Splits one CSV line; fields may be quoted with "" escapes.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int LocateCsv(const spatial::Locator& locator, std::istream& in,
              const std::string& name) {
  std::string line;
  int line_no = 0;
  std::vector<std::string> problems;
  struct Row {
    std::string id;
    LonLat at;
  };
  std::vector<Row> rows;
  int id_col = -1, lon_col = -1, lat_col = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (line.empty()) continue;
    auto fields = SplitCsv(line);
    if (id_col < 0) {
      for (int i = 0; i < int(fields.size()); ++i) {
        if (fields[i] == "id") id_col = i;
        if (fields[i] == "lon") lon_col = i;
        if (fields[i] == "lat") lat_col = i;
      }
      if (id_col < 0 || lon_col < 0 || lat_col < 0) {
        std::cerr << "wangge locate: " << name
                  << ": the first line must be the header `id,lon,lat`, got `"
                  << line << "`\n";
        return 1;
      }
      continue;
    }
    int need = std::max({id_col, lon_col, lat_col});
    std::string where = name + ", line " + std::to_string(line_no) + ": ";
    if (int(fields.size()) <= need) {
      problems.push_back(where + "has " + std::to_string(fields.size()) +
                         " fields; expected id,lon,lat");
      continue;
    }
    auto lon = ParseNumber(fields[lon_col]);
    auto lat = ParseNumber(fields[lat_col]);
    if (!lon || !lat) {
      problems.push_back(where + "lon/lat `" + fields[lon_col] + "`, `" +
                         fields[lat_col] + "` are not numbers");
      continue;
    }
    if (auto ok = spatial::ToFixed({*lon, *lat}); !ok) {
      problems.push_back(where + ok.error().message);
      continue;
    }
    rows.push_back({fields[id_col], {*lon, *lat}});
  }
  if (id_col < 0) {
    std::cerr << "wangge locate: " << name
              << " is empty; expected a header `id,lon,lat` and rows\n";
    return 1;
  }
  if (!problems.empty()) {
    for (size_t i = 0; i < problems.size() && i < 20; ++i) {
      std::cerr << "wangge locate: " << problems[i] << "\n";
    }
    if (problems.size() > 20) {
      std::cerr << "wangge locate: ... and " << problems.size() - 20
                << " more bad lines\n";
    }
    std::cerr << "wangge locate: nothing written; fix the lines above and "
                 "run again\n";
    return 1;
  }
  std::string out = "id,cell,village,zones,outside_m\n";
  for (const Row& row : rows) {
    auto placed = locator.Locate(row.at);  // validated above
    std::string zones;
    for (const std::string& z : placed->zones) {
      zones += (zones.empty() ? "" : ";") + z;
    }
    char distance[32] = "";
    if (!placed->inside) {
      std::snprintf(distance, sizeof distance, "%.1f", placed->distance_m);
    }
    out += CsvField(row.id) + "," + placed->cell + "," + placed->village + "," +
           zones + "," + distance + "\n";
  }
  std::cout << out;
  return 0;
}

// The newest boundaries of a database, or the layers of a folder.
Result<spatial::Locator> LoadLocator(const std::string& dir,
                                     const std::string& db) {
  if (!db.empty()) {
    auto store = core::Store::Open(db);
    if (!store) return std::unexpected(store.error());
    // Packed as stored: nothing is unpacked but what the grids need.
    auto stored = (*store)->LoadVersion(std::nullopt, /*polygons=*/true);
    if (!stored) return std::unexpected(stored.error());
    return spatial::Locator::Build(std::move(stored->tables), stored->version);
  }
  auto layers = spatial::ReadLayersDir(dir);
  if (!layers) return std::unexpected(layers.error());
  return spatial::Locator::Build(std::move(*layers), kFileVersion);
}

}  // namespace

int RunLocate(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"data", "db", "csv"}, {"help"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  bool csv = args.Flag("csv").has_value();
  if (!args.error.empty() || (!args.Flag("data") == !args.Flag("db")) ||
      args.positional.size() != (csv ? 0u : 2u)) {
    std::cerr << (args.error.empty() ? ""
                                     : "wangge locate: " + args.error + "\n")
              << kUsage;
    return 2;
  }
  std::optional<LonLat> point;
  if (!csv) {
    auto lon = ParseNumber(args.positional[0]);
    auto lat = ParseNumber(args.positional[1]);
    if (!lon || !lat) {
      std::cerr
          << "wangge locate: LON and LAT must be numbers in degrees, got '"
          << args.positional[0] << "' '" << args.positional[1] << "'\n"
          << kUsage;
      return 2;
    }
    point = LonLat{*lon, *lat};
    if (auto ok = spatial::ToFixed(*point); !ok) {
      std::cerr << "wangge locate: " << ok.error().message << "\n";
      return 2;
    }
  }
  auto locator =
      LoadLocator(args.Flag("data").value_or(""), args.Flag("db").value_or(""));
  if (!locator) {
    std::cerr << "wangge locate: " << locator.error().message << "\n";
    return 1;
  }
  if (csv) {
    std::string file = *args.Flag("csv");
    if (file == "-") return LocateCsv(*locator, std::cin, "stdin");
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "wangge locate: cannot open " << file
                << "; check the path\n";
      return 1;
    }
    return LocateCsv(*locator, in, file);
  }
  auto placed = locator->Locate(*point);
  std::cout << ToJson(*placed, *point)
                   .dump(2, ' ', false,
                         nlohmann::json::error_handler_t::replace)
            << "\n";
  return 0;
}

}  // namespace wangge::tools
