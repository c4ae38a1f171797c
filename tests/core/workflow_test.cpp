// The case workflow: the action table state by state, the projection of
// events onto the case row, hash chains, deadlines on the working calendar
// (国庆节 2026), the deadline ticker and duplicates.
#include "core/workflow.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/accounts.h"
#include "core/intake.h"
#include "core/store.h"
#include "core/town.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::core;
using nlohmann::json;
using wangge::testing::TempDir;

namespace {

const std::string kTownDir = std::string(WANGGE_DATA_DIR) + "/taiyao";

const Town& SampleTown() {
  static const Town town = [] {
    auto t = LoadTown(TownSource{.data = kTownDir});
    REQUIRE_MESSAGE(t, (t ? "" : t.error().message));
    return std::move(*t);
  }();
  return town;
}

// A point inside the nth cell (mean of its outer ring), and the cell.
std::pair<LonLat, std::string> PointInCell(int nth = 0) {
  const spatial::FeatureTable& cells = SampleTown().locator->cells().table();
  for (size_t i = 0; i < cells.size(); ++i) {
    if (nth-- > 0) continue;
    spatial::Feature f = cells.feature(i);
    const auto& ring = f.shape.parts[0].rings[0];
    __int128 x = 0, y = 0;
    for (const auto& p : ring) {
      x += p.x;
      y += p.y;
    }
    LonLat at = spatial::ToLonLat({int64_t(x / __int128(ring.size())),
                                   int64_t(y / __int128(ring.size()))});
    auto placed = SampleTown().locator->Locate(at);
    REQUIRE(placed);
    if (placed->cell == f.code) return {at, f.code};
  }
  FAIL("no usable cell");
  return {};
}

User MakeUser(int64_t id, std::string role, std::string scope = "",
              std::string person = "") {
  return User{.id = id,
              .username = "u" + std::to_string(id),
              .role = std::move(role),
              .scope = std::move(scope),
              .person = std::move(person)};
}

// A store of the sample town with a few accounts.
struct Db {
  TempDir dir;
  std::unique_ptr<Store> store;
  User reporter, dispatcher, office, leader;

  Db() {
    auto input = ReadTownFolder(kTownDir);
    REQUIRE(input);
    auto s = Store::Create(dir / "town.db");
    REQUIRE(s);
    store = std::move(*s);
    REQUIRE((*store).AddVersion(*input));
    auto [at, cell] = PointInCell();
    std::string leader_person = SampleTown().config.cells.at(cell).leader;
    reporter = Add(MakeUser(0, "grid_leader", "", leader_person));
    dispatcher = Add(MakeUser(0, "dispatcher"));
    office = Add(MakeUser(0, "office", "HBB"));
    leader = Add(MakeUser(0, "leader"));
  }

  // Stores `u` under the username role-scope-person; returns it with its id.
  User Add(User u) {
    u.password_hash = "x";
    u.username = u.role + "-" + u.scope + "-" + u.person;
    auto id = store->AddUser(u);
    REQUIRE_MESSAGE(id, (id ? "" : id.error().message));
    u.id = *id;
    return u;
  }

  CaseRecord Report(const std::string& category, Time now, int nth_cell = 0,
                    const std::string& key = "k", const User* by = nullptr) {
    auto [at, cell] = PointInCell(nth_cell);
    ReportInput in{.category = category,
                   .description = "测试",
                   .lon = at.lon,
                   .lat = at.lat};
    auto r =
        SubmitReport(*store, SampleTown(), by ? *by : reporter, in, key, now);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return r->record;
  }

  Result<Outcome> Act(const User& u, int64_t id, json body, Time now) {
    auto got = store->GetCase(id);
    REQUIRE(got);
    if (!body.contains("version")) body["version"] = got->version;
    auto in = ParseAction(body.dump());
    REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
    return PerformAction(*store, SampleTown(), u, id, *in, now);
  }

  void MustAct(const User& u, int64_t id, json body, Time now) {
    auto done = Act(u, id, body, now);
    REQUIRE_MESSAGE(done, (body.dump() + ": " +
                           (done ? std::string() : done.error().message)));
  }
};

Time At(const std::string& text) { return *ParseTime(text); }

}  // namespace

