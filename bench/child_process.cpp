#include "bench/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace wangge::bench {

using Clock = std::chrono::steady_clock;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

Result<void> Shell(const std::string& command, const std::string& log) {
  int raw =
      std::system(("(" + command + ") >>" + Quote(log) + " 2>&1").c_str());
  if (!WIFEXITED(raw) || WEXITSTATUS(raw) != 0) {
    return Fail(ErrorCode::kInternal,
                "`" + command + "` failed: " + Slurp(log));
  }
  return {};
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    std::vector<std::string> argv, const std::string& log,
    ChildOptions options) {
  std::unique_ptr<ChildProcess> c(new ChildProcess);
  // Emptied before the fork, so that what an earlier child wrote there is
  // never taken for this one's port.
  if (!std::ofstream(log, std::ios::trunc)) {
    return Fail(ErrorCode::kInternal, "cannot write " + log);
  }
  pid_t parent = getpid();
  c->spawned_ = Clock::now();
  c->pid_ = fork();
  if (c->pid_ < 0) {
    return Fail(ErrorCode::kInternal,
                std::string("cannot fork: ") + std::strerror(errno));
  }
  if (c->pid_ == 0) {
    // Killed with the benchmark, even by SIGKILL (e.g. a CTest timeout).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  auto deadline = c->spawned_ + options.timeout;
  while (c->port_ == 0) {
    std::this_thread::sleep_for(options.poll);
    std::string text = Slurp(log);
    auto at = text.find("on http://127.0.0.1:");
    if (at != std::string::npos) c->port_ = std::atoi(text.c_str() + at + 20);
    if (c->port_ != 0) break;
    if (waitpid(c->pid_, nullptr, WNOHANG) == c->pid_) {
      c->pid_ = -1;
      return Fail(ErrorCode::kInternal, "the server exited: " + Slurp(log));
    }
    if (Clock::now() > deadline) {
      c->Stop();
      return Fail(ErrorCode::kInternal,
                  "the server did not listen within " +
                      std::to_string(options.timeout.count()) +
                      " s: " + Slurp(log));
    }
  }
  return c;
}

void ChildProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int64_t CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string skip;
  // Fields 3..13, then utime (14) and stime (15).
  for (int i = 3; i <= 13; ++i) rest >> skip;
  int64_t utime = 0, stime = 0;
  if (!(rest >> utime >> stime)) return -1;
  return utime + stime;
}

Result<int> HttpGetStatus(int port, const std::string& path,
                          std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto unavailable = [&](const std::string& why) {
    return Fail(
        ErrorCode::kUnavailable,
        "GET http://127.0.0.1:" + std::to_string(port) + path + ": " + why);
  };
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return unavailable(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Waits until fd is ready for `events` or the deadline passes.
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    return poll(&p, 1, int(left.count())) == 1 && (p.revents & events);
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return unavailable(std::strerror(errno));
    if (!wait(POLLOUT)) return unavailable("connect timed out");
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return unavailable(std::strerror(err));
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    if (!wait(POLLOUT)) return unavailable("send timed out");
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return unavailable(std::strerror(errno));
    if (n > 0) sent += size_t(n);
  }
  std::string answer;
  char buf[512];
  while (answer.find("\r\n") == std::string::npos) {
    if (!wait(POLLIN)) return unavailable("no answer in time");
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0 && errno != EAGAIN) return unavailable(std::strerror(errno));
    if (n > 0) answer.append(buf, size_t(n));
  }
  int status = 0;
  if (std::sscanf(answer.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    return unavailable("not an HTTP answer: " + answer.substr(0, 80));
  }
  return status;
}

}  // namespace wangge::bench
