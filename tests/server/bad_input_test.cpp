// Bad input never gets a 5xx: each kind of mistake a client makes gets a 4xx
// JSON error naming the field, and nothing is stored. Also the GeoJSON
// layers a map draws.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::testing;
using nlohmann::json;

namespace {

// Checks that `r` is a JSON error with `status` naming `field` (if given).
void ExpectError(const server::ApiResponse& r, int status,
                 const std::string& field = "") {
  INFO(r.body);
  CHECK(r.status == status);
  json j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("error"));
  CHECK(!j["error"]["message"].get<std::string>().empty());
  if (!field.empty()) CHECK(j["error"]["field"] == field);
}

size_t CaseCount(Fixture& f, const std::string& token) {
  auto r = f.Call("GET", "/api/v1/cases", "", token, {}, {{"limit", "500"}});
  REQUIRE(r.status == 200);
  return json::parse(r.body)["cases"].size();
}

}  // namespace

TEST_CASE("Bad input: every malformed report is a 4xx naming the field") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  json good = Report(at);
  auto post = [&](const std::string& body,
                  std::map<std::string, std::string> headers = {}) {
    headers.emplace("idempotency-key", "k-" + std::to_string(body.size()));
    headers.emplace("content-type", "application/json");
    return f.Call("POST", "/api/v1/reports", body, token, headers);
  };
  auto with = [&](const char* key, json value) {
    json j = good;
    if (value.is_discarded()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return j.dump();
  };
  ExpectError(post("{\"category\": \"04001\", "), 400, "body");
  ExpectError(post("[1, 2, 3]"), 400, "body");
  ExpectError(post(""), 400, "body");
  ExpectError(post(std::string("\xff\xfe\x00{", 4)), 400, "body");
  ExpectError(post(with("lon", "110.2")), 400, "lon");
  ExpectError(post(with("lat", json())), 400, "lat");
  ExpectError(post(with("lat", json::value_t::discarded)), 400, "lat");
  ExpectError(post(with("category", json::value_t::discarded)), 400,
              "category");
  ExpectError(post(with("category", 4001)), 400, "category");
  ExpectError(post(with("category", "99999")), 400, "category");
  ExpectError(post(with("lon", 181.0)), 400, "lon");
  ExpectError(post(with("lat", -91.0)), 400, "lat");
  // JSON has no NaN; clients that send it write a bare word or a string.
  ExpectError(
      post(R"({"category":"04001","description":"x","lon":NaN,"lat":34.5})"),
      400, "body");
  ExpectError(post(with("lon", "NaN")), 400, "lon");
  ExpectError(
      post(R"({"category":"04001","description":"x","lon":1e400,"lat":34.5})"),
      400);  // out of double range
  ExpectError(post(with("description", std::string(5000, 'x'))), 400,
              "description");
  ExpectError(post(with("reported_at", "yesterday")), 400, "reported_at");
  // A phone whose clock was reset: deadlines would start in 1970.
  ExpectError(post(with("reported_at", "1970-01-01T00:00Z")), 400,
              "reported_at");
  ExpectError(post(with("reported_at", "2026-10-26T10:00")), 400,
              "reported_at");  // 31 days before the fixture's now
  ExpectError(post(with("reported_at", "2026-11-26T09:00+99:99")), 400,
              "reported_at");
  // Text that exports and XML cannot carry, and an address that is a file.
  ExpectError(post(with("description", std::string("焚烧\0秸秆", 13))), 400,
              "description");
  ExpectError(post(with("address", "村口\xEF\xBF\xBF")), 400, "address");
  ExpectError(post(with("address", std::string(501, 'a'))), 400, "address");
  // An Idempotency-Key that is not ASCII (a GBK one, here).
  ExpectError(post(good.dump(), {{"idempotency-key", "\xb9\xd8\xbc\xfc-1"}}),
              400, "Idempotency-Key");
  // The wrong content type, a form post of the same fields.
  ExpectError(post(good.dump(), {{"content-type", "text/plain"}}), 415,
              "Content-Type");
  ExpectError(post("category=04001&lon=110&lat=34",
                   {{"content-type", "application/x-www-form-urlencoded"}}),
              415, "Content-Type");
  // A header that is not UTF-8 is repeated in the message, not a 500.
  ExpectError(post(good.dump(), {{"content-type", "application/json\xff"}}),
              415, "Content-Type");
  // A multipart form: the HTTP layer drops its body.
  ExpectError(post("", {{"content-type", "multipart/form-data; boundary=x"}}),
              415, "Content-Type");
  // A body over the JSON limit.
  json huge = good;
  huge["description"] = std::string((1 << 20) + 10, 'y');
  ExpectError(post(huge.dump()), 413, "body");
  // Nothing of the above was stored; the good report still works.
  CHECK(CaseCount(f, token) == 0);
  auto ok =
      post(good.dump(), {{"content-type", "application/json; charset=utf-8"}});
  CHECK_MESSAGE(ok.status == 201, ok.body);
  CHECK(CaseCount(f, token) == 1);
}