TEST_CASE("Workflow: every action not allowed in a state is a conflict") {
  const Town& town = SampleTown();
  auto [at, cell] = PointInCell();
  const CellInfo& info = town.config.cells.at(cell);
  int checked = 0;
  for (const std::string& state : States()) {
    for (const ActionRule& rule : ActionTable()) {
      // A user the table grants the action to, on a case in `state`.
      const Grant& g = rule.who.front();
      User u = MakeUser(7, g.role == "*" ? "office" : g.role);
      CaseRecord r{.id = 1,
                   .number = "TY-1",
                   .status = state,
                   .category = "04001",
                   .reporter = 99,
                   .cell = cell,
                   .office = "HBB",
                   .handle_by = "2026-11-30T18:00:00+08:00",
                   .level = "grid"};
      r.version = 3;
      if (g.reach == Reach::kAssignee) r.assignee = u.id;
      if (g.reach == Reach::kReporter) r.reporter = u.id;
      if (g.reach == Reach::kCell) {
        u.person = info.leader;
        u.scope = u.role == "branch" ? info.branch : "HBB";
      }
      if (g.reach == Reach::kCoOffice || rule.action == "report_in") {
        u.scope = "SFS";
        r.co_offices = R"([{"code":"SFS","reported":false}])";
      }
      if (rule.action.ends_with("_extension") &&
          rule.action != "request_extension") {
        r.extension_hours = 4;
      }
      ActionInput in{.action = rule.action, .version = 3};
      auto allowed = AllowedActions(r, u, town);
      bool listed = std::find(allowed.begin(), allowed.end(), rule.action) !=
                    allowed.end();
      bool in_from = std::find(rule.from.begin(), rule.from.end(), state) !=
                     rule.from.end();
      CHECK_MESSAGE(listed == in_from, (rule.action + " in " + state));
      if (in_from) continue;
      auto out = ApplyAction(r, {}, u, in, town, At("2026-11-26T10:00"));
      REQUIRE_MESSAGE(!out, (rule.action + " in " + state));
      CHECK_MESSAGE(
          out.error().code == ErrorCode::kConflict,
          (rule.action + " in " + state + ": " + out.error().message));
      CHECK(out.error().field == "action");
      ++checked;
    }
  }
  CHECK(checked > 80);
}

TEST_CASE("Workflow: roles and scopes the table does not grant are refused") {
  const Town& town = SampleTown();
  auto [at, cell] = PointInCell();
  CaseRecord r{.id = 1,
               .status = "reported",
               .category = "04001",
               .reporter = 99,
               .cell = cell,
               .level = "grid"};
  ActionInput accept{.action = "accept", .version = 1};
  for (const char* role : {"grid_leader", "branch", "office", "gis", "admin"}) {
    auto out = ApplyAction(r, {}, MakeUser(5, role), accept, town,
                           At("2026-11-26T10:00"));
    REQUIRE(!out);
    CHECK_MESSAGE(out.error().code == ErrorCode::kPermissionDenied, role);
  }
  // start is for the assignee only.
  r.status = "dispatched";
  r.assignee = 42;
  auto out = ApplyAction(r, {}, MakeUser(5, "office", "HBB"),
                         {.action = "start", .version = 1}, town,
                         At("2026-11-26T10:00"));
  REQUIRE(!out);
  CHECK(out.error().code == ErrorCode::kPermissionDenied);
  // A stale version.
  out = ApplyAction(r, {}, MakeUser(42, "office", "HBB"),
                    {.action = "start", .version = 0}, town,
                    At("2026-11-26T10:00"));
  REQUIRE(!out);
  CHECK(out.error().code == ErrorCode::kConflict);
  CHECK(out.error().field == "version");
}

