#pragma once
// An in-process Api on a fresh database of the sample town, with accounts
// for its people (password kPassword) and an injected clock, for tests of
// server/ routes.
//
//   Fixture f;
//   std::string token = f.Login("p0021");  // the dispatcher
//   ApiResponse r = f.Call("GET", "/api/v1/cases", "", token);

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/store.h"
#include "core/town.h"
#include "server/api.h"
#include "tests/temp_dir.h"

namespace wangge::testing {

using nlohmann::json;
using server::Api;
using server::ApiResponse;

inline const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";
inline constexpr const char* kPassword = "test-password";

// The mean of a ring's vertices: inside most cells of the sample town, not
// all of them.
inline LonLat VertexMean(const spatial::Ring& ring) {
  __int128 x = 0, y = 0;
  for (const auto& p : ring) {
    x += p.x;
    y += p.y;
  }
  return spatial::ToLonLat(
      {int64_t(x / __int128(ring.size())), int64_t(y / __int128(ring.size()))});
}

// A cell of the sample town, its grid leader and a point inside it.
struct CellPoint {
  std::string cell;    // the cell's code
  std::string leader;  // its grid leader's username
  LonLat at;           // the vertex mean of its outer ring
};

// A database of the sample town with accounts for its people, and an Api on
// it at a fixed time.
struct Fixture {
  TempDir dir;
  std::string db = dir / "town.db";
  core::Time now = *core::ParseTime("2026-11-26T10:00");
  std::unique_ptr<Api> api;

  Fixture() {
    auto input = core::ReadTownFolder(kTown);
    REQUIRE(input);
    auto store = core::Store::Create(db);
    REQUIRE(store);
    REQUIRE((*store)->AddVersion(*input));
    REQUIRE(core::CreatePeopleAccounts(**store, kPassword));
    auto opened = Api::Open({.db_path = db, .now = [this] { return now; }});
    REQUIRE(opened);
    api = std::move(*opened);
  }

  ApiResponse Call(const std::string& method, const std::string& path,
                   const std::string& body = "", const std::string& token = "",
                   std::map<std::string, std::string> headers = {},
                   std::map<std::string, std::string> query = {}) {
    if (!token.empty()) headers["authorization"] = "Bearer " + token;
    return api->Handle({method, path, query, headers, body, "127.0.0.1"});
  }

  std::string Login(const std::string& user) {
    ApiResponse r =
        Call("POST", "/api/v1/login",
             json{{"username", user}, {"password", kPassword}}.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["token"];
  }

  // The grid leader (username) and an inside point of a cell they lead.
  std::pair<std::string, json> LeaderAndPoint(int nth = 0) {
    auto store = core::Store::Open(db);
    auto town = core::LoadTown(**store, std::nullopt);
    REQUIRE(town);
    auto it = town->config.cells.begin();
    std::advance(it, nth);
    std::string leader = it->second.leader;
    std::string username = leader;
    for (char& c : username) c = char(std::tolower(c));
    // The cell's first vertex nudged towards its neighbours' mean is not
    // reliable; use the locator on a grid of points until one lands inside.
    const spatial::FeatureTable& cells = town->locator->cells().table();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells.code(i) != it->first) continue;
      spatial::Feature f = cells.feature(i);
      LonLat mean = VertexMean(f.shape.parts[0].rings[0]);
      REQUIRE(town->locator->Locate(mean)->cell == it->first);
      return {username,
              json{{"lon", mean.lon}, {"lat", mean.lat}, {"cell", it->first}}};
    }
    FAIL("cell not found");
    return {};
  }

  // The first cell from the `nth` on, in the order of the cells layer, whose
  // vertex mean lies inside it.
  CellPoint InsidePoint(size_t nth = 0) {
    auto store = core::Store::Open(db);
    REQUIRE(store);
    auto town = core::LoadTown(**store, std::nullopt);
    REQUIRE(town);
    const spatial::FeatureTable& cells = town->locator->cells().table();
    for (size_t i = nth; i < cells.size(); ++i) {
      spatial::Feature f = cells.feature(i);
      LonLat mean = VertexMean(f.shape.parts[0].rings[0]);
      auto placed = town->locator->Locate(mean);
      if (!placed || placed->cell != f.code) continue;
      std::string leader = town->config.cells.at(f.code).leader;
      for (char& c : leader) c = char(std::tolower((unsigned char)c));
      return {f.code, leader, mean};
    }
    FAIL("no cell whose vertex mean lies inside it");
    return {};
  }
};

inline json Report(const json& at,
                   const std::string& text = "村口有人焚烧秸秆") {
  return {{"category", "04001"},
          {"description", text},
          {"lon", at["lon"]},
          {"lat", at["lat"]},
          {"accuracy_m", 12.5}};
}

}  // namespace wangge::testing
