#include "server/api.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/store.h"
#include "core/town.h"
#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::server;
using nlohmann::json;
using namespace wangge::testing;

TEST_CASE("Api: healthz, openapi and metrics answer") {
  Fixture f;
  ApiResponse h = f.Call("GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(json::parse(h.body)["boundary_version"] == 1);
  // A first start (no index file yet) locates through the R-trees until
  // the grids are built, which writing the index file does first.
  CHECK(json::parse(h.body)["boundary_grids"] == "building");
  REQUIRE(core::WriteIndexFile(*f.api->town()));
  CHECK(json::parse(f.Call("GET", "/healthz").body)["boundary_grids"] ==
        "ready");
  CHECK(json::parse(f.Call("GET", "/api/v1/openapi.json").body)["openapi"] ==
        "3.0.3");
  ApiResponse m = f.Call("GET", "/metrics");
  CHECK(
      m.body.find(
          "wangge_http_requests_total{route=\"/healthz\",status=\"200\"} 2") !=
      std::string::npos);
  CHECK(m.body.find("wangge_http_request_seconds_count") != std::string::npos);
}

TEST_CASE(
    "Api: login gives a token, wrong passwords are refused then locked out") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  ApiResponse me = f.Call("GET", "/api/v1/me", "", token);
  CHECK(me.status == 200);
  CHECK(json::parse(me.body)["role"] == "grid_leader");
  CHECK(f.Call("GET", "/api/v1/me").status == 401);
  CHECK(f.Call("GET", "/api/v1/me", "", "nonsense").status == 401);
  for (int i = 0; i < 5; ++i) {
    ApiResponse bad =
        f.Call("POST", "/api/v1/login",
               json{{"username", "admin-x"}, {"password", "wrong"}}.dump());
    CHECK(bad.status == 401);
  }
  ApiResponse locked =
      f.Call("POST", "/api/v1/login",
             json{{"username", "admin-x"}, {"password", "wrong"}}.dump());
  CHECK(locked.status == 429);
  CHECK(locked.headers.count("Retry-After"));
  // Logout revokes the token.
  CHECK(f.Call("POST", "/api/v1/logout", "", token).status == 200);
  CHECK(f.Call("GET", "/api/v1/me", "", token).status == 401);
}

TEST_CASE(
    "Api: a token disabled behind the server's back stops working within "
    "the 5 s token cache") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  REQUIRE(f.Call("GET", "/api/v1/me", "", token).status == 200);
  // `wangge user disable` is another process: it writes the database only.
  {
    auto store = core::Store::Open(f.db);
    REQUIRE(store);
    auto u = (*store)->FindUser(user);
    REQUIRE(u);
    u->disabled = true;
    REQUIRE((*store)->UpdateUser(*u));
  }
  f.now += std::chrono::seconds(4);
  CHECK(f.Call("GET", "/api/v1/me", "", token).status == 200);  // cached
  f.now += std::chrono::seconds(2);
  CHECK(f.Call("GET", "/api/v1/me", "", token).status == 401);
}