TEST_CASE("Workflow: bad action input names the field") {
  CHECK(ParseAction("[]").error().field == "body");
  CHECK(ParseAction(R"({"version": 1})").error().field == "action");
  CHECK(ParseAction(R"({"action": "x", "version": "1"})").error().field ==
        "version");
  CHECK(ParseAction(R"({"action": "x", "hours": "2"})").error().field ==
        "hours");
  // Past int64: 2^64 - 1 would read as version -1.
  CHECK(ParseAction(R"({"action": "x", "version": 18446744073709551615})")
            .error()
            .field == "version");
  CHECK(ParseAction(R"({"action": "x", "duplicate_of": 9223372036854775808})")
            .error()
            .field == "duplicate_of");
  CHECK(ParseAction(R"({"action": "x", "version": 9223372036854775807})"));
  Db db;
  CaseRecord c = db.Report("04001", At("2026-11-26T10:00"));
  auto unknown =
      db.Act(db.dispatcher, c.id, {{"action", "fly"}}, At("2026-11-26T10:05"));
  CHECK(unknown.error().field == "action");
  auto reason = db.Act(db.dispatcher, c.id, {{"action", "reject"}},
                       At("2026-11-26T10:05"));
  CHECK(reason.error().field == "reason");
  auto dup = db.Act(db.dispatcher, c.id,
                    {{"action", "reject"}, {"reason", "duplicate"}},
                    At("2026-11-26T10:05"));
  CHECK(dup.error().field == "duplicate_of");
  db.MustAct(db.dispatcher, c.id, {{"action", "accept"}},
             At("2026-11-26T10:05"));
  auto nobody = db.Act(db.dispatcher, c.id,
                       {{"action", "dispatch"}, {"assignee", "nobody"}},
                       At("2026-11-26T10:06"));
  CHECK(nobody.error().field == "assignee");
  auto to_dispatcher =
      db.Act(db.dispatcher, c.id,
             {{"action", "dispatch"}, {"assignee", db.dispatcher.username}},
             At("2026-11-26T10:06"));
  CHECK(to_dispatcher.error().field == "assignee");
}

TEST_CASE(
    "Workflow: a whole lifecycle; the row is the projection of its events "
    "and the chain holds") {
  Db db;
  Time t = At("2026-11-26T10:00");
  CaseRecord c = db.Report("04001", t);
  auto minutes = [&](int m) { return t += std::chrono::minutes(m); };
  db.MustAct(db.dispatcher, c.id, {{"action", "accept"}}, minutes(5));
  db.MustAct(db.dispatcher, c.id,
             {{"action", "dispatch"}, {"assignee", db.office.username}},
             minutes(1));
  db.MustAct(db.office, c.id, {{"action", "start"}}, minutes(10));
  db.MustAct(db.dispatcher, c.id,
             {{"action", "escalate"}, {"offices", {"SFS"}}, {"note", "吹哨"}},
             minutes(1));
  db.MustAct(db.office, c.id,
             {{"action", "request_extension"}, {"hours", 2}, {"note", "忙"}},
             minutes(1));
  db.MustAct(db.leader, c.id, {{"action", "approve_extension"}}, minutes(1));
  db.MustAct(db.office, c.id, {{"action", "handle"}, {"note", "已扑灭"}},
             minutes(30));
  db.MustAct(db.dispatcher, c.id,
             {{"action", "verify"}, {"passed", false}, {"note", "仍有余烬"}},
             minutes(10));
  db.MustAct(db.office, c.id, {{"action", "handle"}, {"note", "已清理"}},
             minutes(30));
  db.MustAct(db.reporter, c.id, {{"action", "verify"}}, minutes(5));
  db.MustAct(db.reporter, c.id, {{"action", "pass"}}, minutes(5));
  db.MustAct(db.reporter, c.id, {{"action", "confirm"}, {"satisfied", true}},
             minutes(5));

  auto stored = db.store->GetCase(c.id);
  auto events = db.store->Events(c.id);
  REQUIRE(stored);
  REQUIRE(events);
  CHECK(stored->status == "closed");
  CHECK(stored->evaluation == "satisfied");
  CHECK(stored->rework_count == 1);
  CHECK(stored->level == "village");
  CHECK(stored->assignee == db.office.id);
  CHECK(stored->version == int64_t(events->size()));
  CHECK(events->size() == 14);  // report + 12 actions, verify+fail is two
  CHECK(json::parse(stored->co_offices)[0]["code"] == "SFS");
  // handle_by: accepted at 10:05 + 4 working hours = 16:35 (lunch
  // 12:00-14:30); the extension of 2 working hours: 16:35-18:00, then
  // 08:30-09:05 the next day.
  CHECK(stored->handle_by == "2026-11-27T09:05:00+08:00");

  std::string field;
  CaseRecord replayed = Project(*stored, *events);
  CHECK_MESSAGE(SameWorkflowFields(replayed, *stored, &field), field);
  CHECK_FALSE(VerifyChain(*events).has_value());
  for (size_t i = 1; i < events->size(); ++i) {
    CHECK((*events)[i].prev_hash == (*events)[i - 1].hash);
  }
  // A changed note breaks the chain at that event.
  std::vector<CaseEvent> edited = *events;
  edited[3].note = "改过";
  auto broken = VerifyChain(edited);
  REQUIRE(broken);
  CHECK(broken->seq == 4);
  // Nothing is possible on a closed, evaluated case but reopening it.
  CHECK(AllowedActions(*stored, db.dispatcher, SampleTown()) ==
        std::vector<std::string>{"reopen"});
}

