#pragma once
// Importing one boundary layer into a town's database, and comparing
// versions.
//
// ImportLayer reads the source with spatial::ReadLayer (any GDAL source,
// CRS, encoding, repairs, validation), checks cells against the stored
// villages, checks the town configuration still holds with the new layer
// (every cell's village, branch, member and leader known), and only then
// stores a new boundary version — all or nothing. A refused or dry-run
// import leaves the database untouched.
//
//   auto outcome = ImportLayer(*store, options, "gis-staff", false);
//   if (outcome && outcome->version) Print(*outcome->version);

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/store.h"
#include "spatial/import.h"

namespace wangge::core {

struct CellChange {
  std::string code;
  std::string change;  // "added", "removed", "geometry", "attributes"
  double area_before_m2 = 0;
  double area_after_m2 = 0;
  std::vector<std::string> attributes;  // attribute keys that changed
};

struct BoundaryDiff {
  int64_t from = 0;
  int64_t to = 0;
  std::vector<CellChange> changes;  // by code
};

struct ImportOutcome {
  spatial::ImportResult report;
  std::optional<int64_t> version;  // set when a version was stored
  // Set (to the current version) when the layer read is the one stored,
  // feature for feature: then nothing is stored, a re-run of an import
  // does not add a version.
  std::optional<int64_t> unchanged;
  BoundaryDiff diff;  // cells layer: what the import changes
  // Open cases (not closed or rejected) in cells the import changes or
  // removes: they keep the version they were routed with, but the office
  // may want to look at them.
  std::vector<CaseRecord> affected_cases;
};

// Fails only for file-level errors (unreadable source, no CRS, bad text
// encoding, database trouble); a layer with problems comes back with
// report.accepted() == false and no version.
Result<ImportOutcome> ImportLayer(Store& store,
                                  const spatial::ImportOptions& options,
                                  const std::string& actor, bool dry_run);

// Cells added, removed and changed between two stored versions, with the
// area before and after in m².
Result<BoundaryDiff> DiffVersions(Store& store, int64_t from, int64_t to);

}  // namespace wangge::core