TEST_CASE("Api: a report becomes a routed case, once per idempotency key") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  std::map<std::string, std::string> key = {{"idempotency-key", "k-1"}};
  ApiResponse created =
      f.Call("POST", "/api/v1/reports", Report(at).dump(), token, key);
  REQUIRE_MESSAGE(created.status == 201, created.body);
  json c = json::parse(created.body);
  CHECK(c["status"] == "reported");
  CHECK(c["number"].get<std::string>().starts_with("TY-20261126-"));
  CHECK(c["placement"]["cell"] == at["cell"]);
  CHECK(c["placement"]["boundary_version"] == 1);
  CHECK(c["assignment"]["offices"][0]["code"].is_string());
  CHECK(c["assignment"]["reasons"].size() >= 3);
  CHECK(c["assignment"]["accept_by"] == "2026-11-26T11:00:00+08:00");

  SUBCASE("same key, same body: the same case, nothing new") {
    ApiResponse again =
        f.Call("POST", "/api/v1/reports", Report(at).dump(), token, key);
    CHECK(again.status == 200);
    CHECK(json::parse(again.body)["id"] == c["id"]);
    json list = json::parse(f.Call("GET", "/api/v1/cases", "", token).body);
    CHECK(list["cases"].size() == 1);
  }
  SUBCASE("same key, another body: 409") {
    ApiResponse other = f.Call("POST", "/api/v1/reports",
                               Report(at, "另一件事").dump(), token, key);
    CHECK(other.status == 409);
    CHECK(json::parse(other.body)["error"]["field"] == "Idempotency-Key");
  }
  SUBCASE("the case reads back with its timeline") {
    ApiResponse read =
        f.Call("GET", "/api/v1/cases/" + std::to_string(c["id"].get<int>()), "",
               token);
    REQUIRE(read.status == 200);
    json r = json::parse(read.body);
    CHECK(r["description"] == "村口有人焚烧秸秆");
    REQUIRE(r["events"].size() == 1);
    CHECK(r["events"][0]["to"] == "reported");
  }
}

TEST_CASE("Api: bad reports get a 400 naming the field") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  auto post = [&](const json& body, const std::string& key = "k") {
    return f.Call("POST", "/api/v1/reports", body.dump(), token,
                  {{"idempotency-key", key}});
  };
  auto field = [](const ApiResponse& r) {
    return json::parse(r.body)["error"].value("field", "");
  };
  json ok = Report(at);
  json r = ok;
  r.erase("lon");
  CHECK(field(post(r)) == "lon");
  r = ok;
  r["lat"] = 134.5;
  CHECK(field(post(r)) == "lat");
  r = ok;
  r["category"] = "99001";
  ApiResponse unknown = post(r);
  CHECK(unknown.status == 400);
  CHECK(field(unknown) == "category");
  r = ok;
  r["description"] = "";
  CHECK(field(post(r)) == "description");
  r = ok;
  r["reported_at"] = "2027-01-01T00:00";
  CHECK(field(post(r)) == "reported_at");
  CHECK(f.Call("POST", "/api/v1/reports", "{not json", token,
               {{"idempotency-key", "x"}})
            .status == 400);
  ApiResponse no_key = f.Call("POST", "/api/v1/reports", ok.dump(), token);
  CHECK(no_key.status == 400);
  CHECK(field(no_key) == "Idempotency-Key");
}

TEST_CASE(
    "Api: a report outside every cell is accepted and flagged for triage") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  json outside = Report(json{{"lon", 110.19}, {"lat", 34.5}});
  ApiResponse r = f.Call("POST", "/api/v1/reports", outside.dump(), token,
                         {{"idempotency-key", "out-1"}});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  json c = json::parse(r.body);
  CHECK(c["placement"]["inside"] == false);
  CHECK(c["placement"]["distance_m"].get<double>() > 1000);
  CHECK(c["assignment"]["offices"][0]["code"] == "ZZZX");
}

TEST_CASE("Api: grid leaders see their cells and their own reports only") {
  Fixture f;
  auto [alice, at_a] = f.LeaderAndPoint(0);
  auto [bob, at_b] = f.LeaderAndPoint(100);
  std::string ta = f.Login(alice), tb = f.Login(bob);
  ApiResponse a = f.Call("POST", "/api/v1/reports", Report(at_a).dump(), ta,
                         {{"idempotency-key", "a"}});
  REQUIRE(a.status == 201);
  std::string path =
      "/api/v1/cases/" + std::to_string(json::parse(a.body)["id"].get<int>());
  CHECK(f.Call("GET", path, "", tb).status == 404);
  CHECK(json::parse(f.Call("GET", "/api/v1/cases", "", tb).body)["cases"]
            .empty());
  CHECK(f.Call("GET", path, "", ta).status == 200);
  // The dispatcher (综治中心) sees everything, with filters.
  std::string td = f.Login("p0021");
  json all = json::parse(f.Call("GET", "/api/v1/cases", "", td).body);
  CHECK(all["cases"].size() == 1);
  json none = json::parse(
      f.Call("GET", "/api/v1/cases", "", td, {}, {{"status", "closed"}}).body);
  CHECK(none["cases"].empty());
  CHECK(f.Call("GET", "/api/v1/cases", "", td, {}, {{"limit", "-1"}}).status ==
        400);
}

