// The case workflow through the HTTP API (in process): whole lifecycles for
// each role, illegal actions, stale versions, escalation with 报到,
// extensions, duplicates, the ticker and the users list.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/store.h"
#include "core/town.h"
#include "core/workflow.h"
#include "server/api.h"
#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::server;
using nlohmann::json;
using wangge::testing::kPassword;

namespace {

// The shared fixture with an admin account and a cell with its grid leader
// and a point inside it; calls are made as a user, by username.
struct Fixture : testing::Fixture {
  std::map<std::string, std::string> tokens;
  std::string cell, leader;  // a cell and its grid leader's username
  double lon = 0, lat = 0;
  int keys = 0;

  Fixture() {
    auto store = core::Store::Open(db);
    REQUIRE(store);
    auto hash = core::HashPassword(kPassword);
    REQUIRE((*store)->AddUser(
        {.username = "admin", .role = "admin", .password_hash = *hash}));
    testing::CellPoint inside = InsidePoint();
    cell = inside.cell;
    leader = inside.leader;
    lon = inside.at.lon;
    lat = inside.at.lat;
  }

  ApiResponse Call(const std::string& method, const std::string& path,
                   const std::string& body, const std::string& user,
                   std::map<std::string, std::string> headers = {},
                   std::map<std::string, std::string> query = {}) {
    return testing::Fixture::Call(
        method, path, body, user.empty() ? "" : Token(user), headers, query);
  }

  std::string Token(const std::string& user) {
    auto it = tokens.find(user);
    if (it != tokens.end()) return it->second;
    return tokens[user] = Login(user);
  }

  json Report(const std::string& category = "04001", double dlon = 0) {
    json body = {{"category", category},
                 {"description", "村口有人焚烧秸秆"},
                 {"lon", lon + dlon},
                 {"lat", lat}};
    ApiResponse r =
        Call("POST", "/api/v1/reports", body.dump(), leader,
             {{"idempotency-key", "key-" + std::to_string(++keys)}});
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::parse(r.body);
  }

  json Get(int64_t id, const std::string& user) {
    ApiResponse r =
        Call("GET", "/api/v1/cases/" + std::to_string(id), "", user);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body);
  }

  // Sends the action with the case's current version.
  ApiResponse Act(int64_t id, const std::string& user, json body) {
    if (!body.contains("version")) {
      body["version"] = Get(id, "p0021")["version"];
    }
    return Call("POST", "/api/v1/cases/" + std::to_string(id) + "/actions",
                body.dump(), user);
  }

  json MustAct(int64_t id, const std::string& user, json body) {
    ApiResponse r = Act(id, user, body);
    REQUIRE_MESSAGE(r.status == 200,
                    (user + " " + body.dump() + ": " + r.body));
    return json::parse(r.body);
  }
};