TEST_CASE("Bad input: unknown routes, traversal and odd ids are 404 JSON") {
  Fixture f;
  std::string token = f.Login("p0021");
  for (std::string path :
       {"/api/v1/nothing", "/api/v2/cases", "/../../etc/passwd",
        "/api/v1/../../etc/passwd", "/api/v1/cases/..%2f..%2fetc%2fpasswd",
        "/api/v1/cases/99999999999999999999999", "/api/v1/cases/-1",
        "/api/v1/cases/1;DROP TABLE cases", "/%00", "/api/v1/layers/../x"}) {
    INFO(path);
    auto r = f.Call("GET", path, "", token);
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    CHECK(json::parse(r.body, nullptr, false).contains("error"));
  }
  ExpectError(f.Call("DELETE", "/api/v1/cases", "", token), 404);
  ExpectError(f.Call("GET", "/api/v1/cases/7", "", token), 404);
}

TEST_CASE(
    "Bad input: a URL that is not UTF-8 is a 400; made-up paths never become "
    "metric labels") {
  Fixture f;
  std::string token = f.Login("p0021");
  ExpectError(f.Call("GET", "/m/\xff"), 400, "url");
  ExpectError(f.Call("GET", "/open311/v2/services/\xff.json"), 400, "url");
  ExpectError(
      f.Call("GET", "/api/v1/cases", "", token, {}, {{"from", "\xc4\xe3"}}),
      400, "url");
  ExpectError(f.Call("GET", "/api/v1/stats", "", token, {}, {{"\xff", "1"}}),
              400, "url");
  // Unauthenticated, and with a quote that would end the label.
  ExpectError(f.Call("GET", "/api/v1/x\"} 999 #"), 401);
  ExpectError(f.Call("GET", "/api/v1/me"), 401);
  auto metrics = f.Call("GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("999") == std::string::npos);
  CHECK(metrics.body.find("route=\"unmatched\",status=\"401\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("route=\"/api/v1/me\",status=\"401\"} 1") !=
        std::string::npos);
}

TEST_CASE(
    "Bad input: SQL metacharacters in filters match nothing and harm nothing") {
  Fixture f;
  auto [user, at] = f.LeaderAndPoint();
  std::string token = f.Login(user);
  auto r = f.Call("POST", "/api/v1/reports", Report(at).dump(), token,
                  {{"idempotency-key", "a"}});
  REQUIRE(r.status == 201);
  for (std::string evil :
       {"' OR '1'='1", "reported' --", "x'; DROP TABLE cases; --",
        "%' OR 1=1 --", "\\\"; DELETE FROM users; --", "_%"}) {
    INFO(evil);
    for (const char* key : {"status", "category", "cell", "text", "village"}) {
      auto list = f.Call("GET", "/api/v1/cases", "", token, {}, {{key, evil}});
      CHECK(list.status == 200);
      CHECK(json::parse(list.body)["cases"].size() == 0);
    }
  }
  // The text filter is a plain substring: '%' and '_' are not wildcards.
  CHECK(CaseCount(f, token) == 1);
  ExpectError(
      f.Call("GET", "/api/v1/cases", "", token, {}, {{"bbox", "1,2,3"}}), 400,
      "bbox");
  ExpectError(f.Call("GET", "/api/v1/cases", "", token, {}, {{"limit", "1e9"}}),
              400, "limit");
  ExpectError(
      f.Call("GET", "/api/v1/cases", "", token, {}, {{"from", "'; --"}}), 400,
      "from");
  ExpectError(f.Call("GET", "/api/v1/locate", "", token, {},
                     {{"lon", "nan"}, {"lat", "34.5"}}),
              400, "lon");
  ExpectError(f.Call("GET", "/api/v1/locate", "", token, {},
                     {{"lon", "110.2"}, {"lat", "95"}}),
              400, "lat");
  // Numbers are decimal and all of the value: no hexadecimal, no padding,
  // nothing after a %00.
  for (std::string lon : {"0x6e", " 110.2", "110.2 ", "110.2abc", "+-110"}) {
    CAPTURE(lon);
    ExpectError(f.Call("GET", "/api/v1/locate", "", token, {},
                       {{"lon", lon}, {"lat", "34.5"}}),
                400, "lon");
  }
  CHECK(f.Call("GET", "/api/v1/locate", "", token, {},
               {{"lon", "+110.2"}, {"lat", "3.45e1"}})
            .status == 200);
  for (std::string box :
       {std::string("110,34,111,35\0junk", 18), std::string("110,34,111"),
        std::string("110,34,111,35,"), std::string("0x6e,34,111,35")}) {
    CAPTURE(box);
    ExpectError(f.Call("GET", "/api/v1/cases", "", token, {}, {{"bbox", box}}),
                400, "bbox");
  }
  CHECK(
      f.Call("GET", "/api/v1/cases", "", token, {}, {{"bbox", "110,34,111,35"}})
          .status == 200);
}

TEST_CASE("Layers: villages, cells and zones as GeoJSON, with a bbox filter") {
  Fixture f;
  std::string token = f.Login("p0021");
  ExpectError(f.Call("GET", "/api/v1/layers/cells.geojson"), 401);
  auto all = f.Call("GET", "/api/v1/layers/cells.geojson", "", token);
  REQUIRE(all.status == 200);
  CHECK(all.content_type.starts_with("application/geo+json"));
  json cells = json::parse(all.body);
  CHECK(cells["type"] == "FeatureCollection");
  REQUIRE(cells["features"].size() == 225);
  CHECK(cells["boundary_version"] == 1);
  CHECK(json::parse(f.Call("GET", "/api/v1/layers/villages.geojson", "", token)
                        .body)["features"]
            .size() == 4);
  CHECK(json::parse(f.Call("GET", "/api/v1/layers/zones.geojson", "", token)
                        .body)["features"]
            .size() == 36);
  // A small box around one point: a few cells, each really near it.
  auto [user, at] = f.LeaderAndPoint(17);
  double lon = at["lon"], lat = at["lat"];
  std::string box =
      std::to_string(lon - 0.001) + "," + std::to_string(lat - 0.001) + "," +
      std::to_string(lon + 0.001) + "," + std::to_string(lat + 0.001);
  json some = json::parse(f.Call("GET", "/api/v1/layers/cells.geojson", "",
                                 token, {}, {{"bbox", box}})
                              .body);
  CHECK(some["features"].size() >= 1);
  CHECK(some["features"].size() < 10);
  bool has_cell = false;
  for (const auto& feature : some["features"]) {
    if (feature["properties"]["code"] == at["cell"]) has_cell = true;
  }
  CHECK(has_cell);
  // A box far away: nothing.
  CHECK(json::parse(f.Call("GET", "/api/v1/layers/cells.geojson", "", token, {},
                           {{"bbox", "0,0,1,1"}})
                        .body)["features"]
            .empty());
  ExpectError(f.Call("GET", "/api/v1/layers/cells.geojson", "", token, {},
                     {{"bbox", "2,2,1,1"}}),
              400, "bbox");
  ExpectError(f.Call("GET", "/api/v1/layers/roads.geojson", "", token), 404);
}