TEST_CASE("Workflow: two dispatchers on one version: the second is stale") {
  Db db;
  CaseRecord c = db.Report("04001", At("2026-11-26T10:00"));
  User other = db.dispatcher;
  other.id += 100;
  auto first =
      db.Act(db.dispatcher, c.id, {{"action", "accept"}, {"version", 1}},
             At("2026-11-26T10:01"));
  REQUIRE(first);
  auto second =
      db.Act(other, c.id,
             {{"action", "reject"}, {"reason", "invalid"}, {"version", 1}},
             At("2026-11-26T10:01"));
  REQUIRE(!second);
  CHECK(second.error().code == ErrorCode::kConflict);
  CHECK(second.error().field == "version");
  // The store refuses a stale append even if the caller skipped the check.
  auto again = db.store->AppendEvents(first->record, 1, first->events);
  REQUIRE(!again);
  CHECK(again.error().code == ErrorCode::kConflict);
}

TEST_CASE("Workflow: deadlines cross 国庆节 2026 on the working calendar") {
  Db db;
  // 邻里纠纷: accept within 4 working hours, handle within 5 working days.
  CaseRecord c = db.Report("01001", At("2026-09-30T17:00"));
  // 17:00-18:00 on 09-30, then 10-01..07 are holidays: 10-08 08:30 + 3 h.
  CHECK(c.accept_by == "2026-10-08T11:30:00+08:00");
  db.MustAct(db.dispatcher, c.id, {{"action", "accept"}},
             At("2026-09-30T17:30"));
  auto accepted = db.store->GetCase(c.id);
  // 5 working days after 09-30: 10-08, 10-09, Saturday 10-10 (调休上班),
  // Monday 10-12, Tuesday 10-13.
  CHECK(accepted->handle_by == "2026-10-13T18:00:00+08:00");
  db.MustAct(db.dispatcher, c.id,
             {{"action", "dispatch"}, {"assignee", db.office.username}},
             At("2026-09-30T17:40"));
  db.MustAct(db.office, c.id,
             {{"action", "request_extension"}, {"hours", 8}, {"note", "节后"}},
             At("2026-09-30T17:50"));
  db.MustAct(db.dispatcher, c.id, {{"action", "approve_extension"}},
             At("2026-10-01T09:00"));
  // 8 working hours from 10-13 18:00: 10-14 gives 7, 10-15 08:30 + 1.
  CHECK(db.store->GetCase(c.id)->handle_by == "2026-10-15T09:30:00+08:00");
}

TEST_CASE("Workflow: the ticker marks overdue cases and escalates them once") {
  Db db;
  // 露天焚烧: accept within 1 working hour.
  CaseRecord c = db.Report("04001", At("2026-11-26T10:00"));
  REQUIRE(c.accept_by == "2026-11-26T11:00:00+08:00");
  auto tick = Tick(*db.store, SampleTown(), At("2026-11-26T10:59"));
  REQUIRE(tick);
  CHECK(tick->overdue == 0);
  CHECK(db.store->GetCase(c.id)->level == "grid");
  tick = Tick(*db.store, SampleTown(), At("2026-11-26T11:01"));
  REQUIRE(tick);
  CHECK(tick->overdue == 1);
  CHECK(tick->escalated == 1);
  auto row = db.store->GetCase(c.id);
  CHECK(row->overdue);
  CHECK(row->level == "village");
  auto events = db.store->Events(c.id);
  REQUIRE(events->size() == 3);
  CHECK((*events)[1].action == "overdue");
  CHECK((*events)[1].actor == 0);
  CHECK((*events)[2].action == "escalate");
  // Once per deadline.
  CHECK(Tick(*db.store, SampleTown(), At("2026-11-26T11:02"))->overdue == 0);
  // Accepting sets a new deadline and clears the mark; missing that one
  // escalates again.
  db.MustAct(db.dispatcher, c.id, {{"action", "accept"}},
             At("2026-11-26T11:05"));
  CHECK_FALSE(db.store->GetCase(c.id)->overdue);
  tick = Tick(*db.store, SampleTown(), At("2026-11-27T10:00"));
  CHECK(tick->escalated == 1);
  CHECK(db.store->GetCase(c.id)->level == "town");
  std::string field;
  auto all = db.store->Events(c.id);
  CHECK_MESSAGE(SameWorkflowFields(Project(*db.store->GetCase(c.id), *all),
                                   *db.store->GetCase(c.id), &field),
                field);
  CHECK_FALSE(VerifyChain(*all).has_value());
}