TEST_CASE(
    "Api: case filters: text, bbox, time range, overdue, with SQL "
    "metacharacters harmless") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  auto post = [&, at = at](const std::string& key, const std::string& text) {
    ApiResponse r = f.Call("POST", "/api/v1/reports", Report(at, text).dump(),
                           token, {{"idempotency-key", key}});
    REQUIRE(r.status == 201);
  };
  post("a", "焚烧秸秆 near the school");
  f.now += std::chrono::hours(30);  // the next day: tokens have expired
  CHECK(f.Call("GET", "/api/v1/me", "", token).status == 401);
  token = f.Login(user);
  post("b", "烟雾很大");
  std::string td = f.Login("p0021");
  auto count = [&](std::map<std::string, std::string> query) {
    ApiResponse r = f.Call("GET", "/api/v1/cases", "", td, {}, query);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["cases"].size();
  };
  CHECK(count({}) == 2);
  CHECK(count({{"text", "秸秆"}}) == 1);
  CHECK(count({{"text", "' OR 1=1 --"}}) == 0);
  CHECK(count({{"cell", "x' OR '1'='1"}}) == 0);
  double lon = at["lon"], lat = at["lat"];
  char box[128];
  std::snprintf(box, sizeof box, "%.6f,%.6f,%.6f,%.6f", lon - 0.001,
                lat - 0.001, lon + 0.001, lat + 0.001);
  CHECK(count({{"bbox", box}}) == 2);
  CHECK(count({{"bbox", "110.0,34.0,110.1,34.1"}}) == 0);
  CHECK(count({{"from", "2026-11-27T00:00"}}) == 1);
  CHECK(count({{"to", "2026-11-27T00:00"}}) == 1);
  // 露天焚烧 must be handled within 1 h + 4 working hours: the first report
  // is overdue a day later, the second is not.
  CHECK(count({{"overdue", "true"}}) == 1);
  CHECK(
      f.Call("GET", "/api/v1/cases", "", td, {}, {{"bbox", "1,2,3"}}).status ==
      400);
  CHECK(f.Call("GET", "/api/v1/cases", "", td, {}, {{"from", "yesterday"}})
            .status == 400);
  CHECK(f.Call("GET", "/api/v1/cases/../../etc/passwd", "", td).status == 404);
  CHECK(f.Call("GET", "/api/v1/cases/99999999999999999999", "", td).status ==
        404);
}

TEST_CASE("Api: statistics for dispatchers, refused to grid leaders") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string leader = f.Login(user);
  REQUIRE(f.Call("POST", "/api/v1/reports", Report(at).dump(), leader,
                 {{"idempotency-key", "s1"}})
              .status == 201);
  std::string dispatcher = f.Login("p0021");
  ApiResponse r =
      f.Call("GET", "/api/v1/stats", "", dispatcher, {}, {{"group", "cell"}});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  json j = json::parse(r.body);
  CHECK(j["total"]["received"] == 1);
  REQUIRE(j["rows"].size() == 1);
  CHECK(j["rows"][0]["key"] == at["cell"]);
  CHECK(j["rows"][0]["close_rate"] == 0.0);
  CHECK(f.Call("GET", "/api/v1/stats", "", leader).status == 403);
  CHECK(
      f.Call("GET", "/api/v1/stats", "", dispatcher, {}, {{"group", "weather"}})
          .status == 400);
  CHECK(f.Call("GET", "/api/v1/stats", "", dispatcher, {},
               {{"from", "2026-12-01"}, {"to", "2026-11-01"}})
            .status == 400);
}
