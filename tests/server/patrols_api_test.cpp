// Patrols (一周三巡、半月全覆盖) through the API: recording, listing and the
// coverage, with the sample town's accounts.
#include <cstdio>

#include "tests/server/api_fixture.h"

namespace wangge::testing {
namespace {

json Patrol(const std::string& cell, const std::string& started,
            const std::string& note = "沿渠巡查，无异常") {
  // An hour's walk.
  char ended[32];
  std::snprintf(ended, sizeof ended, "%s%02d%s", started.substr(0, 11).c_str(),
                std::stoi(started.substr(11, 2)) + 1,
                started.substr(13).c_str());
  return {{"cell", cell},
          {"started_at", started},
          {"ended_at", ended},
          {"note", note}};
}

ApiResponse Post(Fixture& f, const json& body, const std::string& token,
                 const std::string& key) {
  return f.Call("POST", "/api/v1/patrols", body.dump(), token,
                {{"idempotency-key", key}});
}

json Get(Fixture& f, const std::string& path, const std::string& token,
         std::map<std::string, std::string> query = {}) {
  ApiResponse r = f.Call("GET", path, "", token, {}, std::move(query));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body);
}

TEST_CASE(
    "Api: a grid leader records patrols of their cell once per key, and the "
    "coverage counts them by week and half month") {
  Fixture f;  // now: Thursday 2026-11-26 10:00
  auto [leader, at] = f.LeaderAndPoint();
  const std::string cell = at["cell"];
  std::string token = f.Login(leader);
  // Monday, Tuesday and this morning; and last Thursday.
  int64_t first_id = 0;
  for (auto [key, started] : {std::pair{"p1", "2026-11-23T09:00"},
                              std::pair{"p2", "2026-11-24T09:00"},
                              std::pair{"p3", "2026-11-26T08:00"},
                              std::pair{"p0", "2026-11-19T09:00"}}) {
    ApiResponse r = Post(f, Patrol(cell, started), token, key);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    json p = json::parse(r.body);
    CHECK(p["cell"] == cell);
    CHECK_FALSE(p["cell_name"].get<std::string>().empty());
    CHECK(p["started_at"] == std::string(started) + ":00+08:00");
    CHECK(p["ended_at"].get<std::string>().ends_with(":00:00+08:00"));
    CHECK(p["patroller"]["name"].get<std::string>().size() > 0);
    if (std::string(key) == "p1") first_id = p["id"];
  }
  // A retry is the same patrol; the key on another patrol is a conflict.
  ApiResponse again = Post(f, Patrol(cell, "2026-11-23T09:00"), token, "p1");
  CHECK(again.status == 200);
  CHECK(json::parse(again.body)["id"] == first_id);
  ApiResponse reused =
      Post(f, Patrol(cell, "2026-11-23T09:00", "另一次"), token, "p1");
  CHECK(reused.status == 409);
  CHECK(json::parse(reused.body)["error"]["field"] == "Idempotency-Key");

  json list = Get(f, "/api/v1/patrols", token);
  REQUIRE(list["patrols"].size() == 4);
  CHECK(list["patrols"][0]["started_at"] == "2026-11-26T08:00:00+08:00");
  CHECK(list["patrols"][3]["started_at"] == "2026-11-19T09:00:00+08:00");
  CHECK(Get(f, "/api/v1/patrols", token,
            {{"from", "2026-11-24T00:00"}})["patrols"]
            .size() == 2);
  CHECK(Get(f, "/api/v1/patrols", token,
            {{"limit", "1"}, {"offset", "3"}})["patrols"][0]["started_at"] ==
        "2026-11-19T09:00:00+08:00");

  json mine = Get(f, "/api/v1/patrols/coverage", token);
  CHECK(mine["week"]["from"] == "2026-11-23T00:00:00+08:00");
  CHECK(mine["week"]["to"] == "2026-11-30T00:00:00+08:00");
  CHECK(mine["window"]["from"] == "2026-11-11T10:00:00+08:00");
  REQUIRE(mine["cells"].size() >= 1);
  CHECK(mine["cells_total"] == mine["cells"].size());
  json own;
  for (const json& c : mine["cells"]) {
    if (c["cell"] == cell) own = c;
  }
  REQUIRE(own.is_object());
  CHECK(own["this_week"] == 3);
  CHECK(own["week_met"] == true);
  CHECK(own["covered"] == true);
  CHECK(own["last_patrol"] == "2026-11-26T08:00:00+08:00");
  CHECK(own["leader"]["name"].get<std::string>().size() > 0);

  // The 综治中心 sees the whole town: one cell of 225 walked.
  std::string dispatcher = f.Login("p0021");
  json town = Get(f, "/api/v1/patrols/coverage", dispatcher);
  CHECK(town["cells_total"] == 225);
  CHECK(town["covered"] == 1);
  CHECK(town["weeks_met"] == 1);
  // Three weeks on, nothing this week nor in the half month; the last
  // patrol is still known.
  json later = Get(f, "/api/v1/patrols/coverage", dispatcher,
                   {{"at", "2026-12-17T10:00"}});
  CHECK(later["week"]["from"] == "2026-12-14T00:00:00+08:00");
  CHECK(later["covered"] == 0);
  for (const json& c : later["cells"]) {
    if (c["cell"] != cell) {
      CHECK(c["last_patrol"] == "");
      continue;
    }
    CHECK(c["this_week"] == 0);
    CHECK(c["covered"] == false);
    CHECK(c["last_patrol"] == "2026-11-26T08:00:00+08:00");
  }
  // Before the first patrol, none is known yet.
  json before = Get(f, "/api/v1/patrols/coverage", dispatcher,
                    {{"at", "2026-11-18T10:00"}});
  CHECK(before["covered"] == 0);

  // The CSV for Excel: a BOM, a Chinese header, one row a patrol; a note
  // that would be a formula is defused.
  REQUIRE(
      Post(f, Patrol(cell, "2026-11-25T09:00", "=1+1"), token, "p4").status ==
      201);
  ApiResponse csv = f.Call("GET", "/api/v1/patrols.csv", "", dispatcher, {},
                           {{"from", "2026-11-20T00:00"}});
  REQUIRE(csv.status == 200);
  CHECK(csv.content_type == "text/csv; charset=utf-8");
  CHECK(csv.body.starts_with("\xEF\xBB\xBF网格编码,网格,村/社区,巡查人,开始,"));
  size_t rows = 0;
  for (size_t at = 0; (at = csv.body.find("\r\n", at)) != std::string::npos;
       at += 2) {
    ++rows;
  }
  CHECK(rows == 1 + 4);  // header; p0 started before `from`
  CHECK(csv.body.find(cell + "," + own["name"].get<std::string>()) !=
        std::string::npos);
  CHECK(csv.body.find(",'=1+1,") != std::string::npos);
  CHECK(csv.body.find("2026-11-19T09:00") == std::string::npos);
  // A grid leader's export holds their own cells only.
  ApiResponse other_csv = f.Call("GET", "/api/v1/patrols.csv", "",
                                 f.Login(f.LeaderAndPoint(1).first));
  REQUIRE(other_csv.status == 200);
  CHECK(other_csv.body.find("\r\n") == other_csv.body.size() - 2);
}

TEST_CASE(
    "Api: bad patrols get a 400 naming the field; other cells and roles a "
    "403; nothing is stored") {
  Fixture f;
  auto [leader, at] = f.LeaderAndPoint();
  auto [other_leader, other_at] = f.LeaderAndPoint(1);
  const std::string cell = at["cell"];
  const std::string other_cell = other_at["cell"];
  REQUIRE(cell != other_cell);
  std::string token = f.Login(leader);
  auto field = [](const ApiResponse& r) {
    return json::parse(r.body)["error"]["field"].get<std::string>();
  };
  json good = Patrol(cell, "2026-11-26T08:00");
  struct Bad {
    json body;
    std::string field;
  };
  auto with = [&](const char* key, json value) {
    json b = good;
    if (value.is_null()) {
      b.erase(key);
    } else {
      b[key] = value;
    }
    return b;
  };
  for (const Bad& bad : {
           Bad{with("cell", nullptr), "cell"},
           Bad{with("cell", "999999"), "cell"},
           Bad{with("cell", 7), "cell"},
           Bad{with("started_at", nullptr), "started_at"},
           Bad{with("started_at", "yesterday"), "started_at"},
           Bad{with("started_at", "2026-11-27T09:00"), "started_at"},
           Bad{with("started_at", "2026-10-01T09:00"), "started_at"},
           Bad{with("ended_at", "2026-11-26T07:00"), "ended_at"},
           Bad{with("note", "a\u0001b"), "note"},
           Bad{with("note", std::string(2001, 'x')), "note"},
           Bad{with("lon", 110.2), "lat"},
           Bad{[&] {
                 json b = with("lon", 110.2);
                 b["lat"] = 95.0;
                 return b;
               }(),
               "lat"},
       }) {
    CAPTURE(bad.body.dump());
    ApiResponse r = Post(f, bad.body, token, "bad-1");
    CHECK(r.status == 400);
    CHECK(field(r) == bad.field);
  }
  ApiResponse not_json = f.Call("POST", "/api/v1/patrols", "{\"cell\":", token,
                                {{"idempotency-key", "bad-2"}});
  CHECK(not_json.status == 400);
  CHECK(field(not_json) == "body");
  ApiResponse no_key = f.Call("POST", "/api/v1/patrols", good.dump(), token);
  CHECK(no_key.status == 400);
  CHECK(field(no_key) == "Idempotency-Key");
  // Another leader's cell, and a role that does not patrol.
  ApiResponse theirs =
      Post(f, Patrol(other_cell, "2026-11-26T08:00"), token, "bad-3");
  CHECK(theirs.status == 403);
  CHECK(field(theirs) == "cell");
  ApiResponse office = Post(f, good, f.Login("p0003"), "bad-4");
  CHECK(office.status == 403);
  CHECK(f.Call("GET", "/api/v1/patrols", "", token, {}, {{"cell", other_cell}})
            .status == 403);
  CHECK(f.Call("GET", "/api/v1/patrols", "", token, {}, {{"limit", "0"}})
            .status == 400);
  CHECK(f.Call("DELETE", "/api/v1/patrols", "", token).status == 405);
  CHECK(f.Call("GET", "/api/v1/patrols/coverage", "").status == 401);
  // Nothing of the above was stored.
  std::string dispatcher = f.Login("p0021");
  CHECK(Get(f, "/api/v1/patrols", dispatcher)["patrols"].empty());
  // The 综治中心 enters a paper log for any cell.
  ApiResponse entered =
      Post(f, Patrol(other_cell, "2026-11-25T15:00"), dispatcher, "paper-1");
  CHECK(entered.status == 201);
  // A grid leader lists only their own cells' patrols.
  CHECK(Get(f, "/api/v1/patrols", token)["patrols"].empty());
  CHECK(Get(f, "/api/v1/patrols", f.Login(other_leader))["patrols"].size() ==
        1);
}

}  // namespace
}  // namespace wangge::testing
