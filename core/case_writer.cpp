#include "core/case_writer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/fiber.h"

namespace wangge::core {

// Batches larger than this wait for the next commit.
constexpr size_t kMaxBatch = 512;
// The writer's own page cache. Its inserts land on random leaves of the
// idempotency-key index, and a page it has evicted comes back by pread()
// from the write-ahead log (session 3: 3,263 and 2,693 reports/s with
// SQLite's 2 MiB, 3,489 and 3,138 with 64 MiB). But a commit whose batch
// split a b-tree page walks the cache's whole hash table, a division a
// bucket: the split renumbers a page through the pending-byte page
// (262,145), and the cache's largest key stays there until the commit
// truncates past it (README, sessions 14 and 20). At 64 MiB, 16,384
// buckets, that walk was 4.8% of the server's CPU samples. At 8 MiB the
// writer thread's CPU a report was lower in each of six alternating pairs
// of 10 s runs (medians 58 µs against 70), with no more pread() a report
// (0.74 both); the server's total CPU and throughput stayed within the
// noise (as with 16 MiB in session 14), and the writer holds 56 MiB less.
constexpr int64_t kWriterCacheMiB = 8;
// Checkpoints start at most this often (each one fsyncs the database file).
constexpr auto kCheckpointPause = std::chrono::milliseconds(100);

struct CaseWriter::Job {
  Store::NewCase input;
  AfterCommit after;
  std::optional<Result<Store::Inserted>> result;  // set before `done`
  // On the server's fibers, a wait that holds no thread (base/fiber.h).
  fiber::Event done;
};

Result<std::unique_ptr<CaseWriter>> CaseWriter::Open(
    const std::string& path, int64_t log_restart_pages) {
  auto store = Store::Open(path);
  if (!store) return std::unexpected(store.error());
  if (auto ok = (*store)->AutoCheckpoint(false); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = (*store)->CacheMiB(kWriterCacheMiB); !ok) {
    return std::unexpected(ok.error());
  }
  auto checkpointer = Store::Open(path);
  if (!checkpointer) return std::unexpected(checkpointer.error());
  return std::unique_ptr<CaseWriter>(new CaseWriter(
      std::move(*store), std::move(*checkpointer), log_restart_pages));
}

CaseWriter::CaseWriter(std::unique_ptr<Store> store,
                       std::unique_ptr<Store> checkpointer,
                       int64_t log_restart_pages)
    : store_(std::move(store)),
      checkpointer_(std::move(checkpointer)),
      log_restart_pages_(log_restart_pages),
      restart_at_(log_restart_pages),
      thread_([this] { Loop(); }),
      checkpoint_thread_([this] { CheckpointLoop(); }) {}

CaseWriter::~CaseWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  checkpoint_wake_.notify_all();
  thread_.join();
  checkpoint_thread_.join();
}

size_t CaseWriter::max_batch() const {
  std::lock_guard lock(mu_);
  return max_batch_;
}

Result<Store::Inserted> CaseWriter::Insert(const CaseRecord& record,
                                           const CaseEvent& first,
                                           AfterCommit after) {
  // Shared with the writer, which may still hold it after setting `done`.
  auto job = std::make_shared<Job>();
  job->input = {record, first};
  job->after = std::move(after);
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return Fail(ErrorCode::kUnavailable, "the server is shutting down");
    }
    queue_.push_back(job);
  }
  wake_.notify_all();
  job->done.Wait();
  return std::move(*job->result);
}

bool CaseWriter::raised_priority() const { return priority_raised_.get(); }

void CaseWriter::Loop() {
  // This thread only (on Linux a nice value belongs to a thread).
  priority_.set_value(setpriority(PRIO_PROCESS, id_t(gettid()), kWriterNice) ==
                      0);
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::vector<std::shared_ptr<Job>> batch;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    max_batch_ = std::max(max_batch_, batch.size());
    lock.unlock();
    std::vector<Store::NewCase> cases;
    cases.reserve(batch.size());
    for (const auto& j : batch) cases.push_back(std::move(j->input));
    auto results = store_->InsertCases(cases);
    RememberNew(cases, results);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i]->after || !results[i]) continue;
      try {
        batch[i]->after(*store_, recent_, *results[i]);
      } catch (const std::exception&) {
        // The hook's work is advisory (e.g. possible duplicates); the case
        // is stored and its caller must still be answered.
      }
    }
    lock.lock();
    // Only the first: the checkpointer, in its pause, would wake at each
    // commit to sleep again (300 times a second under load).
    if (++unsaved_commits_ == 1) checkpoint_wake_.notify_one();
    lock.unlock();
    // The server's callers are fibers: setting each makes it ready on its
    // thread, which wakes only if it slept.
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move(results[i]);
      batch[i]->done.Set();
    }
    RestartLogIfLong();
    lock.lock();
  }
}