TEST_CASE(
    "Workflow: the duplicate search finds cases across the index squares") {
  // The recent cases behind the search (core/duplicates.h) are filed by
  // 1/500-degree squares; a neighbour just across a square's edge or corner, or
  // several squares away but within the radius (250 m for 01001), must be
  // found.
  Db db;
  Time t = At("2026-11-26T10:00");
  auto [at, cell] = PointInCell(0);
  double corner_lon = std::round(at.lon * 500) / 500;
  double corner_lat = std::round(at.lat * 500) / 500;
  struct Pair {
    double dlon1, dlat1, dlon2, dlat2;
  };
  int n = 0;
  for (Pair p : {Pair{-0.0001, -0.0001, 0.0001, 0.0001},   // across a corner
                 Pair{-0.00005, 0.0003, 0.00005, 0.0003},  // across a meridian
                 Pair{0.0003, -0.00005, 0.0003, 0.00005},  // across a parallel
                 Pair{-0.0012, 0, 0.0012, 0}}) {  // ~220 m, two squares
    ReportInput in{.category = "01001",
                   .description = "冒烟",
                   .lon = corner_lon + p.dlon1,
                   .lat = corner_lat + p.dlat1};
    Time when = t + std::chrono::hours(8 * 24 * n++);  // apart in time
    auto first = SubmitReport(*db.store, SampleTown(), db.reporter, in,
                              "k" + std::to_string(n) + "a", when);
    REQUIRE(first);
    in.lon = corner_lon + p.dlon2;
    in.lat = corner_lat + p.dlat2;
    auto second = SubmitReport(*db.store, SampleTown(), db.reporter, in,
                               "k" + std::to_string(n) + "b",
                               when + std::chrono::minutes(5));
    REQUIRE(second);
    REQUIRE_MESSAGE(second->possible_duplicates.size() == 1,
                    ("pair " + std::to_string(n)));
    CHECK(second->possible_duplicates[0].id == first->record.id);
  }
}

TEST_CASE("EventHash: the text hashed is nlohmann's dump with sorted keys") {
  // Hashes stored by every earlier version must still verify: the text is
  // nlohmann's dump() of the fields, keys sorted, invalid UTF-8 replaced.
  auto reference = [](const CaseEvent& e) {
    json canonical = {
        {"case_id", e.case_id}, {"seq", e.seq},       {"actor", e.actor},
        {"at", e.at},           {"action", e.action}, {"from", e.from},
        {"to", e.to},           {"note", e.note},     {"details", e.details}};
    return Digest(
        canonical.dump(-1, ' ', false, json::error_handler_t::replace) + "\n" +
        e.prev_hash);
  };
  CaseEvent e{.case_id = 12345678901,
              .seq = 3,
              .actor = 7,
              .at = "2026-11-26T10:00:00+08:00",
              .from = "reported",
              .to = "accepted",
              .note = "受理 \"急\" \\ tab\there\nline \x01\x1f\x7f",
              .action = "accept",
              .details = R"({"level":"镇","why":"a \"quoted\" word"})",
              .prev_hash = std::string(64, 'a')};
  CHECK(EventHash(e) == reference(e));
  e.from.clear();
  e.details = "{}";
  e.actor = -1;
  CHECK(EventHash(e) == reference(e));
  e.note = "bad \xff\xfe UTF-8 \xe6\x9d";  // replaced, as nlohmann does
  CHECK(EventHash(e) == reference(e));
  e.note = "surrogate \xed\xa0\x80";
  CHECK(EventHash(e) == reference(e));
}

