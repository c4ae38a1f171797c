#pragma once
// Store: the town's durable state — boundary versions with their layers, and
// the configuration files — behind one interface. SQLite today
// (core/sqlite_store.cpp, WAL, foreign keys on, synchronous=FULL, numbered
// migrations); PostgreSQL later behind the same interface.
//
// Boundary versions: every accepted import is a new version (number, time,
// source file, who, layers). A version holds the complete contents of each
// layer it provides; the layers "at version N" are, per layer, those of the
// newest version <= N that provides it. Version 1 comes from `wangge init`
// and provides every layer. Adding a version is all-or-nothing: any failure
// leaves the database as it was.
//
// A Store is used from one thread at a time; open one per thread.
//
//   auto store = Store::Create("town.db");           // kConflict if it exists
//   auto v = (*store)->AddVersion(input);            // -> 1
//   auto town = (*store)->LoadLayers(std::nullopt);  // the newest version

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"

namespace wangge::core {

// The contents of one layer in a version: polygons for villages, cells and
// zones; points for households and shopfronts.
struct LayerContents {
  std::string
      layer;  // "villages", "cells", "zones", "households", "shopfronts"
  std::vector<spatial::Feature> polygons;
  std::vector<spatial::PointFeature> points;
};

struct VersionInput {
  std::string source;  // file the boundaries came from
  std::string actor;   // who imported them
  std::string note;
  std::vector<LayerContents> layers;
  // Configuration files (name -> text) to store or replace, e.g. on init.
  std::map<std::string, std::string> config_files;
};

struct BoundaryVersion {
  int64_t number = 0;
  std::string created_at;  // ISO 8601, UTC
  std::string source;
  std::string actor;
  std::string note;
  std::vector<std::string> layers;  // the layers this version provides
};

struct StoredTown {
  int64_t version = 0;
  spatial::Layers layers;  // villages, cells, zones
  std::vector<spatial::PointFeature> households;
  std::vector<spatial::PointFeature> shopfronts;
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates a new database at `path` with the current schema. Fails with
  // kConflict if the file exists (never overwrites).
  static Result<std::unique_ptr<Store>> Create(const std::string& path);
  // Opens an existing database and applies pending migrations. Fails with
  // kNotFound if there is none, kInvalidArgument if it is not a wangge one.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  // Stores a new boundary version; returns its number.
  virtual Result<int64_t> AddVersion(const VersionInput& input) = 0;
  // All versions, oldest first.
  virtual Result<std::vector<BoundaryVersion>> Versions() = 0;
  // The layers at `version` (newest if nullopt). kNotFound for an unknown
  // version number.
  virtual Result<StoredTown> LoadLayers(std::optional<int64_t> version) = 0;
  // The stored configuration file `name`; kNotFound if absent.
  virtual Result<std::string> ConfigFile(const std::string& name) = 0;
};

}  // namespace wangge::core
