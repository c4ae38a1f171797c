#pragma once
// CaseWriter: group commit for intake. Many threads hand it new cases; one
// writer thread with its own connection stores whatever has queued up in a
// single durable transaction (Store::InsertCases) and then wakes each
// caller with its own result. A caller is answered only after the commit
// holding its case is durable, so "acknowledged" still means "survives
// power loss", while one fsync serves many reports.
//
// The writer's connection never checkpoints the write-ahead log itself: a
// second thread with its own connection does, after commits (at most every
// kCheckpointPause), so a batch never waits for a checkpoint's copying and
// fsync. Under steady intake that copy never quite catches up, and the log
// only starts again from its beginning at a write that finds all of it
// copied: once the log passes `log_restart_pages` and the checkpointer has
// copied what it could, the writer copies the rest itself after a commit,
// and its next commit starts the log afresh. The checkpointer syncs the
// database file after each of its copies, so that no sync (the writer's
// included) has more than a copy's pages to write.
//
// Insert() is safe from many threads. The destructor finishes the queued
// work, then stops the threads.
//
//   auto writer = CaseWriter::Open("town.db");
//   auto stored = (*writer)->Insert(record, first_event);  // blocks

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "core/duplicates.h"
#include "core/store.h"

namespace wangge::core {

class CaseWriter {
 public:
  // 256 MiB of 4 KiB pages. Each restart stalls the writer (it copies what
  // the checkpointer has not and syncs the database file): 5-24 ms in
  // session 11, when at 64 MiB that came about twice a second under `bench
  // intake` and showed in its p99 (alternating runs: 63.3 / 26.9 ms against
  // 21.5 / 22.6); 4-5 ms for its sync since the checkpointer syncs too.
  static constexpr int64_t kLogRestartPages = 65536;

  // The writer thread asks for this nice value: it is intake's serial part,
  // and under `bench intake` it waited for a core a quarter of its time
  // behind the request threads and wrk (7.5-11% at -10). Eight alternating
  // 10 s runs each: 6,678-8,212 reports/s (median 7,854) against
  // 5,988-9,425 (median 6,790), six of the eight pairs higher. Needs
  // CAP_SYS_NICE (root, or systemd's AmbientCapabilities=CAP_SYS_NICE) or
  // an RLIMIT_NICE of at least 30; without it the writer keeps the default.
  static constexpr int kWriterNice = -10;

  // Opens its own connection to the database at `path`.
  static Result<std::unique_ptr<CaseWriter>> Open(
      const std::string& path, int64_t log_restart_pages = kLogRestartPages);
  ~CaseWriter();

  // Runs on the writer thread, with its connection and the recent cases it
  // keeps (which include the batch's new ones), after the commit that holds
  // the case and before Insert() returns: reads there find a warm page cache
  // (request threads' connections lose theirs at every commit).
  using AfterCommit =
      std::function<void(Store&, RecentCases&, const Store::Inserted&)>;

  // As Store::InsertCase, through the next group commit; then `after`, if
  // given and the case was stored.
  Result<Store::Inserted> Insert(const CaseRecord& record,
                                 const CaseEvent& first,
                                 AfterCommit after = nullptr);

  // Largest batch yet (for tests and metrics).
  size_t max_batch() const;

  // Whether the writer thread got kWriterNice (waits until it has tried).
  bool raised_priority() const;

 private:
  struct Job;
  CaseWriter(std::unique_ptr<Store> store, std::unique_ptr<Store> checkpointer,
             int64_t log_restart_pages);
  void Loop();
  // Tells recent_ of the batch's new cases.
  void RememberNew(const std::vector<Store::NewCase>& cases,
                   const std::vector<Result<Store::Inserted>>& done);
  void CheckpointLoop();
  // After a commit: if the log has passed log_restart_pages_, copies it
  // into the database so that the next commit starts it again.
  void RestartLogIfLong();

  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> checkpointer_;
  // Writer thread only. Loaded at the first batch, from its clock (tests
  // run on clocks of their own).
  RecentCases recent_;
  bool recent_loaded_ = false;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable checkpoint_wake_;
  int64_t unsaved_commits_ = 0;  // commits since the last checkpoint began
  const int64_t log_restart_pages_;
  // Writer thread only: the log's size at which the writer copies it.
  int64_t restart_at_;
  // Set by the checkpointer after a copy with the log past the bound; taken
  // by the writer's copy (RestartLogIfLong).
  std::atomic<bool> restart_ready_{false};
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  size_t max_batch_ = 0;
  // Set by the writer thread once it has asked for kWriterNice.
  std::promise<bool> priority_;
  std::shared_future<bool> priority_raised_ = priority_.get_future().share();
  std::thread thread_;
  std::thread checkpoint_thread_;
};

}  // namespace wangge::core