void CaseWriter::RestartLogIfLong() {
  int64_t pages = store_->LogPages();
  if (pages < log_restart_pages_) {
    restart_at_ = log_restart_pages_;  // it started again
    // A copy the checkpointer finished on the log before is no help with
    // the next.
    restart_ready_ = false;
    return;
  }
  if (pages < restart_at_) return;
  // Waits for the checkpointer to have copied and synced what it could with
  // the log past the bound (unless it has fallen half a bound behind), so
  // that this copy and its sync are short and the checkpoint is not busy.
  if (!restart_ready_.exchange(false) &&
      pages < restart_at_ + log_restart_pages_ / 2) {
    return;
  }
  // Copies what the checkpointer has not yet, so that the next batch's first
  // write finds the log all copied and starts it again. `bench intake`
  // without this: a 600 MB log after 10 s, every commit growing the file.
  // The checkpointer's own copy running (the checkpoint is busy then), or a
  // reader still on old pages, can keep it from starting again: then try
  // again a quarter of the bound later.
  (void)store_->Checkpoint();
  restart_at_ = pages + std::max<int64_t>(1, log_restart_pages_ / 4);
}

void CaseWriter::RememberNew(const std::vector<Store::NewCase>& cases,
                             const std::vector<Result<Store::Inserted>>& done) {
  if (!recent_loaded_) {
    // Once, from the earliest report of the first batch: the cases stored
    // within the window before it, this batch's included.
    std::string earliest = cases.front().record.received_at;
    for (const auto& c : cases) {
      earliest = std::min(earliest, c.record.received_at);
    }
    auto at = ParseTime(earliest);
    recent_loaded_ = at && recent_.Load(*store_, *at - kDuplicateWindow);
    return;  // if not loaded, the next batch tries again
  }
  // Once a batch: the writer's own commits leave the version as it was, so
  // a change shows another connection's writes, and what the writer stored
  // is current at the version its transaction saw (read in it, which takes
  // no locking of its own; a batch with nothing stored reads it here).
  Result<int64_t> seen = 0;
  auto stored = std::find_if(done.begin(), done.end(), [](const auto& d) {
    return d && d->data_version;
  });
  if (stored != done.end()) {
    seen = (*stored)->data_version;
  } else {
    seen = store_->DataVersion();
  }
  if (!seen) {
    recent_loaded_ = false;  // loaded again with the next batch
    recent_ = RecentCases();
    return;
  }
  recent_.Saw(*seen);
  for (const auto& d : done) {
    if (d && !d->existed) recent_.Add(d->record);
  }
}

void CaseWriter::CheckpointLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    checkpoint_wake_.wait(lock,
                          [&] { return stopping_ || unsaved_commits_ > 0; });
    // On stopping, closing the last connection checkpoints what is left.
    if (stopping_) return;
    unsaved_commits_ = 0;
    lock.unlock();
    // A failure leaves the log longer; the next checkpoint tries again, and
    // commits report the disk's trouble themselves.
    auto log = checkpointer_->Checkpoint();
    // Each copy goes to disk at once. SQLite syncs the database file only
    // when a copy reaches the log's end, which under steady intake is the
    // writer's copy before the log starts again: that sync then wrote all
    // the pages copied since the last, and every commit's log sync waited
    // behind it (in one run, 61-93 ms each time, the commits' 52-75 ms).
    // Three alternating pairs of 10 s runs against the binary before, wrk's
    // p99: 14.7-19.1 ms against 60.8-75.7, at 10,756-11,608 reports/s
    // against 10,781-12,525, with 4% more bytes written (README, Intake).
    if (log && *log > 0 && checkpointer_->SyncDatabaseFile() &&
        *log >= log_restart_pages_) {
      // What came in during the sync, so that the writer's copy is short.
      (void)checkpointer_->Checkpoint();
      restart_ready_ = true;
    }
    lock.lock();
    checkpoint_wake_.wait_for(lock, kCheckpointPause,
                              [&] { return stopping_; });
  }
}

}  // namespace wangge::core
