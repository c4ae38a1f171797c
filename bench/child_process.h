#pragma once
// What the benchmarks that drive real processes share: a server child
// process (`wangge serve --listen 127.0.0.1:0 ...`) started, waited on until
// it says where it listens, and always stopped; a shell command with its
// output in a log; a bare HTTP GET for /healthz.
//
// The child's stderr goes to `log`. It is sent SIGTERM (SIGKILL after 10 s)
// by Stop() or the destructor, and SIGKILL by the kernel if the benchmark
// process dies first (PR_SET_PDEATHSIG), so it never outlives the run.
// Not thread-safe: one thread starts, queries and stops a child.
//
//   auto server = ChildProcess::Start({wangge, "serve", "--db", db,
//                                      "--listen", "127.0.0.1:0"},
//                                     dir + "/serve.log");
//   if (!server) return std::unexpected(server.error());
//   auto status = HttpGetStatus((*server)->port(), "/healthz");

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace wangge::bench {

struct ChildOptions {
  // How often the log is read for the "on http://127.0.0.1:PORT" line.
  std::chrono::milliseconds poll{25};
  // Fails (and kills the child) when it has not listened by then.
  std::chrono::seconds timeout{10};
};

// User + system CPU time of process `pid` so far, in clock ticks
// (sysconf(_SC_CLK_TCK) a second); -1 if /proc does not say.
int64_t CpuTicks(pid_t pid);

class ChildProcess {
 public:
  // Forks and execs argv[0] (a path) with `argv`, stderr to `log`, then waits
  // until the log names the port. Fails with kInternal quoting the log if
  // the child exits or stays silent past options.timeout.
  static Result<std::unique_ptr<ChildProcess>> Start(
      std::vector<std::string> argv, const std::string& log,
      ChildOptions options = {});
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // SIGTERM, then SIGKILL after 10 s; reaps the child. Idempotent.
  void Stop();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // When fork() was called.
  std::chrono::steady_clock::time_point spawned() const { return spawned_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::chrono::steady_clock::time_point spawned_;
};

// GET http://127.0.0.1:`port``path` over a fresh connection (HTTP/1.0);
// returns the status code. Fails with kUnavailable when the connection or
// the answer fails or takes longer than `timeout`.
Result<int> HttpGetStatus(
    int port, const std::string& path,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// The whole file, or "" when it cannot be read.
std::string Slurp(const std::string& path);
// 's' -> "'s'" for the shell (paths without quotes in them).
std::string Quote(const std::string& s);
// Runs `command` with sh; its stdout and stderr are appended to `log`.
// Fails with kInternal quoting the log when it exits non-zero.
Result<void> Shell(const std::string& command, const std::string& log);

}  // namespace wangge::bench