bool Has(const json& list, const std::string& action) {
  for (const auto& a : list) {
    if (a == action) return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "Workflow API: a whole lifecycle: grid leader reports, dispatcher "
    "dispatches, office handles, grid leader verifies and evaluates") {
  Fixture f;
  json c = f.Report();
  int64_t id = c["id"];
  CHECK(c["version"] == 1);
  CHECK(c["possible_duplicates"].empty());
  json seen = f.Get(id, "p0021");
  CHECK(seen["allowed_actions"] ==
        json{"accept", "reject", "comment", "escalate"});
  CHECK(seen["assignee"].is_null());
  CHECK(f.Get(id, f.leader)["allowed_actions"] == json{"comment"});

  f.MustAct(id, "p0021", {{"action", "accept"}, {"note", "受理"}});
  ApiResponse users = f.Call("GET", "/api/v1/users", "", "p0021", {},
                             {{"role", "office"}, {"scope", "HBB"}});
  REQUIRE(users.status == 200);
  json staff = json::parse(users.body);
  REQUIRE(staff.size() == 2);
  CHECK(staff[0].contains("password_hash") == false);
  std::string handler = staff[1]["username"];
  json d =
      f.MustAct(id, "p0021", {{"action", "dispatch"}, {"assignee", handler}});
  CHECK(d["status"] == "dispatched");
  CHECK(d["assignee"]["username"] == handler);
  CHECK(d["assignee"]["name"] == staff[1]["name"]);
  // Only the assignee starts; the other HBB account sees the case but may not.
  CHECK(f.Act(id, staff[0]["username"], {{"action", "start"}}).status == 403);
  CHECK(f.Get(id, handler)["allowed_actions"] ==
        json{"start", "comment", "request_extension"});
  f.MustAct(id, handler, {{"action", "start"}});
  ApiResponse no_note = f.Act(id, handler, {{"action", "handle"}});
  CHECK(no_note.status == 400);
  CHECK(json::parse(no_note.body)["error"]["field"] == "note");
  f.MustAct(id, handler, {{"action", "handle"}, {"note", "火已扑灭"}});
  // The grid leader of the cell verifies: fails it once (返工) ...
  json v =
      f.MustAct(id, f.leader,
                {{"action", "verify"}, {"passed", false}, {"note", "有余烬"}});
  CHECK(v["status"] == "in_progress");
  CHECK(v["rework_count"] == 1);
  f.MustAct(id, handler, {{"action", "handle"}, {"note", "余烬已清"}});
  f.MustAct(id, f.leader, {{"action", "verify"}});
  json closed = f.MustAct(id, f.leader, {{"action", "pass"}});
  CHECK(closed["status"] == "closed");
  CHECK(Has(closed["allowed_actions"], "confirm"));
  json evaluated =
      f.MustAct(id, f.leader, {{"action", "confirm"}, {"satisfied", true}});
  CHECK(evaluated["evaluation"] == "satisfied");
  CHECK(evaluated["allowed_actions"].empty());
  json events = evaluated["events"];
  CHECK(events.size() == evaluated["version"]);
  std::vector<std::string> actions;
  for (const auto& e : events) actions.push_back(e["action"]);
  CHECK(actions == std::vector<std::string>{"report", "accept", "dispatch",
                                            "start", "handle", "verify", "fail",
                                            "handle", "verify", "pass",
                                            "confirm"});
  CHECK(events[1]["actor_name"] == "示例综治中心调度员");
  CHECK(events[2]["details"]["assignee_username"] == handler);
  CHECK(events[6]["from"] == "verifying");
  CHECK(events[6]["to"] == "in_progress");
  CHECK(events[3]["hash"].get<std::string>().size() == 64);
  // The list carries allowed_actions and the version too.
  json list = json::parse(f.Call("GET", "/api/v1/cases", "", "p0021").body);
  REQUIRE(list["cases"].size() == 1);
  CHECK(list["cases"][0]["version"] == 11);
  CHECK(list["cases"][0]["allowed_actions"] == json{"reopen"});
}

TEST_CASE(
    "Workflow API: not satisfied reopens; a branch dispatched the case "
    "handles it; rejection as not ours needs a referral") {
  Fixture f;
  int64_t id = f.Report()["id"];
  f.MustAct(id, "p0022", {{"action", "accept"}});  // the town leader
  f.MustAct(id, "p0021", {{"action", "dispatch"}, {"assignee", "p0024"}});
  f.MustAct(id, "p0024", {{"action", "start"}});
  f.MustAct(id, "p0024", {{"action", "handle"}, {"note", "已劝离"}});
  f.MustAct(id, "p0021", {{"action", "verify"}, {"passed", true}});
  json reopened =
      f.MustAct(id, f.leader, {{"action", "confirm"}, {"satisfied", false}});
  CHECK(reopened["status"] == "reopened");
  CHECK(reopened["evaluation"] == "unsatisfied");
  CHECK(Has(f.Get(id, "p0021")["allowed_actions"], "dispatch"));
  ApiResponse r =
      f.Act(id, "p0021", {{"action", "reject"}, {"reason", "not_ours"}});
  CHECK(r.status == 400);
  CHECK(json::parse(r.body)["error"]["field"] == "referral");
  json rejected = f.MustAct(id, "p0021",
                            {{"action", "reject"},
                             {"reason", "not_ours"},
                             {"referral", "县交警大队"}});
  CHECK(rejected["status"] == "rejected");
  CHECK(rejected["events"].back()["details"]["referral"] == "县交警大队");
}

TEST_CASE("Workflow API: roles the table does not grant get 403") {
  Fixture f;
  int64_t id = f.Report()["id"];
  for (const char* user : {"admin", "p0035", "p0023", "p0007"}) {
    ApiResponse r = f.Act(id, user, {{"action", "accept"}});
    // A user who cannot see the case gets 404 rather than 403.
    CHECK_MESSAGE((r.status == 403 || r.status == 404), (user + r.body));
  }
  ApiResponse r = f.Act(id, f.leader, {{"action", "accept"}});
  CHECK(r.status == 403);
  CHECK(json::parse(r.body)["error"]["code"] == "permission_denied");
  CHECK(f.Call("GET", "/api/v1/users", "", f.leader).status == 403);
  CHECK(f.Call("GET", "/api/v1/users", "", "admin").status == 200);
  CHECK(f.Act(id, "", {{"action", "accept"}, {"version", 1}}).status == 401);
}

TEST_CASE(
    "Workflow API: every illegal action in each reachable state is a 409 "
    "listing the allowed ones") {
  Fixture f;
  // Drive one case through the states, trying every other action as the
  // dispatcher at each.
  int64_t id = f.Report()["id"];
  std::vector<std::pair<std::string, json>> steps = {
      {"p0021", {{"action", "accept"}}},
      {"p0021", {{"action", "dispatch"}, {"assignee", "p0008"}}},
      {"p0008", {{"action", "start"}}},
      {"p0008", {{"action", "handle"}, {"note", "done"}}},
      {"p0021", {{"action", "verify"}}},
      {"p0021", {{"action", "pass"}}},
  };
  int conflicts = 0;
  for (size_t step = 0; step <= steps.size(); ++step) {
    json now = f.Get(id, "p0021");
    for (const auto& rule : core::ActionTable()) {
      bool state_ok =
          std::find(rule.from.begin(), rule.from.end(),
                    now["status"].get<std::string>()) != rule.from.end();
      if (state_ok) continue;
      bool dispatcher_may = false;
      for (const auto& g : rule.who) {
        dispatcher_may = dispatcher_may || g.role == "dispatcher";
      }
      std::string who = dispatcher_may ? "p0021" : "p0008";
      ApiResponse r = f.Act(id, who, {{"action", rule.action}});
      if (!dispatcher_may && r.status == 403) continue;  // role never may
      REQUIRE_MESSAGE(r.status == 409, (rule.action + " in " +
                                        now["status"].dump() + ": " + r.body));
      json err = json::parse(r.body)["error"];
      CHECK(err["field"] == "action");
      CHECK(err["allowed_actions"].is_array());
      if (who == "p0021")
        CHECK(err["allowed_actions"] == now["allowed_actions"]);
      ++conflicts;
    }
    if (step < steps.size())
      f.MustAct(id, steps[step].first, steps[step].second);
  }
  CHECK(conflicts > 50);
  CHECK(f.Get(id, "p0021")["status"] == "closed");
}

TEST_CASE(
    "Workflow API: two dispatchers acting on one version: the second "
    "gets 409") {
  Fixture f;
  int64_t id = f.Report()["id"];
  // Two dispatchers (the second added for the test) read version 1.
  {
    auto store = core::Store::Open(f.db);
    auto hash = core::HashPassword(kPassword);
    REQUIRE((*store)->AddUser({.username = "disp2",
                               .role = "dispatcher",
                               .display_name = "第二调度员",
                               .password_hash = *hash}));
  }
  int64_t version = f.Get(id, "p0021")["version"];
  CHECK(f.Get(id, "disp2")["version"] == version);
  ApiResponse a =
      f.Act(id, "p0021", {{"action", "accept"}, {"version", version}});
  ApiResponse b = f.Act(
      id, "disp2",
      {{"action", "reject"}, {"reason", "invalid"}, {"version", version}});
  CHECK(a.status == 200);
  REQUIRE(b.status == 409);
  json err = json::parse(b.body)["error"];
  CHECK(err["field"] == "version");
  CHECK(err["version"] == version + 1);
  CHECK(f.Get(id, "p0021")["status"] == "accepted");
}

TEST_CASE(
    "Workflow API: 吹哨 calls offices in, they report in; extensions "
    "move the deadline") {
  Fixture f;
  int64_t id = f.Report()["id"];
  f.MustAct(id, "p0021", {{"action", "accept"}});
  f.MustAct(id, "p0021", {{"action", "dispatch"}, {"assignee", "p0008"}});
  ApiResponse bad =
      f.Act(id, "p0021", {{"action", "escalate"}, {"offices", {"XX"}}});
  CHECK(json::parse(bad.body)["error"]["field"] == "offices");
  json e = f.MustAct(id, "p0021",
                     {{"action", "escalate"},
                      {"offices", {"PCS", "AJB"}},
                      {"note", "吹哨: 需派出所、安监到场"}});
  CHECK(e["level"] == "village");
  CHECK(e["co_offices"].size() == 2);
  // The called-in office sees the case and reports in, once.
  CHECK(f.Get(id, "p0005")["allowed_actions"] == json{"comment", "report_in"});
  json in =
      f.MustAct(id, "p0005", {{"action", "report_in"}, {"note", "已到场"}});
  CHECK(in["co_offices"][0]["reported"] == true);
  CHECK(f.Act(id, "p0005", {{"action", "report_in"}}).status == 403);
  CHECK(f.Act(id, "p0013", {{"action", "report_in"}}).status == 404);
  // Extensions: whole working hours, 1 to 2000.
  std::string before = f.Get(id, "p0021")["assignment"]["handle_by"];
  for (json hours : {json(0), json(-4), json(1e-9), json(2.5), json(2001),
                     json(1e300), json("4")}) {
    ApiResponse r = f.Act(id, "p0008",
                          {{"action", "request_extension"},
                           {"hours", hours},
                           {"note", "需协调"}});
    CHECK_MESSAGE(r.status == 400, hours.dump());
    CHECK(json::parse(r.body)["error"]["field"] == "hours");
  }
  f.MustAct(
      id, "p0008",
      {{"action", "request_extension"}, {"hours", 4}, {"note", "需协调"}});
  CHECK(
      f.Act(id, "p0008",
            {{"action", "request_extension"}, {"hours", 4}, {"note", "again"}})
          .status == 409);
  json denied = f.MustAct(id, "p0022", {{"action", "deny_extension"}});
  CHECK(denied["assignment"]["handle_by"] == before);
  f.MustAct(
      id, "p0008",
      {{"action", "request_extension"}, {"hours", 4}, {"note", "需协调"}});
  json approved = f.MustAct(id, "p0021", {{"action", "approve_extension"}});
  CHECK(approved["assignment"]["handle_by"] != before);
  CHECK(approved["extension_hours"] == 0);
}

TEST_CASE(
    "Workflow API: a nearby report lists possible duplicates; reject as "
    "duplicate links them") {
  Fixture f;
  json first = f.Report();
  json second = f.Report("04001", 0.0003);
  REQUIRE(second["possible_duplicates"].size() == 1);
  CHECK(second["possible_duplicates"][0]["id"] == first["id"]);
  CHECK(second["possible_duplicates"][0]["status"] == "reported");
  json r = f.MustAct(second["id"], "p0021",
                     {{"action", "reject"},
                      {"reason", "duplicate"},
                      {"duplicate_of", first["id"]}});
  CHECK(r["duplicate_of"] == first["id"]);
  CHECK(r["events"].back()["details"]["duplicate_number"] == first["number"]);
}

TEST_CASE("Workflow API: the ticker's overdue escalation shows in the case") {
  Fixture f;
  int64_t id = f.Report()["id"];
  CHECK(f.Get(id, "p0021")["overdue"] == false);
  f.now += std::chrono::hours(2);  // accept_by was 11:00
  f.tokens.clear();
  // Past due already shows before the ticker runs ...
  CHECK(f.Get(id, "p0021")["overdue"] == true);
  {
    auto store = core::Store::Open(f.db);
    auto town = core::LoadTown(**store, std::nullopt);
    auto tick = core::Tick(**store, *town, f.now);
    REQUIRE(tick);
    CHECK(tick->escalated == 1);
  }
  // ... and the ticker's events raise the level.
  json c = f.Get(id, "p0021");
  CHECK(c["overdue"] == true);
  CHECK(c["level"] == "village");
  CHECK(c["events"][1]["actor_name"] == "系统 system");
  CHECK(c["events"][2]["details"]["by"] == "overdue");
  ApiResponse table = f.Call("GET", "/api/v1/workflow", "", "p0021");
  CHECK(json::parse(table.body)["actions"].size() ==
        core::ActionTable().size());
}
