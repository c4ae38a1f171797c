#include "spatial/index_file.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "spatial/jagged_grid.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::spatial;
using wangge::testing::TempDir;

namespace {

constexpr int kCols = 24, kRows = 18;

JaggedGrid Grid() {
  return JaggedGrid({.origin = {110200000000, 34550000000},
                     .cols = kCols,
                     .rows = kRows,
                     .cell_width = 3000000,
                     .cell_height = 2500000,
                     .seed = 9});
}

// Cells with shuffled codes and attributes, two villages (west and east
// halves), and zones: one over a block with a hole, one a two-part shape.
Layers Town() {
  JaggedGrid g = Grid();
  Layers layers;
  for (int row = 0; row < kRows; ++row) {
    for (int col = 0; col < kCols; ++col) {
      char code[32];
      std::snprintf(code, sizeof code, "C%05d",
                    int((col * 7919 + row * 104729) % 99991));
      Feature f{.code = code, .name = std::string("网格 ") + code};
      f.attributes["village"] = col < kCols / 2 ? "V1" : "V2";
      f.attributes["branch"] = "B" + std::to_string(row % 3);
      f.shape.parts.push_back({{g.CellRing(col, row)}});
      layers.cells.push_back(std::move(f));
    }
  }
  Feature west{.code = "V1", .name = "西村"};
  west.shape.parts.push_back({{g.BlockRing(0, 0, kCols / 2, kRows)}});
  Feature east{.code = "V2", .name = "东村"};
  east.shape.parts.push_back({{g.BlockRing(kCols / 2, 0, kCols, kRows)}});
  layers.villages = {west, east};
  Feature holed{.code = "Z1", .name = "示范区"};
  holed.attributes["theme"] = "产业";
  Ring hole = g.BlockRing(4, 4, 6, 6);
  std::reverse(hole.begin(), hole.end());
  holed.shape.parts.push_back({{g.BlockRing(2, 2, 9, 9), hole}});
  Feature split{.code = "Z2", .name = "两块"};
  split.shape.parts.push_back({{g.BlockRing(12, 1, 14, 3)}});
  split.shape.parts.push_back({{g.BlockRing(18, 10, 21, 14)}});
  layers.zones = {holed, split};
  return layers;
}

Locator Build(int64_t version = 5) {
  auto locator = Locator::Build(Town(), version);
  REQUIRE(locator);
  return std::move(*locator);
}

// Random points over and around the town, and every 7th cell's vertices
// (points on shared edges, where the lowest code must win).
std::vector<Pt> TestPoints(const Locator& a) {
  std::vector<Pt> points;
  Shape outline;
  outline.parts.push_back({{Grid().BlockRing(0, 0, kCols, kRows)}});
  Box all = BoundsOf(outline);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> ux(all.min.x - 4000000,
                                            all.max.x + 4000000);
  std::uniform_int_distribution<int64_t> uy(all.min.y - 4000000,
                                            all.max.y + 4000000);
  for (int n = 0; n < 20000; ++n) points.push_back({ux(rng), uy(rng)});
  for (size_t i = 0; i < a.cells().size(); i += 7) {
    Shape shape = a.cells().table().shape(i);
    for (const Pt& p : shape.parts[0].rings[0]) points.push_back(p);
  }
  return points;
}

// `same_grids`: whether both locate through grids alike (false: one of
// them has its grids still to be built).
void CheckSameAnswers(const Locator& a, const Locator& b,
                      bool same_grids = true) {
  CHECK(a.boundary_version() == b.boundary_version());
  if (same_grids) {
    CHECK(a.cells().has_grid() == b.cells().has_grid());
    CHECK(a.villages().has_grid() == b.villages().has_grid());
  }
  const LayerIndex* layers_a[] = {&a.villages(), &a.cells(), &a.zones()};
  const LayerIndex* layers_b[] = {&b.villages(), &b.cells(), &b.zones()};
  for (int k = 0; k < 3; ++k) {
    REQUIRE(layers_a[k]->size() == layers_b[k]->size());
    for (size_t i = 0; i < layers_a[k]->size(); ++i) {
      Feature fa = layers_a[k]->table().feature(i);
      Feature fb = layers_b[k]->table().feature(i);
      REQUIRE(fa.code == fb.code);
      REQUIRE(fa.name == fb.name);
      REQUIRE(fa.attributes == fb.attributes);
      REQUIRE(fa.shape.parts.size() == fb.shape.parts.size());
      for (size_t p = 0; p < fa.shape.parts.size(); ++p) {
        REQUIRE(fa.shape.parts[p].rings == fb.shape.parts[p].rings);
      }
    }
  }
  std::vector<Pt> points = TestPoints(a);
  int inside = 0;
  for (const Pt& p : points) {
    auto pa = a.Locate(ToLonLat(p));
    auto pb = b.Locate(ToLonLat(p));
    REQUIRE(pa);
    REQUIRE(pb);
    inside += pa->inside;
    REQUIRE(pa->inside == pb->inside);
    REQUIRE(pa->cell == pb->cell);
    REQUIRE(pa->village == pb->village);
    REQUIRE(pa->zones == pb->zones);
    REQUIRE(pa->nearest_cell == pb->nearest_cell);
    REQUIRE(pa->distance_m == pb->distance_m);
  }
  // Both kinds of answer were compared.
  CHECK(inside > 1000);
  CHECK(inside < int(points.size()) - 1000);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("IndexFile: a locator read back answers exactly as the one built") {
  TempDir dir;
  std::string path = dir / "town.db-index";
  Locator built = Build();
  REQUIRE(IndexFile::Save(built, "stamp-1", path));
  auto loaded = IndexFile::Load(path, "stamp-1");
  REQUIRE(loaded);
  REQUIRE(loaded->cells().has_grid());
  CheckSameAnswers(built, *loaded);
  // No temporary file is left beside it.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE(
    "Locator: grids built later answer the same before, while and after "
    "they are built, and only then go to a file") {
  TempDir dir;
  std::string path = dir / "index";
  Locator now = Build();
  auto later = Locator::Build(Town(), 5, Locator::Grids::kLater);
  REQUIRE(later);
  CHECK(later->grids_due());
  CHECK_FALSE(later->cells().has_grid());
  CHECK_FALSE(later->villages().has_grid());
  CheckSameAnswers(now, *later, /*same_grids=*/false);
  // Without its grids the file would make every start from it slow.
  auto refused = IndexFile::Save(*later, "s", path);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("still to be built") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));

