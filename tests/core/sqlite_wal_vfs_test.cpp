// The log-gathering VFS (core/sqlite_wal_vfs.h): what a connection commits
// through it is in the files for another connection on SQLite's own VFS, and
// for a process that opens the database after the writer died without
// closing it; big transactions, rewritten frames and rollbacks to a
// savepoint come out as SQLite meant.
#include "core/sqlite_wal_vfs.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "tests/temp_dir.h"

namespace {

struct Db {
  // `vfs` nullptr: SQLite's default.
  Db(const std::string& path, const char* vfs) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            vfs) == SQLITE_OK);
  }
  ~Db() { sqlite3_close(db); }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // Inserts rows (x, blob) into t for x = 1..n; `blob` is SQL, e.g.
  // "randomblob(300)".
  int Rows(int n, const std::string& blob) {
    return Exec(
        "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
        "FROM s WHERE x < " +
        std::to_string(n) + ") INSERT INTO t SELECT x, " + blob + " FROM s");
  }
  // The first column of the first row, as text ("" if none).
  std::string One(const std::string& sql) {
    sqlite3_stmt* q = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) != SQLITE_OK) {
      return "error: " + std::string(sqlite3_errmsg(db));
    }
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      auto text = sqlite3_column_text(q, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    } else if (rc != SQLITE_DONE) {
      out = "error: " + std::string(sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    return out;
  }
  sqlite3* db = nullptr;
};

}  // namespace

TEST_CASE(
    "the gathering VFS is registered beside, not instead of, the default") {
  const char* name = wangge::core::WalBufferVfs();
  REQUIRE(name != nullptr);
  CHECK(sqlite3_vfs_find(name) != nullptr);
  CHECK(sqlite3_vfs_find(nullptr) != sqlite3_vfs_find(name));
}

