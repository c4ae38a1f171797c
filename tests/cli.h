#pragma once
// Helpers for tests that run programs as a user would: the `wangge`
// executable, GDAL's command-line tools, sqlite3, curl, xmllint.
//
// Commands go through /bin/sh; quote paths with Q(). Each call captures
// stdout and stderr in files of its own, so calls may run in parallel.
//
//   Run r = Wangge("locate --data " + Q(kTown) + " 110.2444 34.518");
//   REQUIRE_MESSAGE(r.status == 0, r.err);
//
//   std::string db = InitDb(dir);  // the sample town, boundary version 1
//   ServeProcess server(db, dir / "log");
//   httplib::Client http("127.0.0.1", server.port());
//
// Wangge(), InitDb(), kTown and ServeProcess need WANGGE_BIN (the path of the
// executable, which tools_test defines); the rest works in any test.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/temp_dir.h"

namespace wangge::testing {

// What a finished command left: its exit status (-1 if a signal ended it),
// its stdout and its stderr.
struct Run {
  int status = -1;
  std::string out, err;
};

// The bytes of the file at `path`; empty if it cannot be read.
inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `s` in single quotes for the shell. REQUIRES: `s` holds no single quote.
inline std::string Q(const std::string& s) { return "'" + s + "'"; }

inline bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The names of the entries of `dir`, sorted.
inline std::vector<std::string> Listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `command` with /bin/sh, `input` on its stdin, and captures its stdout
// and stderr. Redirections inside `command` take precedence (`2>&1` puts
// stderr in `out`, `<file` replaces `input`).
inline Run Sh(const std::string& command, const std::string& input = "") {
  TempDir io;
  std::string in = io.Write("stdin", input);
  std::string cmd = "{ " + command + "\n} <" + Q(in) + " >" + Q(io / "stdout") +
                    " 2>" + Q(io / "stderr");
  int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, Slurp(io / "stdout"),
          Slurp(io / "stderr")};
}

#ifdef WANGGE_BIN

// The sample town's folder (data/taiyao).
inline const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

// Runs `wangge ARGS` (ARGS as the shell reads them), `input` on its stdin.
inline Run Wangge(const std::string& args, const std::string& input = "") {
  return Sh(Q(WANGGE_BIN) + " " + args, input);
}

// `wangge init` of the sample town as `dir / name`; returns its path. The
// test stops if init fails.
inline std::string InitDb(const TempDir& dir,
                          const std::string& name = "town.db") {
  std::string db = dir / name;
  Run init = Wangge("init --db " + Q(db) + " --data " + Q(kTown));
  REQUIRE_MESSAGE(init.status == 0, init.err);
  return db;
}

// `wangge serve --db DB --listen 127.0.0.1:0 --threads N` as a child process
// on a free port, its stderr appended to `log`. The constructor returns once
// the server has logged the port it listens on, and stops the test (killing
// the child) if that takes over 10 s or the child exits first. The destructor
// kills a server still running with SIGKILL.
//
//   ServeProcess server(db, dir / "log");
//   httplib::Client http("127.0.0.1", server.port());
//   CHECK(server.Stop(SIGTERM) == 0);  // a clean shutdown
class ServeProcess {
 public:
  ServeProcess(const std::string& db, const std::string& log, int threads = 4) {
    std::string thread_count = std::to_string(threads);
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "a", stderr);
      (void)out;
      execl(WANGGE_BIN, WANGGE_BIN, "serve", "--db", db.c_str(), "--listen",
            "127.0.0.1:0", "--threads", thread_count.c_str(), nullptr);
      _exit(127);
    }
    REQUIRE(pid_ > 0);
    // Wait for "on http://127.0.0.1:PORT/".
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text = Slurp(log);
      if (auto at = text.rfind("on http://127.0.0.1:");
          at != std::string::npos) {
        port_ = std::atoi(text.c_str() + at + 20);
      } else if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;  // exited without listening
        break;
      }
    }
    if (port_ == 0 && pid_ > 0) Stop(SIGKILL);
    REQUIRE_MESSAGE(port_ > 0, Slurp(log));
  }
  ~ServeProcess() {
    if (pid_ > 0) Stop(SIGKILL);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }

  // Sends `signal`, waits for the server to end and returns its exit status,
  // or minus the signal that ended it. REQUIRES: not stopped yet.
  int Stop(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

#endif  // WANGGE_BIN

}  // namespace wangge::testing
