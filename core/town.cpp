#include "core/town.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "spatial/import.h"
#include "spatial/index_file.h"
#include "spatial/layer_reader.h"

namespace wangge::core {
namespace {

namespace fs = std::filesystem;

Result<std::vector<spatial::PointFeature>> ReadPoints(const fs::path& path,
                                                      spatial::LayerKind kind) {
  if (!fs::exists(path)) return std::vector<spatial::PointFeature>{};
  spatial::ImportOptions options{.source = path.string(), .layer = kind};
  auto read = spatial::ReadLayer(options);
  if (!read) return std::unexpected(read.error());
  if (!read->accepted()) {
    return Fail(ErrorCode::kInvalidArgument,
                path.filename().string() + ": " + read->problems[0].message +
                    " (run wangge validate on it for the full report)");
  }
  return std::move(read->points);
}

Result<Town> Assemble(int64_t version, spatial::Layers layers,
                      const ConfigReader& read,
                      std::vector<spatial::PointFeature> households,
                      std::vector<spatial::PointFeature> shopfronts,
                      spatial::Locator::Grids grids) {
  // Version 0 is a town folder: new data, every rule applies.
  auto config = LoadTownConfig(
      read, layers, version == 0 ? ConfigChecks::kNew : ConfigChecks::kStored);
  if (!config) return std::unexpected(config.error());
  auto locator = spatial::Locator::Build(std::move(layers), version, grids);
  if (!locator) return std::unexpected(locator.error());
  Town town;
  town.version = version;
  town.config = std::move(*config);
  town.locator = std::make_shared<const spatial::Locator>(std::move(*locator));
  town.households = std::move(households);
  town.shopfronts = std::move(shopfronts);
  return town;
}

}  // namespace

Result<VersionInput> ReadTownFolder(const std::string& dir) {
  VersionInput input;
  input.source = dir;
  input.note = "wangge init";
  auto layers = spatial::ReadLayersDir(dir);
  if (!layers) return std::unexpected(layers.error());
  auto households = ReadPoints(fs::path(dir) / "households.geojson",
                               spatial::LayerKind::kHouseholds);
  if (!households) return std::unexpected(households.error());
  auto shopfronts = ReadPoints(fs::path(dir) / "shopfronts.geojson",
                               spatial::LayerKind::kShopfronts);
  if (!shopfronts) return std::unexpected(shopfronts.error());
  for (const std::string& name : ConfigFileNames()) {
    auto text = ReadConfigText(fs::path(dir) / name);
    if (!text) return std::unexpected(text.error());
    input.config_files[name] = std::move(*text);
  }
  // Check before anything is stored: the text just read, not the folder
  // again.
  auto config = LoadTownConfig(
      [&](const std::string& name) -> Result<std::string> {
        return input.config_files.at(name);
      },
      *layers, ConfigChecks::kNew);
  if (!config) return std::unexpected(config.error());
  input.layers.push_back({"villages", std::move(layers->villages), {}});
  input.layers.push_back({"cells", std::move(layers->cells), {}});
  input.layers.push_back({"zones", std::move(layers->zones), {}});
  input.layers.push_back({"households", {}, std::move(*households)});
  input.layers.push_back({"shopfronts", {}, std::move(*shopfronts)});
  return input;
}

Result<Town> LoadTown(Store& store, std::optional<int64_t> version,
                      const std::string& index_file) {
  auto read = [&](const std::string& name) { return store.ConfigFile(name); };
  if (index_file.empty()) {
    auto stored = store.LoadLayers(version);
    if (!stored) return std::unexpected(stored.error());
    return Assemble(stored->version, std::move(stored->layers), read,
                    std::move(stored->households),
                    std::move(stored->shopfronts),
                    spatial::Locator::Grids::kNow);
  }
  auto points = store.LoadVersion(version, /*polygons=*/false);
  if (!points) return std::unexpected(points.error());
  auto indexed = spatial::IndexFile::Load(index_file, points->stamp);
  if (indexed) {
    // The configuration is checked against the features' codes and
    // attributes, which the file keeps; their shapes are not needed.
    // The cells (hundreds of thousands) are read from the packed table.
    spatial::Layers described;
    for (auto [from, to] :
         {std::pair{&indexed->villages(), &described.villages},
          std::pair{&indexed->zones(), &described.zones}}) {
      to->reserve(from->size());
      for (size_t i = 0; i < from->size(); ++i) {
        to->push_back(from->table().Describe(i));
      }
    }
    auto config = LoadTownConfig(read, described, indexed->cells().table(),
                                 ConfigChecks::kStored);
    if (!config) return std::unexpected(config.error());
    Town town;
    town.version = points->version;
    town.config = std::move(*config);
    town.locator =
        std::make_shared<const spatial::Locator>(std::move(*indexed));
    town.households = std::move(points->households);
    town.shopfronts = std::move(points->shopfronts);
    town.index_note = "boundary index read from " + index_file;
    return town;
  }
  auto stored = store.LoadLayers(points->version);
  if (!stored) return std::unexpected(stored.error());
  // The grids are left to WriteIndexFile, which the caller runs once it
  // answers: at 300,000 cells they take about half of a first start.
  auto town =
      Assemble(stored->version, std::move(stored->layers), read,
               std::move(stored->households), std::move(stored->shopfronts),
               spatial::Locator::Grids::kLater);
  if (!town) return town;
  std::string why = indexed.error().code == ErrorCode::kNotFound
                        ? ""
                        : " (" + indexed.error().message + ")";
  town->index_note = "no boundary index file" + why +
                     ": answering through the R-trees while the grids are "
                     "built, then writing " +
                     index_file + " for the next start";
  town->index_file_due = index_file;
  town->index_stamp = std::move(points->stamp);
  return town;
}

Result<void> WriteIndexFile(const Town& town) {
  if (town.index_file_due.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "this town was not loaded for an index file");
  }
  // A grid that cannot be built (too large, out of memory) is not saved
  // missing from the file: the error comes back and no file is written.
  if (auto grids = town.locator->BuildGrids(); !grids) return grids;
  return spatial::IndexFile::Save(*town.locator, town.index_stamp,
                                  town.index_file_due);
}

Result<Town> LoadTown(const TownSource& source) {
  if (source.data.empty() == source.db.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "give either a data folder (--data DIR) or a database "
                "(--db FILE)");
  }
  if (!source.db.empty()) {
    auto store = Store::Open(source.db);
    if (!store) return std::unexpected(store.error());
    return LoadTown(**store, source.version);
  }
  auto layers = spatial::ReadLayersDir(source.data);
  if (!layers) return std::unexpected(layers.error());
  auto households = ReadPoints(fs::path(source.data) / "households.geojson",
                               spatial::LayerKind::kHouseholds);
  if (!households) return std::unexpected(households.error());
  auto shopfronts = ReadPoints(fs::path(source.data) / "shopfronts.geojson",
                               spatial::LayerKind::kShopfronts);
  if (!shopfronts) return std::unexpected(shopfronts.error());
  std::string dir = source.data;
  return Assemble(
      0, std::move(*layers),
      [dir](const std::string& name) {
        return ReadConfigText(fs::path(dir) / name);
      },
      std::move(*households), std::move(*shopfronts),
      spatial::Locator::Grids::kNow);
}

}  // namespace wangge::core
