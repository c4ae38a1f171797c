// wangge audit verify: catches event and case rows changed directly in
// SQLite (with the sqlite3 command-line shell), and a database from before
// the workflow migration gets its events hashed.
#include <doctest/doctest.h>

#include "core/accounts.h"
#include "core/intake.h"
#include "core/store.h"
#include "core/town.h"
#include "core/workflow.h"
#include "tests/cli.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::testing;

namespace {

Run Audit(const std::string& db) {
  return Wangge("audit verify --db " + Q(db));
}

bool HaveSqlite3() { return std::system("command -v sqlite3 >/dev/null") == 0; }

Run Sql(const std::string& db, const std::string& sql) {
  return Sh("sqlite3 " + Q(db) + " \"" + sql + "\"");
}

// A town database with two cases that went some way through the workflow.
void MakeDb(const std::string& path) {
  auto input = core::ReadTownFolder(kTown);
  REQUIRE(input);
  auto store = core::Store::Create(path);
  REQUIRE(store);
  REQUIRE((*store)->AddVersion(*input));
  auto town = core::LoadTown(**store, std::nullopt);
  REQUIRE(town);
  auto add = [&](const char* name, const char* role) {
    core::User u{.username = name, .role = role, .password_hash = "x"};
    auto id = (*store)->AddUser(u);
    REQUIRE(id);
    u.id = *id;
    return u;
  };
  core::User reporter = add("reporter", "grid_leader");
  core::User dispatcher = add("dispatcher", "dispatcher");
  const spatial::Feature cell = town->locator->cells().table().feature(0);
  const auto& ring = cell.shape.parts[0].rings[0];
  LonLat at = spatial::ToLonLat(ring[0]);
  auto now = *core::ParseTime("2026-11-26T10:00");
  for (const char* key : {"a", "b"}) {
    core::ReportInput in{.category = "04001",
                         .description = "焚烧",
                         .lon = at.lon,
                         .lat = at.lat};
    auto c = core::SubmitReport(**store, *town, reporter, in, key, now);
    REQUIRE(c);
    auto accept = core::ParseAction(R"({"action": "accept", "version": 1})");
    REQUIRE(core::PerformAction(**store, *town, dispatcher, c->record.id,
                                *accept, now + std::chrono::minutes(5)));
    auto comment = core::ParseAction(
        R"({"action": "comment", "version": 2, "note": "已电话联系"})");
    REQUIRE(core::PerformAction(**store, *town, dispatcher, c->record.id,
                                *comment, now + std::chrono::minutes(6)));
  }
}

}  // namespace

TEST_CASE(
    "wangge audit verify: every chain holds, then rows edited in SQLite "
    "are caught") {
  if (!HaveSqlite3()) {
    MESSAGE("sqlite3 shell not installed (tools/install-deps.sh); skipped");
    return;
  }
  TempDir dir;
  std::string db = dir / "town.db";
  MakeDb(db);
  Run ok = Audit(db);
  CHECK_MESSAGE(ok.status == 0, ok.err);
  CHECK(ok.err.find("2 cases, 6 events") != std::string::npos);

  SUBCASE("an event's note changed") {
    REQUIRE(Sql(db,
                "UPDATE case_events SET note = 'nothing happened' WHERE "
                "case_id = 1 AND seq = 2")
                .status == 0);
    Run bad = Audit(db);
    CHECK(bad.status == 1);
    CHECK_MESSAGE(bad.out.find("(id 1): event 2 content does not match") !=
                      std::string::npos,
                  bad.out);
    CHECK(bad.out.find("id 2") == std::string::npos);
  }
  SUBCASE("an event deleted") {
    REQUIRE(Sql(db, "DELETE FROM case_events WHERE case_id = 2 AND seq = 2")
                .status == 0);
    Run bad = Audit(db);
    CHECK(bad.status == 1);
    CHECK_MESSAGE(bad.out.find("(id 2): event 3") != std::string::npos,
                  bad.out);
  }
  SUBCASE("an event rehashed alone does not link to the next") {
    REQUIRE(Sql(db,
                "UPDATE case_events SET hash = 'ab' WHERE case_id = 1 AND "
                "seq = 2")
                .status == 0);
    Run bad = Audit(db);
    CHECK(bad.status == 1);
    CHECK(bad.out.find("event 2") != std::string::npos);
  }
  SUBCASE("the case row changed behind the events' back") {
    REQUIRE(Sql(db, "UPDATE cases SET status = 'closed' WHERE id = 2").status ==
            0);
    Run bad = Audit(db);
    CHECK(bad.status == 1);
    CHECK_MESSAGE(bad.out.find("status differs") != std::string::npos, bad.out);
  }
}