  // A reader keeps asking while the grids are built and published.
  std::vector<Pt> points = TestPoints(now);
  std::atomic<bool> built{false};
  std::atomic<long> asked{0}, wrong{0};
  std::thread reader([&] {
    do {
      for (size_t i = 0; i < points.size(); i += 5) {
        LonLat at = ToLonLat(points[i]);
        auto a = now.Locate(at);
        auto b = later->Locate(at);
        if (!b || a->cell != b->cell || a->village != b->village) ++wrong;
        ++asked;
      }
    } while (!built.load());
  });
  REQUIRE(later->BuildGrids());
  built = true;
  reader.join();
  CHECK(asked.load() > 0);
  CHECK(wrong.load() == 0);
  CHECK_FALSE(later->grids_due());
  CHECK(later->cells().has_grid());
  CHECK(later->villages().has_grid());
  CHECK_FALSE(later->zones().has_grid());  // queried with AllCovering
  REQUIRE(later->BuildGrids());            // once only: nothing left to do
  CheckSameAnswers(now, *later);
  REQUIRE(IndexFile::Save(*later, "s", path));
  auto loaded = IndexFile::Load(path, "s");
  REQUIRE(loaded);
  CheckSameAnswers(now, *loaded);
}

TEST_CASE("IndexFile: an empty zones layer and a tiny town round-trip") {
  TempDir dir;
  std::string path = dir / "index";
  Layers layers = Town();
  layers.zones.clear();
  layers.cells.resize(1);
  layers.villages.resize(1);
  auto built = Locator::Build(std::move(layers), 1);
  REQUIRE(built);
  REQUIRE(IndexFile::Save(*built, "s", path));
  auto loaded = IndexFile::Load(path, "s");
  REQUIRE(loaded);
  CHECK(loaded->zones().size() == 0);
  REQUIRE(loaded->cells().size() == 1);
  CHECK(loaded->cells().table().code(0) == built->cells().table().code(0));
}

TEST_CASE("IndexFile: a file built from other boundaries is refused") {
  TempDir dir;
  std::string path = dir / "index";
  REQUIRE(IndexFile::Save(Build(), "version 5 at 2026-11-30T10:00:00Z", path));
  auto loaded = IndexFile::Load(path, "version 5 at 2026-11-30T10:00:01Z");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == ErrorCode::kConflict);
  CHECK(loaded.error().message.find("other boundaries") != std::string::npos);
}

