// LoadTown with a boundary index file (spatial/index_file.h): built on the
// first load and written by WriteIndexFile, read on the next, rebuilt when
// the database's version changes or the file is damaged; the town answers
// the same either way.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/town.h"
#include "tests/core/town_fixture.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::core;
using wangge::testing::TempDir;

namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void CheckSameTown(const Town& a, const Town& b) {
  CHECK(a.version == b.version);
  CHECK(a.households.size() == b.households.size());
  CHECK(a.shopfronts.size() == b.shopfronts.size());
  REQUIRE(a.config.cells.size() == b.config.cells.size());
  for (const auto& [code, cell] : a.config.cells) {
    const CellInfo& other = b.config.cells.at(code);
    CHECK(cell.village == other.village);
    CHECK(cell.branch == other.branch);
    CHECK(cell.leader == other.leader);
  }
  CHECK(a.config.zones.size() == b.config.zones.size());
  CHECK(a.config.villages == b.config.villages);
  for (const spatial::Feature& f : testing::Town().layers.cells) {
    LonLat p = testing::InsidePoint(f);
    auto pa = a.locator->Locate(p);
    auto pb = b.locator->Locate(p);
    REQUIRE(pa);
    REQUIRE(pb);
    CHECK(pa->cell == f.code);
    CHECK(pb->cell == f.code);
    CHECK(pa->village == pb->village);
    CHECK(pa->zones == pb->zones);
  }
}

// The sample town stored as version 1 in a fresh database.
struct StoredSampleTown {
  TempDir dir;
  Result<VersionInput> input = ReadTownFolder(testing::kTownDir);
  Result<std::unique_ptr<Store>> store = Store::Create(dir / "town.db");
  StoredSampleTown() {
    REQUIRE(input);
    REQUIRE(store);
    REQUIRE((*store)->AddVersion(*input));
  }
};

}  // namespace

TEST_CASE_FIXTURE(StoredSampleTown,
                  "LoadTown: the index file is written, read, and rebuilt on "
                  "change") {
  std::string index = dir / "town.db-index";

  auto plain = LoadTown(**store, std::nullopt);
  REQUIRE(plain);
  CHECK(plain->index_note.empty());
  CHECK(plain->index_file_due.empty());
  CHECK(WriteIndexFile(*plain).error().code == ErrorCode::kInvalidArgument);
  CHECK_FALSE(std::filesystem::exists(index));

  // Built without its grids, which WriteIndexFile builds before it writes
  // (a server answers meanwhile, through the R-trees).
  auto first = LoadTown(**store, std::nullopt, index);
  REQUIRE(first);
  CHECK(Has(first->index_note, "while the grids are built, then writing " +
                                   index + " for the next start"));
  CHECK(first->index_file_due == index);
  CHECK(first->locator->grids_due());
  CHECK_FALSE(plain->locator->grids_due());
  CheckSameTown(*plain, *first);
  CHECK_FALSE(std::filesystem::exists(index));
  REQUIRE(WriteIndexFile(*first));
  CHECK_FALSE(first->locator->grids_due());
  REQUIRE(std::filesystem::exists(index));
  auto second = LoadTown(**store, std::nullopt, index);
  REQUIRE(second);
  CHECK(second->index_note == "boundary index read from " + index);
  CHECK(second->index_file_due.empty());
  CheckSameTown(*plain, *second);

  // A new version: the file no longer matches and is rebuilt.
  input->note = "second import";
  REQUIRE((*store)->AddVersion(*input));
  auto changed = LoadTown(**store, std::nullopt, index);
  REQUIRE(changed);
  CHECK(changed->version == 2);
  CHECK(Has(changed->index_note, "other boundaries"));
  REQUIRE(WriteIndexFile(*changed));
  // Asking for the older version again rebuilds it too.
  auto older = LoadTown(**store, 1, index);
  REQUIRE(older);
  CHECK(older->version == 1);
  CHECK(Has(older->index_note, "other boundaries"));
  REQUIRE(WriteIndexFile(*older));
  auto again = LoadTown(**store, 1, index);
  REQUIRE(again);
  CHECK(Has(again->index_note, "read from"));
  CheckSameTown(*plain, *again);

  // A damaged file is rebuilt, not trusted.
  std::string bytes;
  {
    std::ifstream in(index, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 1000);
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
  auto repaired = LoadTown(**store, 1, index);
  REQUIRE(repaired);
  CHECK(Has(repaired->index_note, "damaged"));
  CheckSameTown(*plain, *repaired);
  REQUIRE(WriteIndexFile(*repaired));
  auto after = LoadTown(**store, 1, index);
  REQUIRE(after);
  CHECK(Has(after->index_note, "read from"));

  // A file that cannot be written only costs the next start its speed.
  auto unwritable = LoadTown(**store, std::nullopt, dir / "no-such-dir/index");
  REQUIRE(unwritable);
  auto failed = WriteIndexFile(*unwritable);
  REQUIRE_FALSE(failed);
  CHECK(Has(failed.error().message, "cannot write the index file"));
}

TEST_CASE_FIXTURE(StoredSampleTown,
                  "Store: a version without its polygons has the same stamp") {
  auto full = (*store)->LoadLayers(std::nullopt);
  auto light = (*store)->LoadVersion(std::nullopt, /*polygons=*/false);
  REQUIRE(full);
  REQUIRE(light);
  CHECK(light->version == full->version);
  CHECK(light->stamp == full->stamp);
  CHECK_FALSE(light->stamp.empty());
  CHECK(light->layers.cells.empty());
  CHECK(light->layers.villages.empty());
  CHECK(full->layers.cells.size() == 225);
  CHECK(light->households.size() == full->households.size());
  CHECK_FALSE(light->households.empty());
  // Another version, another stamp.
  REQUIRE((*store)->AddVersion(*input));
  auto next = (*store)->LoadVersion(std::nullopt, false);
  REQUIRE(next);
  CHECK(next->stamp != full->stamp);
}