TEST_CASE("wangge audit verify: bad arguments are usage errors") {
  CHECK(Wangge("audit").status == 2);
  CHECK(Wangge("audit verify").status == 2);
  CHECK(Wangge("audit verify --db /nonexistent").status == 1);
}

TEST_CASE("Store: a database from before the workflow gets its events hashed") {
  if (!HaveSqlite3()) {
    MESSAGE("sqlite3 shell not installed (tools/install-deps.sh); skipped");
    return;
  }
  TempDir dir;
  std::string db = dir / "old.db";
  // Schema 2 as it was shipped, with one case and two events.
  std::string sql =
      "CREATE TABLE schema_version (version INTEGER NOT NULL);"
      "INSERT INTO schema_version VALUES (1), (2);"
      "CREATE TABLE boundary_versions (number INTEGER PRIMARY KEY, created_at "
      "TEXT NOT NULL, source TEXT NOT NULL, actor TEXT NOT NULL, note TEXT NOT "
      "NULL DEFAULT '');"
      "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL "
      "UNIQUE, role TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', person TEXT "
      "NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT '', "
      "password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE cases (id INTEGER PRIMARY KEY, number TEXT NOT NULL "
      "UNIQUE, status TEXT NOT NULL, category TEXT NOT NULL, description TEXT "
      "NOT NULL, address TEXT NOT NULL DEFAULT '', lon REAL NOT NULL, lat REAL "
      "NOT NULL, accuracy_m REAL NOT NULL, reported_at TEXT NOT NULL, "
      "received_at TEXT NOT NULL, reporter INTEGER NOT NULL REFERENCES "
      "users(id), idempotency_key TEXT NOT NULL, request_hash TEXT NOT NULL, "
      "cell TEXT NOT NULL, village TEXT NOT NULL, branch TEXT NOT NULL, office "
      "TEXT NOT NULL, outside INTEGER NOT NULL, boundary_version INTEGER NOT "
      "NULL, accept_by TEXT NOT NULL, handle_by TEXT NOT NULL, level TEXT NOT "
      "NULL, assignment TEXT NOT NULL, UNIQUE (reporter, idempotency_key));"
      "CREATE TABLE case_events (case_id INTEGER NOT NULL REFERENCES "
      "cases(id), seq INTEGER NOT NULL, actor INTEGER NOT NULL, at TEXT NOT "
      "NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL, note TEXT NOT "
      "NULL, PRIMARY KEY (case_id, seq));"
      "INSERT INTO users VALUES (1, 'p0035', 'grid_leader', '', 'P0035', '', "
      "'x', 0);"
      "INSERT INTO cases VALUES (1, 'TY-20261126-0001', 'reported', '04001', "
      "'焚烧', '', 110.2, 34.5, -1, '2026-11-26T10:00:00+08:00', "
      "'2026-11-26T10:00:00+08:00', 1, 'k', 'h', 'c', 'v', 'b', 'HBB', 0, 1, "
      "'2026-11-26T11:00:00+08:00', '2026-11-26T15:00:00+08:00', 'grid', "
      "'{}');"
      "INSERT INTO case_events VALUES (1, 1, 1, '2026-11-26T10:00:00+08:00', "
      "'', 'reported', '上报 reported');";
  REQUIRE(Sql(db, sql).status == 0);
  {
    auto store = core::Store::Open(db);
    REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
    auto events = (*store)->Events(1);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    CHECK((*events)[0].action == "report");
    CHECK((*events)[0].hash.size() == 64);
    CHECK_FALSE(core::VerifyChain(*events).has_value());
    auto row = (*store)->GetCase(1);
    REQUIRE(row);
    CHECK(row->version == 1);
    std::string field;
    CHECK_MESSAGE(
        core::SameWorkflowFields(core::Project(*row, *events), *row, &field),
        field);
  }
  Run ok = Audit(db);
  CHECK_MESSAGE(ok.status == 0, (ok.out + ok.err));
}
