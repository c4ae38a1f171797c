#include "core/case_writer.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/temp_dir.h"

namespace wangge::core {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

CaseRecord NewReport(int64_t user, int k) {
  return CaseRecord{.status = "reported",
                    .category = "04001",
                    .description = std::string(600, 'x'),
                    .lon = 110.2 + k * 1e-5,
                    .lat = 34.5,
                    .reported_at = "2026-11-30T08:00:00+08:00",
                    .received_at = "2026-11-30T08:00:00+08:00",
                    .reporter = user,
                    .idempotency_key = "k" + std::to_string(k),
                    .assignment = "{}"};
}

CaseEvent Reported(int64_t user) {
  return CaseEvent{.actor = user,
                   .at = "2026-11-30T08:00:00+08:00",
                   .to = "reported",
                   .action = "report"};
}

struct Db {
  TempDir dir;
  std::string path = dir / "town.db";
  std::unique_ptr<Store> store;
  int64_t user = 0;

  Db() {
    auto s = Store::Create(path);
    REQUIRE(s);
    store = std::move(*s);
    auto u = store->AddUser({.username = "gl", .role = "grid_leader"});
    REQUIRE(u);
    user = *u;
    REQUIRE(store->Checkpoint());  // the file holds everything so far
  }
  uintmax_t FileSize() const { return fs::file_size(path); }
};

TEST_CASE(
    "Store: with automatic checkpoints off, only Checkpoint() copies "
    "the log into the database file") {
  Db db;
  REQUIRE(db.store->AutoCheckpoint(false));
  uintmax_t before = db.FileSize();
  // Well over the 1,000 log pages at which a commit would checkpoint.
  for (int batch = 0; batch < 8; ++batch) {
    std::vector<Store::NewCase> cases;
    for (int k = 0; k < 500; ++k) {
      cases.push_back({NewReport(db.user, batch * 500 + k), Reported(db.user)});
    }
    for (const auto& r : db.store->InsertCases(cases)) REQUIRE(r);
  }
  CHECK(fs::file_size(db.path + "-wal") > 1000 * 4096);
  CHECK(db.store->LogPages() > 1000);  // the log as the last commit left it
  CHECK(db.FileSize() == before);
  auto log = db.store->Checkpoint();
  REQUIRE(log);
  CHECK(*log == db.store->LogPages());  // the log's length, in pages
  CHECK(db.FileSize() > before + 1000 * 4096);
  CHECK(db.store->SyncDatabaseFile());
}

TEST_CASE("Store: a connection's page cache is set in MiB, within bounds") {
  Db db;
  CHECK(db.store->CacheMiB(64) == 64);
  CHECK(db.store->CacheMiB(3) == 3);
  for (int64_t wrong : {0, -1, 4097}) {
    auto r = db.store->CacheMiB(wrong);
    REQUIRE(!r);
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(r.error().message.find("1-4096 MiB") != std::string::npos);
  }
}

TEST_CASE(
    "Store: a case refused in a batch (no such reporter) leaves the others "
    "stored, numbered without a gap") {
  Db db;
  std::vector<Store::NewCase> cases;
  for (int k = 1; k <= 5; ++k) {
    int64_t reporter = k == 3 ? 999 : db.user;  // 999: no such user
    cases.push_back({NewReport(reporter, k), Reported(db.user)});
  }
  auto results = db.store->InsertCases(cases);
  REQUIRE(results.size() == 5);
  std::vector<std::string> numbers;
  for (int k = 1; k <= 5; ++k) {
    const auto& r = results[size_t(k - 1)];
    CHECK_MESSAGE(bool(r) == (k != 3), "case " << k);
    if (r) numbers.push_back(r->record.number);
  }
  CHECK(numbers ==
        std::vector<std::string>{"TY-20261130-0001", "TY-20261130-0002",
                                 "TY-20261130-0003", "TY-20261130-0004"});
  CaseFilter all;
  all.limit = -1;
  auto stored = db.store->ListCases(all);
  REQUIRE(stored);
  CHECK(stored->size() == 4);
  // The batch after it numbers on.
  auto next =
      db.store->InsertCases({{NewReport(db.user, 6), Reported(db.user)}});
  REQUIRE(next.front());
  CHECK(next.front()->record.number == "TY-20261130-0005");
}

TEST_CASE("Store: briefs of cases by id, in the order asked, over statements") {
  Db db;
  std::vector<Store::NewCase> cases;
  for (int k = 1; k <= 40; ++k) {
    cases.push_back({NewReport(db.user, k), Reported(db.user)});
  }
  for (const auto& r : db.store->InsertCases(cases)) REQUIRE(r);
  // More ids than one statement takes (32), one unknown, one twice.
  std::vector<int64_t> ids = {40, 3, 999, 3};
  for (int64_t id = 1; id <= 36; ++id) ids.push_back(id);
  auto briefs = db.store->Briefs(ids);
  REQUIRE(briefs);
  REQUIRE(briefs->size() == ids.size() - 1);
  std::vector<int64_t> got;
  for (const auto& b : *briefs) got.push_back(b.id);
  ids.erase(ids.begin() + 2);  // 999
  CHECK(got == ids);
  CHECK(briefs->front().status == "reported");
  CHECK(briefs->front().lon == doctest::Approx(110.2 + 40 * 1e-5));
  CHECK(briefs->front().number.starts_with("TY-20261130-"));
  CHECK(db.store->Briefs({})->empty());
  // Briefs of a filter also carry the category and the time received.
  CaseFilter f;
  f.limit = -1;
  auto listed = db.store->ListBriefs(f);
  REQUIRE(listed);
  REQUIRE(listed->size() == 40);
  CHECK(listed->front().id == 40);  // newest first
  CHECK(listed->front().category == "04001");
  CHECK(listed->front().received_at == "2026-11-30T08:00:00+08:00");
}

// Nice values of this process's threads, from /proc/self/task/*/stat.
std::vector<int> ThreadNiceValues() {
  std::vector<int> out;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    // Fields after the command's closing parenthesis: state is field 3,
    // nice field 19.
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i < 19 && rest >> field; ++i) {
    }
    int nice = 0;
    if (rest >> nice) out.push_back(nice);
  }
  return out;
}