TEST_CASE(
    "Intake: the answer shows the new case as it reads back from the store") {
  // The answer is written from the routing at hand; a read of the case (and
  // a retry's answer) from the assignment stored with it. They must agree.
  Db db;
  Time t = At("2026-11-26T10:00");
  auto [at, cell] = PointInCell(3);
  for (auto [lon, lat, key] : {std::tuple{at.lon, at.lat, "inside"},
                               std::tuple{at.lon + 0.5, at.lat, "outside"}}) {
    CAPTURE(key);
    ReportInput in{
        .category = "04001", .description = "路灯不亮", .lon = lon, .lat = lat};
    auto fresh = SubmitReport(*db.store, SampleTown(), db.reporter, in, key, t);
    REQUIRE(fresh);
    REQUIRE(fresh->routed);
    auto answer = nlohmann::ordered_json::parse(IntakeJson(*fresh));
    answer.erase("possible_duplicates");
    auto stored = db.store->GetCase(fresh->record.id);
    REQUIRE(stored);
    auto read = nlohmann::ordered_json::parse(CaseJson(*stored));
    CHECK(answer == read);  // key order included
    CHECK(read["placement"]["inside"] == (std::string(key) == "inside"));
    CHECK(read["assignment"]["offices"].size() > 0);
    CHECK(read["assignment"]["reasons"].size() > 0);
    auto retry = SubmitReport(*db.store, SampleTown(), db.reporter, in, key, t);
    REQUIRE(retry);
    CHECK(retry->existed);
    CHECK_FALSE(retry->routed);
    auto again = nlohmann::ordered_json::parse(IntakeJson(*retry));
    again.erase("possible_duplicates");
    CHECK(again == read);
  }
}

TEST_CASE(
    "Workflow: nearby open cases of the category are possible duplicates") {
  Db db;
  Time t = At("2026-11-26T10:00");
  CaseRecord first = db.Report("04001", t, 0, "a");
  auto [at, cell] = PointInCell(0);
  ReportInput again{.category = "04001",
                    .description = "又看到冒烟",
                    .lon = at.lon + 0.0005,  // ~46 m east
                    .lat = at.lat};
  auto second = SubmitReport(*db.store, SampleTown(), db.reporter, again, "b",
                             t + std::chrono::minutes(20));
  REQUIRE(second);
  REQUIRE(second->possible_duplicates.size() == 1);
  CHECK(second->possible_duplicates[0].id == first.id);
  CHECK(second->possible_duplicates[0].distance_m > 30);
  CHECK(second->possible_duplicates[0].distance_m < 60);
  CHECK(json::parse(IntakeJson(*second))["possible_duplicates"][0]["number"] ==
        first.number);
  // Another category, or far away, or long after: no duplicates.
  again.category = "01001";
  auto other = SubmitReport(*db.store, SampleTown(), db.reporter, again, "c",
                            t + std::chrono::minutes(30));
  CHECK(other->possible_duplicates.empty());
  again.category = "04001";
  auto later = SubmitReport(*db.store, SampleTown(), db.reporter, again, "d",
                            t + std::chrono::hours(24 * 8));
  CHECK(later->possible_duplicates.empty());
  // Rejecting as a duplicate links the original.
  db.MustAct(db.dispatcher, second->record.id,
             {{"action", "reject"},
              {"reason", "duplicate"},
              {"duplicate_of", first.id}},
             t + std::chrono::minutes(25));
  auto rejected = db.store->GetCase(second->record.id);
  CHECK(rejected->status == "rejected");
  CHECK(rejected->duplicate_of == first.id);
}

TEST_CASE(
    "Store: case lists by every combination of filters, twice (statements "
    "kept by text, and forgotten past the cache's bound)") {
  Db db;
  Time t = At("2026-11-26T09:00");
  CaseRecord one = db.Report("04001", t, 0, "a");
  CaseRecord other = db.Report("01002", t + std::chrono::hours(1), 30, "b");
  REQUIRE(one.cell != other.cell);
  // Each of ten conditions set or not: 1,024 SQL texts, each matching `one`.
  auto filter = [&](int mask) {
    CaseFilter f;
    auto on = [&](int bit) { return (mask >> bit & 1) != 0; };
    if (on(0)) f.status = one.status;
    if (on(1)) f.category = one.category;
    if (on(2)) f.village = one.village;
    if (on(3)) f.cell = one.cell;
    if (on(4)) f.branch = one.branch;
    if (on(5)) f.office = one.office;
    if (on(6)) f.text = "测";
    if (on(7)) {
      f.bbox = std::array<double, 4>{one.lon - 1e-6, one.lat - 1e-6,
                                     one.lon + 1e-6, one.lat + 1e-6};
    }
    if (on(8)) f.received_from = one.received_at;
    if (on(9)) f.received_to = other.received_at;
    return f;
  };
  // Conditions that `other` fails too: cell, bbox, received_to.
  auto expected = [](int mask) {
    return (mask & (1 << 3 | 1 << 7 | 1 << 9)) ? std::set<int64_t>{1}
                                               : std::set<int64_t>{1, 2};
  };
  REQUIRE(one.id == 1);
  REQUIRE(other.id == 2);
  for (int pass = 0; pass < 2; ++pass) {
    for (int mask = 0; mask < 1024; ++mask) {
      CaseFilter f = filter(mask);
      auto cases = db.store->ListCases(f);
      REQUIRE_MESSAGE(cases, (cases ? "" : cases.error().message));
      std::set<int64_t> ids;
      for (const auto& c : *cases) ids.insert(c.id);
      // `other` differs in category and the fields routing sets; only the
      // conditions it shares with `one` may leave it in.
      std::set<int64_t> want = expected(mask);
      if (f.category.size() || f.village.size() || f.branch.size() ||
          f.office.size()) {
        std::erase_if(want, [&](int64_t id) {
          const CaseRecord& c = id == 1 ? one : other;
          return (!f.category.empty() && c.category != f.category) ||
                 (!f.village.empty() && c.village != f.village) ||
                 (!f.branch.empty() && c.branch != f.branch) ||
                 (!f.office.empty() && c.office != f.office);
        });
      }
      CAPTURE(mask);
      CHECK(ids == want);
    }
  }
}

