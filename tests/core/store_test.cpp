// The SQLite store's geometry blobs: the compact encoding round-trips
// exactly, older databases ('S' blobs) still load, damaged blobs are refused
// with the feature named.
#include "core/store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/temp_dir.h"

using namespace wangge;
using spatial::Feature;
using spatial::Polygon;
using spatial::Pt;
using spatial::Ring;
using spatial::Shape;

namespace {

// A cell of 90 jagged vertices around (110.25, 34.5) in nanodegrees, and a
// multipolygon with a hole and coordinates of either sign far apart.
std::vector<Feature> Cells() {
  Ring jagged;
  for (int i = 0; i < 90; ++i) {
    int64_t r = 1'000'000 + (i * 7919 % 300'000);
    double a = i * 6.283185307179586 / 90;
    jagged.push_back({110'250'000'000 + int64_t(r * std::cos(a)),
                      34'500'000'000 + int64_t(r * std::sin(a))});
  }
  Shape odd;
  odd.parts.push_back(Polygon{{Ring{{-179'999'999'999, -89'000'000'000},
                                    {179'999'999'999, -89'000'000'000},
                                    {0, 89'999'999'999}},
                               Ring{{-1, -1}, {1, -1}, {0, 1}}}});
  odd.parts.push_back(Polygon{{Ring{{5, 5}, {6, 5}, {6, 6}}}});
  return {Feature{.code = "A", .shape = Shape{{Polygon{{jagged}}}}},
          Feature{.code = "B", .shape = odd}};
}

void Exec(const std::string& path, const std::string& sql,
          const std::string& blob = "") {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) == SQLITE_OK);
  if (!blob.empty()) {
    sqlite3_bind_blob(q, 1, blob.data(), int(blob.size()), SQLITE_TRANSIENT);
  }
  CHECK(sqlite3_step(q) == SQLITE_DONE);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

int64_t BlobBytes(const std::string& path, const std::string& code) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  std::string sql =
      "SELECT length(geometry) FROM features WHERE code = '" + code + "'";
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return n;
}

// The format written before the compact one.
std::string OldBlob(const Shape& s) {
  std::string out = "S";
  auto put = [&](auto v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  };
  put(uint32_t(s.parts.size()));
  for (const auto& part : s.parts) {
    put(uint32_t(part.rings.size()));
    for (const auto& ring : part.rings) {
      put(uint32_t(ring.size()));
      for (Pt p : ring) {
        put(int64_t(p.x));
        put(int64_t(p.y));
      }
    }
  }
  return out;
}

std::vector<Ring> Rings(const Shape& s) {
  std::vector<Ring> out;
  for (const Polygon& p : s.parts) {
    out.insert(out.end(), p.rings.begin(), p.rings.end());
    out.push_back({});  // marks the end of a part
  }
  return out;
}

// A new database at `path` with `cells` as boundary version 1.
void StoreCells(const std::string& path, const std::vector<Feature>& cells) {
  auto store = core::Store::Create(path);
  REQUIRE(store);
  core::VersionInput in{.source = "test", .actor = "gis"};
  in.layers.push_back({.layer = "cells", .polygons = cells});
  REQUIRE((*store)->AddVersion(in));
}

std::string Stored(const std::string& path) {
  auto store = core::Store::Open(path);
  REQUIRE(store);
  auto town = (*store)->LoadLayers(std::nullopt);
  return town ? "" : town.error().message;
}

}  // namespace

TEST_CASE("Store: geometry blobs round-trip, old ones load, damaged refused") {
  wangge::testing::TempDir dir;
  std::string path = dir / "town.db";
  auto cells = Cells();
  StoreCells(path, cells);
  auto load = [&] {
    auto store = core::Store::Open(path);
    REQUIRE(store);
    auto town = (*store)->LoadLayers(std::nullopt);
    REQUIRE(town);
    return town->layers.cells;
  };
  auto loaded = load();
  REQUIRE(loaded.size() == 2);
  CHECK(Rings(loaded[0].shape) == Rings(cells[0].shape));
  CHECK(Rings(loaded[1].shape) == Rings(cells[1].shape));
  // Neighbouring vertices tens of metres apart: under 8 bytes a vertex
  // (16 in the old format).
  CHECK(BlobBytes(path, "A") < 90 * 8);

  Exec(path, "UPDATE features SET geometry = ? WHERE code = 'B'",
       OldBlob(cells[1].shape));
  loaded = load();
  CHECK(Rings(loaded[1].shape) == Rings(cells[1].shape));

  // Cut short, or a count larger than the blob: refused, feature named.
  Exec(path,
       "UPDATE features SET geometry = substr(geometry, 1, 40) WHERE "
       "code = 'A'");
  CHECK(Stored(path).find("cells A: geometry unreadable") != std::string::npos);
  Exec(path, "UPDATE features SET geometry = ? WHERE code = 'A'",
       std::string("Z\xff\xff\xff\xff\x0f", 6));
  CHECK(Stored(path).find("cells A: geometry unreadable") != std::string::npos);
}

TEST_CASE(
    "Store: a large layer is decoded by several threads, in order, and the "
    "first damaged row is named") {
  wangge::testing::TempDir dir;
  std::string path = dir / "town.db";
  // Over 4,096 rows: decoded by all cores.
  std::vector<Feature> cells;
  for (int i = 0; i < 6000; ++i) {
    char code[16];
    std::snprintf(code, sizeof code, "C%05d", i);
    int64_t x = 110'000'000'000 + int64_t(i % 100) * 1'000'000;
    int64_t y = 34'000'000'000 + int64_t(i / 100) * 1'000'000;
    Feature f{.code = code, .name = std::string("网格") + code};
    f.attributes["village"] = "V" + std::to_string(i % 7);
    f.shape.parts.push_back(Polygon{{Ring{
        {x, y}, {x + 1'000'000, y}, {x + 1'000'000, y + 1'000'000 + i}}}});
    cells.push_back(std::move(f));
  }
  // And a point layer as large.
  std::vector<spatial::PointFeature> households;
  for (int i = 0; i < 5000; ++i) {
    households.push_back({.code = "H" + std::to_string(100000 + i),
                          .name = "户" + std::to_string(i),
                          .attributes = {{"cell", cells[i].code}},
                          .at = {110'000'000'000 + i, 34'000'000'000 - i}});
  }
  {
    auto store = core::Store::Create(path);
    REQUIRE(store);
    core::VersionInput in{.source = "test", .actor = "gis"};
    in.layers.push_back({.layer = "cells", .polygons = cells});
    in.layers.push_back({.layer = "households", .points = households});
    REQUIRE((*store)->AddVersion(in));
  }
  {
    auto store = core::Store::Open(path);
    REQUIRE(store);
    auto town = (*store)->LoadLayers(std::nullopt);
    REQUIRE(town);
    REQUIRE(town->households.size() == households.size());
    for (size_t i = 0; i < households.size(); ++i) {
      const spatial::PointFeature& h = town->households[i];
      REQUIRE(h.code == households[i].code);
      REQUIRE(h.name == households[i].name);
      REQUIRE(h.attributes == households[i].attributes);
      REQUIRE(h.at.x == households[i].at.x);
      REQUIRE(h.at.y == households[i].at.y);
    }
    REQUIRE(town->layers.cells.size() == cells.size());
    for (size_t i = 0; i < cells.size(); ++i) {
      const Feature& f = town->layers.cells[i];
      REQUIRE(f.code == cells[i].code);
      REQUIRE(f.name == cells[i].name);
      REQUIRE(f.attributes == cells[i].attributes);
      REQUIRE(Rings(f.shape) == Rings(cells[i].shape));
    }
  }
  // Damage in the second half first, then also in the first: the lowest
  // code is named, as a reader row by row would.
  Exec(path,
       "UPDATE features SET geometry = substr(geometry, 1, 5) WHERE "
       "code = 'C05500'");
  CHECK(Stored(path).find("cells C05500: geometry unreadable") !=
        std::string::npos);
  Exec(path,
       "UPDATE features SET attributes = '{\"village\":[]}' WHERE code = "
       "'C04000'");
  CHECK(Stored(path).find("cells C04000: attributes unreadable") !=
        std::string::npos);
  Exec(path,
       "UPDATE features SET geometry = substr(geometry, 1, 5) WHERE "
       "code = 'C00100'");
  CHECK(Stored(path).find("cells C00100: geometry unreadable") !=
        std::string::npos);
}

TEST_CASE("Store: feature attributes round-trip, whatever their text") {
  wangge::testing::TempDir dir;
  std::string path = dir / "town.db";
  auto cells = Cells();
  REQUIRE(cells.size() == 2);
  // Quotes, backslashes, slashes, the short escapes, control characters
  // (written as \u escapes), Chinese, DEL, an empty value and key.
  cells[0].attributes = {{"village", "东村 \"一组\" \\ a/b"},
                         {"note", "line\nbreak\ttab\r\b\f\x01\x1f\x7f"},
                         {"", ""},
                         {"branch", "党支部"}};
  cells[1].attributes = {};
  StoreCells(path, cells);
  auto store = core::Store::Open(path);
  REQUIRE(store);
  auto town = (*store)->LoadLayers(std::nullopt);
  REQUIRE(town);
  REQUIRE(town->layers.cells.size() == 2);
  CHECK(town->layers.cells[0].attributes == cells[0].attributes);
  CHECK(town->layers.cells[1].attributes.empty());

  // Stored by another writer: spaces and \u escapes go to the full parser;
  // a value that is not text is refused with the feature named.
  Exec(path,
       "UPDATE features SET attributes = '{ \"village\" : \"\\u4e1c\" }' "
       "WHERE code = 'A'",
       "");
  town = (*store)->LoadLayers(std::nullopt);
  REQUIRE(town);
  CHECK(town->layers.cells[0].attributes ==
        std::map<std::string, std::string>{{"village", "东"}});
  // Keys out of order and given twice, in the compact form: in order, the
  // last one kept, as the JSON parser keeps it.
  Exec(path,
       "UPDATE features SET attributes = "
       "'{\"v\":\"1\",\"b\":\"2\",\"v\":\"3\"}' WHERE code = 'A'",
       "");
  town = (*store)->LoadLayers(std::nullopt);
  REQUIRE(town);
  CHECK(town->layers.cells[0].attributes ==
        std::map<std::string, std::string>{{"b", "2"}, {"v", "3"}});
  Exec(path,
       "UPDATE features SET attributes = '{\"village\":1}' WHERE code = 'B'",
       "");
  CHECK(Stored(path).find("cells B: attributes unreadable") !=
        std::string::npos);
}
