#pragma once
// Town: one town ready to answer questions — its configuration and a
// locator over the boundary layers of one version — loaded from a data
// folder (version 0: files, not a database) or from a Store.
//
//   auto town = LoadTown(TownSource{.db = "town.db"});
//   auto placed = town->locator->Locate({110.24, 34.51});

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "core/store.h"
#include "core/town_config.h"
#include "spatial/locator.h"

namespace wangge::core {

struct Town {
  int64_t version = 0;
  TownConfig config;
  std::shared_ptr<const spatial::Locator> locator;
  std::vector<spatial::PointFeature> households;
  std::vector<spatial::PointFeature> shopfronts;
  // How the locator came to be when an index file was given: read from
  // it, or built, for the server's log.
  std::string index_note;
  // Set by LoadTown when it built the locator for an index file: the file
  // to write (WriteIndexFile) and the stamp of the version it holds.
  // Writing is left to the caller, so that a server can answer meanwhile.
  std::string index_file_due;
  std::string index_stamp;
};

// Where a town comes from: exactly one of `data` (a folder like data/taiyao)
// and `db` (a database made by wangge init).
struct TownSource {
  std::string data;
  std::string db;
  std::optional<int64_t> version;  // db only; Default: the newest
};

// Reads a town folder completely — layers, point layers, configuration
// files — and checks it (the configuration against the layers), so that
// `wangge init` stores only what loads. The result is boundary version 1.
Result<VersionInput> ReadTownFolder(const std::string& dir);

// Loads and checks a town; errors name the file or database and what to fix.
Result<Town> LoadTown(const TownSource& source);
// With `index_file` (spatial/index_file.h), the locator is read from that
// file when it was built from this very version of this database, skipping
// the shapes and the index build; otherwise it is built without its grids
// (Locator::Grids::kLater: it answers, more slowly), and the town's
// index_file_due names the file for WriteIndexFile.
Result<Town> LoadTown(Store& store, std::optional<int64_t> version,
                      const std::string& index_file = "");
// Builds the locator's grids if they are still due (Locate switches to
// them), then writes it to its index_file_due for the next start (a
// temporary file renamed into place). Safe beside readers of the town.
Result<void> WriteIndexFile(const Town& town);

}  // namespace wangge::core