TEST_CASE(
    "Workflow: each role's case list holds exactly the cases it may read, "
    "assigned and co-handled ones included") {
  Db db;
  const Town& town = SampleTown();
  Time t = At("2026-11-26T09:00");
  auto cell_of = [](int nth) { return PointInCell(nth).second; };
  User leader2 = db.Add(MakeUser(0, "grid_leader", "",
                                 town.config.cells.at(cell_of(120)).leader));
  REQUIRE(leader2.person != db.reporter.person);
  User branch =
      db.Add(MakeUser(0, "branch", town.config.cells.at(cell_of(60)).branch));
  User nyb = db.Add(MakeUser(0, "office", "NYB"));
  User sfs = db.Add(MakeUser(0, "office", "SFS"));
  User mzb = db.Add(MakeUser(0, "office", "MZB"));
  User pcs = db.Add(MakeUser(0, "office", "PCS"));

  CaseRecord own = db.Report("04001", t, 0, "a");  // 生态环保办 HBB
  // 土地承包纠纷: 农业农村办 first, 司法所 co-handles by routing.
  CaseRecord routed = db.Report("01002", t, 30, "b");
  REQUIRE(routed.office == "NYB");
  // HBB's case dispatched to a 农业农村办 account.
  CaseRecord assigned = db.Report("04001", t, 60, "c");
  db.MustAct(db.dispatcher, assigned.id, {{"action", "accept"}}, t);
  db.MustAct(db.dispatcher, assigned.id,
             {{"action", "dispatch"}, {"assignee", nyb.username}}, t);
  // 邻里纠纷 (司法所) with 民政办 called in by 吹哨.
  CaseRecord whistled = db.Report("01001", t, 90, "d");
  db.MustAct(db.dispatcher, whistled.id, {{"action", "accept"}}, t);
  db.MustAct(db.dispatcher, whistled.id,
             {{"action", "escalate"}, {"offices", {"MZB"}}, {"note", "吹哨"}},
             t);
  CaseRecord elsewhere = db.Report("04001", t, 120, "e", &leader2);

  CaseFilter all;
  all.limit = 1000;
  auto every = db.store->ListCases(all);
  REQUIRE(every);
  REQUIRE(every->size() == 5);
  auto listed = [&](const User& u, CaseFilter f) {
    auto cases = db.store->ListCases(ScopeTo(u, town, f));
    REQUIRE_MESSAGE(cases, (cases ? "" : cases.error().message));
    std::set<int64_t> ids;
    for (const auto& c : *cases) ids.insert(c.id);
    return ids;
  };
  for (const User* u : {&db.reporter, &leader2, &branch, &db.office, &nyb, &sfs,
                        &mzb, &pcs, &db.dispatcher, &db.leader}) {
    std::set<int64_t> readable;
    for (const auto& c : *every) {
      if (MayRead(c, *u, town)) readable.insert(c.id);
    }
    CHECK_MESSAGE(listed(*u, all) == readable, u->username);
  }
  using Ids = std::set<int64_t>;
  CHECK(listed(nyb, all) == Ids{routed.id, assigned.id});
  CHECK(listed(sfs, all) == Ids{routed.id, whistled.id});
  CHECK(listed(mzb, all) == Ids{whistled.id});
  CHECK(listed(pcs, all).empty());
  CHECK(listed(db.office, all) == Ids{own.id, assigned.id, elsewhere.id});
  CHECK(listed(leader2, all) == Ids{elsewhere.id});
  CHECK(listed(db.dispatcher, all).size() == 5);
  // The reach narrows the other filters, never widens them.
  CaseFilter accepted = all;
  accepted.status = "accepted";
  CHECK(listed(sfs, accepted) == Ids{whistled.id});
  accepted.office = "NYB";
  CHECK(listed(sfs, accepted).empty());
}