TEST_CASE("IndexFile: a missing, foreign, short or damaged file is refused") {
  TempDir dir;
  std::string path = dir / "index";
  auto missing = IndexFile::Load(path, "s");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);

  WriteAll(path, "PK\x03\x04 this is a zip file, not an index");
  auto foreign = IndexFile::Load(path, "s");
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code == ErrorCode::kInvalidArgument);
  CHECK(foreign.error().message.find("not a wangge index") !=
        std::string::npos);

  REQUIRE(IndexFile::Save(Build(), "s", path));
  const std::string good = ReadAll(path);
  REQUIRE(good.size() > 100000);
  // Cut short anywhere after the header: at a count, inside the arrays,
  // before the checksum.
  for (size_t cut :
       {good.size() / 3, good.size() / 2, good.size() - 8, good.size() - 1}) {
    WriteAll(path, good.substr(0, cut));
    auto loaded = IndexFile::Load(path, "s");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == ErrorCode::kInvalidArgument);
  }
  // One bit flipped, in the features, in the grid's arrays, at the end.
  for (size_t at : {good.size() / 5, good.size() / 2, good.size() * 9 / 10,
                    good.size() - 20}) {
    std::string bad = good;
    bad[at] ^= 0x10;
    WriteAll(path, bad);
    auto loaded = IndexFile::Load(path, "s");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == ErrorCode::kInvalidArgument);
    CHECK(loaded.error().message.find("damaged") != std::string::npos);
  }
  // A byte too many.
  WriteAll(path, good + "x");
  CHECK_FALSE(IndexFile::Load(path, "s"));
  WriteAll(path, good);
  CHECK(IndexFile::Load(path, "s"));
}

TEST_CASE("IndexFile: saving replaces the old file, or leaves it whole") {
  TempDir dir;
  std::string path = dir / "index";
  REQUIRE(IndexFile::Save(Build(4), "old", path));
  REQUIRE(IndexFile::Save(Build(6), "new", path));
  auto loaded = IndexFile::Load(path, "new");
  REQUIRE(loaded);
  CHECK(loaded->boundary_version() == 6);

  auto nowhere = IndexFile::Save(Build(), "s", dir / "missing-dir/index");
  REQUIRE_FALSE(nowhere);
  CHECK(nowhere.error().code == ErrorCode::kInternal);
  CHECK(nowhere.error().message.find("missing-dir/index") != std::string::npos);
  CHECK(IndexFile::Load(path, "new"));
}

TEST_CASE(
    "IndexFile: temporaries of a killed save are cleared, fresh ones kept") {
  namespace fs = std::filesystem;
  TempDir dir;
  std::string path = dir / "town.db-index";
  // As a save killed while writing leaves them; and other files alike.
  for (const char* name :
       {"town.db-index.a1B2c3", "town.db-index.Zz9yY8", "town.db-index.keep",
        "town.db-index.backup1", "other.db-index.a1B2c3"}) {
    std::ofstream(dir / name) << "half a file";
  }
  auto long_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (const char* name : {"town.db-index.a1B2c3", "town.db-index.keep",
                           "town.db-index.backup1", "other.db-index.a1B2c3"}) {
    fs::last_write_time(dir / name, long_ago);
  }
  REQUIRE(IndexFile::Save(Build(), "s", path));
  CHECK_FALSE(fs::exists(dir / "town.db-index.a1B2c3"));  // abandoned
  CHECK(fs::exists(dir / "town.db-index.Zz9yY8"));        // may be in progress
  CHECK(fs::exists(dir / "town.db-index.keep"));          // not a temporary
  CHECK(fs::exists(dir / "town.db-index.backup1"));       // 7 characters
  CHECK(fs::exists(dir / "other.db-index.a1B2c3"));       // another file's
  CHECK(IndexFile::Load(path, "s"));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.exists();
  CHECK(files == 5);  // nothing of its own left behind
}

TEST_CASE(
    "IndexFile: a locator read back keeps answering after its file is "
    "replaced and deleted") {
  TempDir dir;
  std::string path = dir / "index";
  Locator built = Build();
  REQUIRE(IndexFile::Save(built, "old", path));
  auto loaded = IndexFile::Load(path, "old");
  REQUIRE(loaded);
  // As a server does when the boundaries change: a new file over the one
  // it read, while it still answers from that one.
  REQUIRE(IndexFile::Save(Build(6), "new", path));
  std::filesystem::remove(path);
  Locator moved = std::move(*loaded);
  CheckSameAnswers(built, moved);
}

TEST_CASE("IndexFile: a file of an older format or empty is refused") {
  TempDir dir;
  std::string path = dir / "index";
  REQUIRE(IndexFile::Save(Build(), "s", path));
  std::string good = ReadAll(path);
  // Format 1 (session 14-21) read its arrays unaligned.
  std::string old = good;
  uint32_t format = 1;
  std::memcpy(old.data() + 8, &format, sizeof format);
  WriteAll(path, old);
  auto refused = IndexFile::Load(path, "s");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("another wangge version") !=
        std::string::npos);
  WriteAll(path, "");
  auto empty = IndexFile::Load(path, "s");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == ErrorCode::kInvalidArgument);
  CHECK(empty.error().message.find("not a wangge index") != std::string::npos);
}