TEST_CASE("CaseWriter: the writer thread alone asks for a larger share") {
  Db db;
  auto count = [](const std::vector<int>& nice, int value) {
    return int(std::count(nice.begin(), nice.end(), value));
  };
  int before = count(ThreadNiceValues(), CaseWriter::kWriterNice);
  auto writer = CaseWriter::Open(db.path);
  REQUIRE(writer);
  // Permitted with CAP_SYS_NICE (bit 23 of the effective capabilities;
  // root has it unless a container took it away), or with an RLIMIT_NICE
  // that reaches the value.
  std::ifstream status("/proc/self/status");
  uint64_t caps = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) == 0)
      caps = std::stoull(line.substr(7), nullptr, 16);
  }
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NICE, &limit) == 0);
  bool allowed = (caps >> 23 & 1) || limit.rlim_cur == RLIM_INFINITY ||
                 20 - int64_t(limit.rlim_cur) <= CaseWriter::kWriterNice;
  CHECK((*writer)->raised_priority() == allowed);
  std::vector<int> nice = ThreadNiceValues();
  CHECK(count(nice, CaseWriter::kWriterNice) == before + (allowed ? 1 : 0));
  // This thread and the checkpointer keep the nice value the test runs at
  // (0, or more under `nice`).
  errno = 0;
  int own = getpriority(PRIO_PROCESS, id_t(gettid()));
  REQUIRE(errno == 0);
  CHECK(count(nice, own) >= 2);
}

TEST_CASE("CaseWriter: a second thread checkpoints after commits") {
  Db db;
  uintmax_t before = db.FileSize();
  auto writer = CaseWriter::Open(db.path);
  REQUIRE(writer);
  // Each Insert() is its own commit: far below the automatic threshold.
  for (int k = 0; k < 50; ++k) {
    REQUIRE((*writer)->Insert(NewReport(db.user, k), Reported(db.user)));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db.FileSize() == before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(db.FileSize() > before);
  auto counts = db.store->CountCasesByStatus();
  REQUIRE(counts);
  CHECK((*counts)["reported"] == 50);
}

TEST_CASE(
    "CaseWriter: under steady commits the log starts again once past its "
    "bound, instead of growing") {
  Db db;
  const int64_t bound = 200;
  auto writer = CaseWriter::Open(db.path, bound);
  REQUIRE(writer);
  // Four threads committing without pause: the checkpointer's copy never
  // finds the log all copied at the start of a write.
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 400; ++k) {
        if (!(*writer)->Insert(NewReport(db.user, t * 1000 + k),
                               Reported(db.user))) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed == 0);
  // The log file keeps the largest size it reached: 215 pages when this
  // test was written, 7,366 with the writer's restarts switched off.
  uintmax_t log = fs::file_size(db.path + "-wal");
  CHECK(log < 4 * 4096 * uintmax_t(bound));
  auto counts = db.store->CountCasesByStatus();
  REQUIRE(counts);
  CHECK((*counts)["reported"] == 1600);
}

TEST_CASE(
    "CaseWriter: the duplicate search finds cases stored before it opened "
    "and in earlier batches, and reads their status as it is now") {
  Db db;
  REQUIRE(db.store->InsertCase(NewReport(db.user, 1), Reported(db.user)));
  auto writer = CaseWriter::Open(db.path);
  REQUIRE(writer);
  Town town;  // no categories: the default radius, 250 m
  Time now = *ParseTime("2026-11-30T08:05:00+08:00");
  auto insert = [&](int k) {
    std::vector<PossibleDuplicate> found;
    auto stored = (*writer)->Insert(
        NewReport(db.user, k), Reported(db.user),
        [&](Store& s, RecentCases& recent, const Store::Inserted& in) {
          auto d = FindDuplicates(s, town, recent, in.record, now);
          REQUIRE(d);
          found = *d;
        });
    REQUIRE(stored);
    std::vector<int64_t> ids;
    for (const auto& d : found) ids.push_back(d.id);
    return ids;
  };
  CHECK(insert(2) == std::vector<int64_t>{1});
  CHECK(insert(3) == std::vector<int64_t>{2, 1});  // nearest first
  // Closed on another connection: no longer a possible duplicate.
  auto set_status = [&](const char* sql) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  };
  set_status("UPDATE cases SET status = 'closed' WHERE id = 2");
  CHECK(insert(4) == std::vector<int64_t>{3, 1});
  set_status("UPDATE cases SET status = 'reopened' WHERE id = 2");
  CHECK(insert(5) == std::vector<int64_t>{4, 3, 2, 1});
}

}  // namespace
}  // namespace wangge::core