TEST_CASE(
    "Workflow: the ticker escalates as the category's escalation rule says") {
  Db db;
  Town town = SampleTown();
  // 露天焚烧, accepted within 1 working hour: two levels per missed
  // deadline, never above the town.
  town.config.categories.at("04001").escalation = {.steps = 2,
                                                   .max = Level::kTown};
  CaseRecord c = db.Report("04001", At("2026-11-26T10:00"));
  REQUIRE(c.level == "grid");
  auto tick = Tick(*db.store, town, At("2026-11-26T11:01"));
  REQUIRE(tick);
  CHECK(tick->escalated == 1);
  CHECK(db.store->GetCase(c.id)->level == "town");
  db.MustAct(db.dispatcher, c.id, {{"action", "accept"}},
             At("2026-11-26T11:05"));
  tick = Tick(*db.store, town, At("2026-11-27T10:00"));
  CHECK(tick->overdue == 1);
  CHECK(tick->escalated == 0);  // at its max: only marked overdue
  CHECK(db.store->GetCase(c.id)->level == "town");
  CHECK(db.store->GetCase(c.id)->overdue);

  // 燃气安全隐患 as the sample ships it: critical, at least the town.
  const Category& gas = SampleTown().config.categories.at("03002");
  CHECK(gas.escalation.at_least == Level::kTown);
  CHECK(SampleTown().config.categories.at("01001").escalation.max ==
        Level::kTown);
  // No rule given: one level at a time up to the county.
  const Category& fire = SampleTown().config.categories.at("04001");
  CHECK(fire.escalation.steps == 1);
  CHECK(fire.escalation.max == Level::kCounty);
}

TEST_CASE("Workflow: an action may cite only the case's own photos") {
  Db db;
  Time t = At("2026-11-26T10:00");
  CaseRecord mine = db.Report("04001", t, 0, "a");
  CaseRecord other = db.Report("04001", t, 40, "b");
  auto attach = [&](int64_t case_id, char fill) {
    auto added =
        db.store->AddAttachment({.case_id = case_id,
                                 .sha256 = std::string(64, fill),
                                 .mime = "image/jpeg",
                                 .bytes = 1000,
                                 .uploaded_by = db.reporter.id,
                                 .uploaded_at = "2026-11-26T02:00:00Z"});
    REQUIRE_MESSAGE(added, (added ? "" : added.error().message));
    return added->attachment.id;
  };
  int64_t own_photo = attach(mine.id, 'a');
  int64_t foreign_photo = attach(other.id, 'b');
  auto bad = db.Act(db.reporter, mine.id,
                    {{"action", "comment"},
                     {"note", "见照片"},
                     {"attachments", {own_photo, foreign_photo}}},
                    t);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  CHECK(bad.error().field == "attachments");
  CHECK_MESSAGE(
      bad.error().message.find("attachment " + std::to_string(foreign_photo)) !=
          std::string::npos,
      bad.error().message);
  CHECK(db.store->Events(mine.id)->size() == 1);  // nothing stored
  db.MustAct(db.reporter, mine.id,
             {{"action", "comment"}, {"attachments", {own_photo}}}, t);
  CHECK(db.store->Events(mine.id)->size() == 2);
}

TEST_CASE("Workflow: README carries the action table as the code has it") {
  std::string md = ActionTableMarkdown();
  CHECK(md.starts_with("| action |"));
  for (const auto& rule : ActionTable()) {
    CHECK(md.find("| " + rule.action + " |") != std::string::npos);
  }
  std::ifstream in(std::string(WANGGE_DATA_DIR) + "/../README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  CHECK_MESSAGE(readme.str().find(md) != std::string::npos,
                ("README.md lacks the current table:\n" + md));
}