TEST_CASE(
    "frames committed without a sync are in the log before readers see them") {
  // synchronous=NORMAL: no sync at a commit, so only the barrier before
  // SQLite publishes the frames writes them out.
  wangge::testing::TempDir dir;
  std::string path = dir / "t.db";
  Db writer(path, wangge::core::WalBufferVfs());
  REQUIRE(writer.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                      "PRAGMA wal_autocheckpoint=0; CREATE TABLE t(a, b)") ==
          SQLITE_OK);
  Db reader(path, nullptr);
  for (int round = 1; round <= 3; ++round) {
    REQUIRE(writer.Exec("BEGIN; INSERT INTO t VALUES (" +
                        std::to_string(round) +
                        ", randomblob(3000)); INSERT INTO t SELECT a + 100, "
                        "randomblob(200) FROM t; COMMIT") == SQLITE_OK);
    // Read through another connection, on the default VFS, while the
    // writer stays open: the frames must be in the -wal file.
    CHECK(reader.One("SELECT count(*) FROM t") ==
          writer.One("SELECT count(*) FROM t"));
    CHECK(reader.One("SELECT sum(length(b)) FROM t") ==
          writer.One("SELECT sum(length(b)) FROM t"));
  }
  CHECK(reader.One("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a commit returns only once its frames are in the file") {
  wangge::testing::TempDir dir;
  std::string path = dir / "t.db";
  {
    Db setup(path, nullptr);
    REQUIRE(setup.Exec("PRAGMA journal_mode=WAL; CREATE TABLE t(a)") ==
            SQLITE_OK);
  }
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Commit, then die without closing (which would write out the rest).
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE,
                    wangge::core::WalBufferVfs());
    int rc = sqlite3_exec(db,
                          "PRAGMA synchronous=FULL; BEGIN; "
                          "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); "
                          "COMMIT",
                          nullptr, nullptr, nullptr);
    _exit(rc == SQLITE_OK ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Db after(path, nullptr);
  CHECK(after.One("SELECT group_concat(a) FROM t") == "1,2");
  CHECK(after.One("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a transaction of megabytes is written whole") {
  // Past the 1 MiB gathering limit, and pieces past the 128 KiB that the
  // default VFS takes in one write.
  wangge::testing::TempDir dir;
  std::string path = dir / "t.db";
  Db writer(path, wangge::core::WalBufferVfs());
  REQUIRE(writer.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "CREATE TABLE t(a, b)") == SQLITE_OK);
  REQUIRE(writer.Rows(30000, "randomblob(100)") == SQLITE_OK);
  Db reader(path, nullptr);
  CHECK(reader.One("SELECT count(*) FROM t") == "30000");
  CHECK(reader.One("SELECT sum(a) FROM t") == "450015000");
  CHECK(reader.One("PRAGMA integrity_check") == "ok");
}

TEST_CASE(
    "pages spilled into the log, rewritten and rolled back come out right") {
  // A cache of 8 pages makes SQLite write frames before the commit, write
  // some of them again in place, and read them back for a rollback to a
  // savepoint: each of these needs what was gathered.
  wangge::testing::TempDir dir;
  std::string path = dir / "t.db";
  Db writer(path, wangge::core::WalBufferVfs());
  REQUIRE(
      writer.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                  "PRAGMA cache_size=8; CREATE TABLE t(a PRIMARY KEY, b)") ==
      SQLITE_OK);
  REQUIRE(writer.Exec("BEGIN") == SQLITE_OK);
  REQUIRE(writer.Rows(2000, "randomblob(300)") == SQLITE_OK);
  REQUIRE(writer.Exec("SAVEPOINT one") == SQLITE_OK);
  REQUIRE(writer.Exec("UPDATE t SET b = zeroblob(290) WHERE a % 3 = 0") ==
          SQLITE_OK);
  REQUIRE(writer.Exec("DELETE FROM t WHERE a > 1500") == SQLITE_OK);
  REQUIRE(writer.Exec("ROLLBACK TO one") == SQLITE_OK);
  REQUIRE(writer.Exec("RELEASE one") == SQLITE_OK);
  REQUIRE(writer.Exec("UPDATE t SET b = zeroblob(10) WHERE a % 7 = 0") ==
          SQLITE_OK);
  REQUIRE(writer.Exec("COMMIT") == SQLITE_OK);
  Db reader(path, nullptr);
  CHECK(reader.One("SELECT count(*) FROM t") == "2000");
  CHECK(reader.One("SELECT count(*) FROM t WHERE length(b) = 10") == "285");
  CHECK(reader.One("SELECT count(*) FROM t WHERE length(b) = 300") == "1715");
  CHECK(reader.One("PRAGMA integrity_check") == "ok");
}

TEST_CASE("frames of a rolled-back transaction never land on another's") {
  // A big transaction spills frames into the log, then rolls back; another
  // connection commits frames at the same offsets. Whatever the first still
  // held must not be written over them later (here: when it closes).
  wangge::testing::TempDir dir;
  std::string path = dir / "t.db";
  Db other(path, nullptr);
  REQUIRE(other.Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
                     "CREATE TABLE t(a, b)") == SQLITE_OK);
  // An empty log: the rollback then restores page 1 from the database
  // file, and reads nothing from the log that would write out the frames.
  REQUIRE(other.Exec("PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
  {
    Db spilling(path, wangge::core::WalBufferVfs());
    REQUIRE(spilling.Exec("PRAGMA cache_size=8; BEGIN") == SQLITE_OK);
    REQUIRE(spilling.Rows(3000, "randomblob(300)") == SQLITE_OK);
    REQUIRE(spilling.Exec("ROLLBACK") == SQLITE_OK);
    REQUIRE(other.Rows(500, "zeroblob(300)") == SQLITE_OK);
  }
  Db after(path, nullptr);
  CHECK(after.One("SELECT count(*) FROM t") == "500");
  CHECK(after.One("SELECT count(*) FROM t WHERE b = zeroblob(300)") == "500");
  CHECK(after.One("PRAGMA integrity_check") == "ok");
}
