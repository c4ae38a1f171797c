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

// The configuration of a stored version, checked against its layers' codes
// and attributes. The shapes are not needed: the villages and zones are
// described, the cells (hundreds of thousands) read from their table.
Result<TownConfig> StoredConfig(const ConfigReader& read,
                                const spatial::FeatureTable& villages,
                                const spatial::FeatureTable& zones,
                                const spatial::FeatureTable& cells) {
  spatial::Layers described;
  for (auto [from, to] : {std::pair{&villages, &described.villages},
                          std::pair{&zones, &described.zones}}) {
    to->reserve(from->size());
    for (size_t i = 0; i < from->size(); ++i) {
      to->push_back(from->Describe(i));
    }
  }
  return LoadTownConfig(read, described, cells, ConfigChecks::kStored);
}

// A stored version's town, its layers as the store hands them over.
Result<Town> AssembleStored(StoredTown stored, const ConfigReader& read,
                            spatial::Locator::Grids grids) {
  auto config = StoredConfig(read, stored.tables.villages, stored.tables.zones,
                             stored.tables.cells);
  if (!config) return std::unexpected(config.error());
  auto locator =
      spatial::Locator::Build(std::move(stored.tables), stored.version, grids);
  if (!locator) return std::unexpected(locator.error());
  Town town;
  town.version = stored.version;
  town.config = std::move(*config);
  town.locator = std::make_shared<const spatial::Locator>(std::move(*locator));
  town.households = std::move(stored.households);
  town.shopfronts = std::move(stored.shopfronts);
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
    auto stored = store.LoadVersion(version, /*polygons=*/true);
    if (!stored) return std::unexpected(stored.error());
    return AssembleStored(std::move(*stored), read,
                          spatial::Locator::Grids::kNow);
  }
  auto points = store.LoadVersion(version, /*polygons=*/false);
  if (!points) return std::unexpected(points.error());
  auto indexed = spatial::IndexFile::Load(index_file, points->stamp);
  if (indexed) {
    // The file keeps the features' codes and attributes.
    auto config =
        StoredConfig(read, indexed->villages().table(),
                     indexed->zones().table(), indexed->cells().table());
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
  auto stored = store.LoadVersion(points->version, /*polygons=*/true);
  if (!stored) return std::unexpected(stored.error());
  // The grids are left to WriteIndexFile, which the caller runs once it
  // answers: at 300,000 cells they take about half of a first start.
  auto town =
      AssembleStored(std::move(*stored), read, spatial::Locator::Grids::kLater);
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
  // A town folder is new data: every rule applies. Its version is 0.
  auto config = LoadTownConfig(
      [&](const std::string& name) {
        return ReadConfigText(fs::path(source.data) / name);
      },
      *layers, ConfigChecks::kNew);
  if (!config) return std::unexpected(config.error());
  auto locator = spatial::Locator::Build(std::move(*layers), 0);
  if (!locator) return std::unexpected(locator.error());
  Town town;
  town.config = std::move(*config);
  town.locator = std::make_shared<const spatial::Locator>(std::move(*locator));
  town.households = std::move(*households);
  town.shopfronts = std::move(*shopfronts);
  return town;
}

}  // namespace wangge::core
