#pragma once
// IndexFile: a built Locator written to a file and read back, so that a
// server with hundreds of thousands of cells starts by mapping its index
// (under a second) instead of loading every shape from the database and
// building the bucket grid again (several seconds).
//
// The file is a cache: it may be deleted at any time and is then rebuilt.
// It carries a stamp that the caller derives from what the index was built
// from (core: the database's boundary version, its time and its layers);
// Load refuses a file with another stamp, another format or a wrong
// checksum, and the caller builds the index instead. Save writes a
// temporary file beside `path` (`path`.XXXXXX) and renames it over, so a
// reader never sees half a file; it removes such files over an hour old,
// left by a process killed while writing.
//
// Format (native byte order, checked by a marker): a header, then per layer
// (villages, cells, zones) its FeatureTable's arrays and its CellGrid's, each
// array at a multiple of 8 bytes, and a 64-bit checksum of everything before
// it. Load maps the file and checks the checksum; the loaded tables and
// grids view their arrays in the mapping (spatial/shared_array.h), which
// stays until the last of them goes, even when the file is replaced or
// deleted. The R-trees are packed again from the features' bounds on load
// (a fraction of a second).
//
//   if (auto saved = IndexFile::Save(locator, stamp, "town.db-index"); !saved)
//     ...;  // still serving: only the next start is slower
//   auto locator = IndexFile::Load("town.db-index", stamp);
//   if (!locator) ...;  // kNotFound: no file; otherwise stale or damaged

#include <string>
#include <string_view>

#include "base/result.h"
#include "spatial/locator.h"

namespace wangge::spatial {

class IndexFile {
 public:
  // Fails with kInternal (the path and the system's reason) when the file
  // cannot be written; nothing is left behind then.
  static Result<void> Save(const Locator& locator, std::string_view stamp,
                           const std::string& path);
  // Fails with kNotFound when there is no file, kConflict when it was built
  // from something else (another stamp or format), and kInvalidArgument
  // when it is damaged (short, or a wrong checksum).
  static Result<Locator> Load(const std::string& path, std::string_view stamp);
};

}  // namespace wangge::spatial
