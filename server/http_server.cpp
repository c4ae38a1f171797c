#include "server/http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/code.h"
#include "base/fiber.h"
#include "base/histogram.h"

namespace wangge::server {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

std::string LocalTimestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One connection's socket as cpp-httplib's request parser and response
// writer see it. Debian's compiled cpp-httplib 0.11.4 polls before every
// read and every send, sends a response's status line and headers in one
// send() and its body in another (two TCP segments, two wake-ups of the
// client, each delivered through loopback on the sending thread) and waits
// for a keep-alive connection's next request in 10 ms polls with 1 ms sleeps
// between them. This stream reads without a poll while bytes are waiting,
// collects what a request writes and sends it at once when the request is
// answered — or before it has to wait for more of the request, as a
// "100 Continue" must reach the client before the client sends the body.
//
// Between requests it reads the next request's head (up to its blank line)
// itself, so that a fiber is only started for a request it can parse
// without waiting for the client (ReadHead). Its waits for the client are
// fiber::Poll: on a fiber they hold no thread.
class ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // What ReadHead found.
  enum class Head {
    kIn,     // a whole request head is buffered
    kLater,  // nothing yet, or part of a head: wait for more
    kGone,   // the client closed or failed, or the server is stopping
  };

  ConnectionStream(socket_t sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms) {
    // Once per connection, not per request.
    Name(getpeername, remote_ip_, remote_port_);
    Name(getsockname, local_ip_, local_port_);
    // The kernel's receive time comes with each read (ArrivedAt).
    int on = 1;
    setsockopt(sock_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }
  ~ConnectionStream() override {
    ::shutdown(sock_, SHUT_RDWR);
    ::close(sock_);
  }
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  bool is_readable() const override {
    return in_begin_ < in_end_ || Poll(POLLIN, read_timeout_ms_) > 0;
  }
  bool is_writable() const override {
    return !failed_ && Poll(POLLOUT, 0) >= 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (in_begin_ == in_end_) {
      if (!Flush()) return -1;
      // Most requests are in the buffer already; wait only when not (on a
      // fiber: the thread serves other connections meanwhile).
      ssize_t n;
      while ((n = Fill(MSG_DONTWAIT)) < 0 &&
             (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (Poll(POLLIN, read_timeout_ms_) <= 0) return -1;
      }
      if (n <= 0) return n;
    }
    size_t n = std::min(size, in_end_ - in_begin_);
    std::memcpy(ptr, in_.get() + in_begin_, n);
    in_begin_ += n;
    return ssize_t(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (failed_) return -1;
    if (out_.size() + size > kOutLimit) {
      if (!Flush()) return -1;
      if (size > kOutLimit) return SendAll(ptr, size) ? ssize_t(size) : -1;
    }
    out_.append(ptr, size);
    return ssize_t(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return sock_; }

  // Sends what the request wrote; false when the client is gone.
  bool Flush() {
    if (out_.empty()) return !failed_;
    bool ok = SendAll(out_.data(), out_.size());
    out_.clear();
    return ok;
  }

  // Reads until a whole request head is buffered, waiting at most
  // `timeout_ms` (0: only what has arrived) in slices, so that a stopping
  // server (`stopping` turns true) lets the connection go within one slice.
  Head ReadHead(int timeout_ms, const std::function<bool()>& stopping) {
    const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    constexpr int kSliceMs = 200;
    while (!HeadIn()) {
      int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                         until - Clock::now())
                         .count());
      int ready = Poll(POLLIN, std::clamp(left, 0, kSliceMs));
      if (ready < 0) return Head::kGone;
      if (ready == 0) {
        if (left <= kSliceMs) return Head::kLater;
        if (stopping()) return Head::kGone;
        continue;
      }
      ssize_t n = Fill(MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                     errno != EINTR)) {
        return Head::kGone;
      }
    }
    return Head::kIn;
  }

  // Whether part of a request has been read, and when its first bytes
  // reached the machine: the kernel's receive time where it gave one, so
  // that a request waiting in the socket while every thread was busy
  // counts that wait.
  bool Started() const { return in_begin_ < in_end_; }
  Clock::time_point started_at() const { return started_at_; }

  // Lets go of the buffers while the connection waits without a thread
  // (a town's thousands of idle phones and browser tabs).
  void Trim() {
    out_ = std::string();
    if (!Started()) in_.reset();
  }

 private:
  static constexpr size_t kInSize = 16 << 10;
  static constexpr size_t kOutLimit = 64 << 10;

  // A request line and headers up to their blank line (CRLF, or LF as some
  // clients send), or a full buffer: cpp-httplib then reads on and answers
  // an over-long head itself.
  bool HeadIn() const {
    std::string_view buffered(in_.get() + in_begin_, in_end_ - in_begin_);
    return buffered.size() >= kInSize ||
           buffered.find("\n\r\n") != std::string_view::npos ||
           buffered.find("\n\n") != std::string_view::npos;
  }

  template <class GetName>
  void Name(GetName get, std::string& ip, int& port) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (get(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host,
                    serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host;
      port = std::atoi(serv);
    }
  }

  int Poll(short events, int timeout_ms) const {
    return fiber::Poll(sock_, events, timeout_ms);
  }

  // Appends what is there to the buffered bytes: recv()'s result.
  ssize_t Fill(int flags) {
    if (!in_) in_ = std::make_unique_for_overwrite<char[]>(kInSize);
    if (in_begin_ == in_end_) {
      in_begin_ = in_end_ = 0;
    } else if (in_end_ == kInSize) {
      std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    const bool fresh = in_begin_ == in_end_;  // a request may begin here
    iovec into{in_.get() + in_end_, kInSize - in_end_};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &into;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = fresh ? ::recvmsg(sock_, &msg, flags)
                : ::recv(sock_, into.iov_base, into.iov_len, flags);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      if (fresh) started_at_ = ArrivedAt(msg);
      in_end_ += size_t(n);
    }
    return n;
  }

  // The receive time SO_TIMESTAMPNS put in `msg` (the wall clock), as a
  // time on Clock; now if there is none or it is not plausible.
  static Clock::time_point ArrivedAt(msghdr& msg) {
    auto now = Clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) {
        continue;
      }
      timespec at, wall;
      std::memcpy(&at, CMSG_DATA(c), sizeof at);
      clock_gettime(CLOCK_REALTIME, &wall);
      auto age = std::chrono::seconds(wall.tv_sec - at.tv_sec) +
                 std::chrono::nanoseconds(wall.tv_nsec - at.tv_nsec);
      // A wall clock stepped meanwhile gives a negative or absurd age.
      if (age > Clock::duration::zero() && age < std::chrono::minutes(10)) {
        return now - std::chrono::duration_cast<Clock::duration>(age);
      }
    }
    return now;
  }

  // Waits for room (a slow phone taking an export) at most the write
  // timeout each time.
  bool SendAll(const char* data, size_t size) {
    while (size > 0 && !failed_) {
      ssize_t n = ::send(sock_, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          Poll(POLLOUT, write_timeout_ms_) > 0) {
        continue;
      }
      if (n <= 0) {
        failed_ = true;
        break;
      }
      data += n;
      size -= size_t(n);
    }
    return !failed_;
  }

  socket_t sock_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  std::unique_ptr<char[]> in_;  // kInSize bytes, or none while parked
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  Clock::time_point started_at_;
  std::string out_;
  bool failed_ = false;
  std::string remote_ip_;
  int remote_port_ = 0;
  std::string local_ip_;
  int local_port_ = 0;
};

// An open connection and the requests it may still make; closed when
// destroyed.
struct Connection {
  Connection(socket_t sock, int read_timeout_ms, int write_timeout_ms,
             size_t requests, std::atomic<int64_t>& open)
      : stream(sock, read_timeout_ms, write_timeout_ms),
        requests_left(requests),
        open_(open) {
    ++open_;
  }
  ~Connection() { --open_; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ConnectionStream stream;
  size_t requests_left;
  // While parked: closed unless a whole request head is in by then.
  ConnectionStream::Clock::time_point deadline;

 private:
  std::atomic<int64_t>& open_;  // the server's count of open connections
};

// Connections between requests, held without a thread: one epoll thread
// watches them and hands each back (`resume`) once a whole request head
// has arrived. A thread per open connection, as cpp-httplib has it, let 64
// idle keep-alive connections (a few browsers) or 64 phones trickling a
// request make every other client wait for seconds.
class Parking {
 public:
  using Clock = ConnectionStream::Clock;
  using Resume = std::function<void(std::unique_ptr<Connection>)>;

  Parking(Resume resume, int idle_ms, int head_ms, size_t limit)
      : epoll_(epoll_create1(EPOLL_CLOEXEC)),
        resume_(std::move(resume)),
        idle_ms_(idle_ms),
        head_ms_(head_ms),
        limit_(limit),
        thread_([this] { Loop(); }) {}
  ~Parking() {
    Stop();
    ::close(epoll_);
  }

  // Takes `conn` until its next request head is in; closes it at once when
  // the server is stopping or `limit` connections wait already.
  void Park(std::unique_ptr<Connection> conn) {
    auto now = Clock::now();
    conn->deadline =
        conn->stream.Started()
            ? conn->stream.started_at() + std::chrono::milliseconds(head_ms_)
            : now + std::chrono::milliseconds(idle_ms_);
    if (conn->deadline <= now) return;  // the head took too long: closed
    conn->stream.Trim();
    std::lock_guard lock(mu_);
    if (stopping_ || parked_.size() >= limit_) return;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.ptr = conn.get();
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, conn->stream.socket(), &event) != 0) {
      return;
    }
    Connection* key = conn.get();
    parked_.emplace(key, std::move(conn));
  }

  // Closes every parked connection; later ones are closed as they come.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    thread_.join();
    std::lock_guard lock(mu_);
    parked_.clear();
  }

  size_t parked() const {
    std::lock_guard lock(mu_);
    return parked_.size();
  }

 private:
  // Takes `key` out of the parked set; null if it is not there.
  std::unique_ptr<Connection> Unpark(Connection* key) {
    std::lock_guard lock(mu_);
    auto it = parked_.find(key);
    if (it == parked_.end()) return nullptr;
    std::unique_ptr<Connection> conn = std::move(it->second);
    parked_.erase(it);
    epoll_ctl(epoll_, EPOLL_CTL_DEL, conn->stream.socket(), nullptr);
    return conn;
  }

  void Loop() {
    constexpr int kWaitMs = 200;
    auto next_sweep = Clock::now() + std::chrono::seconds(1);
    std::vector<epoll_event> events(256);
    for (;;) {
      int n = epoll_wait(epoll_, events.data(), int(events.size()), kWaitMs);
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      for (int i = 0; i < n; ++i) {
        auto conn = Unpark(static_cast<Connection*>(events[i].data.ptr));
        if (!conn) continue;
        switch (conn->stream.ReadHead(0, [] { return false; })) {
          case ConnectionStream::Head::kIn:
            resume_(std::move(conn));
            break;
          case ConnectionStream::Head::kLater:
            Park(std::move(conn));
            break;
          case ConnectionStream::Head::kGone:
            break;  // closed here
        }
      }
      if (auto now = Clock::now(); now >= next_sweep) {
        Sweep(now);
        next_sweep = now + std::chrono::seconds(1);
      }
    }
  }

  // Closes the connections whose deadline has passed.
  void Sweep(Clock::time_point now) {
    std::vector<std::unique_ptr<Connection>> expired;  // closed unlocked
    std::lock_guard lock(mu_);
    for (auto it = parked_.begin(); it != parked_.end();) {
      if (it->second->deadline <= now) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->stream.socket(), nullptr);
        expired.push_back(std::move(it->second));
        it = parked_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const int epoll_;
  const Resume resume_;
  const int idle_ms_;
  const int head_ms_;
  const size_t limit_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> parked_;
  std::thread thread_;  // last: starts once the rest is set
};

// cpp-httplib's server with its connection loop replaced (see
// ConnectionStream and Parking): parsing, routing and writing stay
// cpp-httplib's. A fiber serves a connection while its requests keep coming,
// waits kLingerMs for the next one, and then parks it. The fibers' waits
// (fiber::Poll in the stream, fiber::Event in the group commit) hold no
// thread.
class HttpServer final : public httplib::Server {
 public:
  // A browser's next request on a page, or a phone's next report, is
  // usually within this; a longer wait keeps a fiber and its buffers for a
  // client that may have gone quiet.
  static constexpr int kLingerMs = 50;

  explicit HttpServer(int threads) : threads_(std::max(1, threads)) {
    new_task_queue = [this] { return new Workers(*this, size_t(threads_)); };
  }

  // Prometheus text: connections on a worker and waiting without one.
  std::string MetricsText() const {
    Workers* workers = workers_.load();
    int64_t waiting = workers ? int64_t(workers->parking().parked()) : 0;
    int64_t open = open_.load();
    return "# HELP wangge_http_connections Open HTTP connections: being "
           "served, or waiting for a request.\n"
           "# TYPE wangge_http_connections gauge\n"
           "wangge_http_connections{state=\"serving\"} " +
           std::to_string(std::max<int64_t>(0, open - waiting)) +
           "\n"
           "wangge_http_connections{state=\"waiting\"} " +
           std::to_string(waiting) +
           "\n"
           "# HELP wangge_http_worker_threads Threads running the request "
           "fibers.\n"
           "# TYPE wangge_http_worker_threads gauge\n"
           "wangge_http_worker_threads " +
           std::to_string(threads_) + "\n" + ResponseHistogram();
  }

 private:
  // The fibers and the parking of the connections between requests.
  class Workers final : public httplib::TaskQueue {
   public:
    Workers(HttpServer& server, size_t threads)
        : server_(server),
          pool_(threads),
          parking_(
              [this](std::unique_ptr<Connection> conn) {
                auto* resumed = conn.release();
                if (!pool_.Spawn([this, resumed] {
                      server_.Serve(std::unique_ptr<Connection>(resumed));
                    })) {
                  delete resumed;  // stopping: closed
                }
              },
              server.keep_alive_timeout_sec_ * 1000,
              int(server.read_timeout_sec_ * 1000 +
                  server.read_timeout_usec_ / 1000),
              ParkingLimit()) {
      server_.workers_ = this;
    }
    ~Workers() override { server_.workers_ = nullptr; }
    void enqueue(std::function<void()> fn) override {
      // Only while listening: the pool stops after the listening does.
      pool_.Spawn(std::move(fn));
    }
    void shutdown() override {
      parking_.Stop();
      pool_.Shutdown();
    }
    Parking& parking() { return parking_; }

   private:
    HttpServer& server_;
    fiber::Pool pool_;
    Parking parking_;
  };

  // Room for connections within the open-file limit (Run raises it).
  static size_t ParkingLimit() {
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 512;
    constexpr rlim_t kReserved = 256;  // database, logs, attachments, accepts
    constexpr rlim_t kMax = 100000;
    return size_t(std::clamp(files.rlim_cur, kReserved * 2, kMax + kReserved) -
                  kReserved);
  }

  bool process_and_close_socket(socket_t sock) override {
    auto ms = [](time_t sec, time_t usec) {
      return int(sec * 1000 + usec / 1000);
    };
    Serve(std::make_unique<Connection>(
        sock, ms(read_timeout_sec_, read_timeout_usec_),
        ms(write_timeout_sec_, write_timeout_usec_), keep_alive_max_count_,
        open_));
    return true;
  }

  // Answers the connection's requests as long as they come; parks it when
  // it goes quiet, closes it when done.
  void Serve(std::unique_ptr<Connection> conn) {
    auto stopping = [this] { return svr_sock_ == INVALID_SOCKET; };
    // A new connection's first request is usually there with it; a browser
    // opening connections ahead of need is parked at once.
    int wait_ms = 0;
    while (conn->requests_left > 0) {
      switch (conn->stream.ReadHead(wait_ms, stopping)) {
        case ConnectionStream::Head::kIn:
          break;
        case ConnectionStream::Head::kLater:
          workers_.load()->parking().Park(std::move(conn));
          return;
        case ConnectionStream::Head::kGone:
          return;
      }
      bool closed = false;
      bool ok = process_request(conn->stream, conn->requests_left == 1, closed,
                                nullptr);
      ok = conn->stream.Flush() && ok;
      if (ok) RecordResponse(conn->stream);
      if (!ok || closed) return;
      --conn->requests_left;
      wait_ms = kLingerMs;
    }
  }

  // A request answered on `conn`: from its first bytes' arrival to its
  // response handed to the kernel.
  void RecordResponse(const ConnectionStream& conn) {
    auto took = ConnectionStream::Clock::now() - conn.started_at();
    responses_.Add(std::chrono::duration<double>(took).count());
  }

  std::string ResponseHistogram() const {
    return responses_.Text(
        "wangge_http_response_seconds",
        "Time from a request's first bytes reaching the machine (the "
        "kernel's receive time) to its response handed to the kernel: waits "
        "for a thread included.");
  }

  const int threads_;
  // Upper bounds, seconds: fine enough around the 20 ms of issue 8's intake
  // target for `wangge bench` to read a percentile off it.
  Histogram responses_{{0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
                        0.003,  0.004,   0.005,  0.006,   0.008, 0.01,   0.012,
                        0.015,  0.02,    0.025,  0.03,    0.04,  0.05,   0.075,
                        0.1,    0.15,    0.2,    0.3,     0.5,   1,      2,
                        5,      10,      30}};
  std::atomic<Workers*> workers_{nullptr};
  std::atomic<int64_t> open_{0};
};

// The settings shared by the real server and the benchmark's ceiling.
void Configure(httplib::Server& http) {
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  // An idle connection holds no thread (Parking), so a phone on a slow
  // network may reuse its connection for a while instead of opening another.
  http.set_keep_alive_timeout(30);
  // Also the deadline for a whole request head.
  http.set_read_timeout(30);
  // Photos up to 10 MiB; JSON routes enforce 1 MiB themselves (Api).
  http.set_payload_max_length(16 << 20);
}

// Binds, listens until SIGTERM or SIGINT, then lets in-flight requests end.
Result<void> Run(httplib::Server& http, const ServeOptions& options);

// The request path as the access log shows it: control characters, spaces
// and DEL percent-encoded, so that a path cannot forge a line or a field.
std::string LoggedPath(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (unsigned char ch : path) {
    if (ch <= 0x20 || ch == 0x7f) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", ch);
      out += hex;
    } else {
      out += char(ch);
    }
  }
  return out;
}

// The JSON body of an error the HTTP layer answers itself.
std::string HttpErrorBody(int status) {
  // Only methods wangge has no handler for (OPTIONS, PATCH) end in a 404
  // here; each route answers its own.
  std::string message =
      status == 413   ? "请求体过大 / the body is over 16 MiB"
      : status == 414 ? "网址过长 / the URL is too long"
      : status == 404
          ? "没有这种请求 / no such request: wangge answers GET, HEAD, POST, "
            "PUT and DELETE"
          : "请求无法解析 / the request could not be read (status " +
                std::to_string(status) + ")";
  return R"({"error":{"code":"bad_request","message":")" + message + R"("}})";
}

// The access log on stderr, written once every 50 ms in one write() rather
// than one a request (a system call costs about 1 µs before any work on
// this kind of machine, and stderr is unbuffered). The lines of the last
// 50 ms wait in memory; the destructor writes them.
class AccessLog {
 public:
  AccessLog() : thread_([this] { Loop(); }) {}
  ~AccessLog() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Add(const httplib::Request& req, int status, const char* took,
           const std::string& user) {
    std::string text = LocalTimestamp();
    text += ' ';
    text += req.remote_addr;
    text += ' ';
    text += req.method;
    text += ' ';
    text += LoggedPath(req.path);
    text += ' ';
    text += std::to_string(status);
    text += ' ';
    text += took;
    text += ' ';
    text += user.empty() ? "-" : user;
    text += '\n';
    bool first;
    {
      std::lock_guard lock(mu_);
      first = pending_.empty();
      pending_ += text;
    }
    if (first) cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      cv_.wait_for(lock, std::chrono::milliseconds(50),
                   [&] { return stopping_; });
      std::string out;
      out.swap(pending_);
      bool stop = stopping_;
      lock.unlock();
      for (size_t done = 0; done < out.size();) {
        ssize_t n =
            ::write(STDERR_FILENO, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // stderr is gone: the lines are dropped
        done += size_t(n);
      }
      lock.lock();
      if (stop && pending_.empty()) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

}  // namespace

Result<void> Serve(Api& api, const ServeOptions& options) {
  AccessLog log;  // outlives the server and its handlers
  HttpServer http(options.threads);
  Configure(http);
  auto handle = [&api, &log](const httplib::Request& req, std::string body,
                             httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    ApiRequest in;
    in.method = req.method;
    in.path = req.path;
    for (const auto& [k, v] : req.params) in.query[k] = v;
    for (const auto& [k, v] : req.headers) in.headers[AsciiLower(k)] = v;
    in.body = std::move(body);
    in.remote = req.remote_addr;
    ApiResponse out = api.Handle(in);
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    res.set_content(out.body, out.content_type);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    char took[32];
    std::snprintf(took, sizeof took, "%.1fms", ms);
    log.Add(req, out.status, took, out.user);
  };
  auto without_body = [handle](const httplib::Request& req,
                               httplib::Response& res) {
    handle(req, req.body, res);
  };
  // Bodies are read here rather than by cpp-httplib, which refuses a form
  // (application/x-www-form-urlencoded) over 8,192 bytes with a 413 — an
  // Open311 description of a few hundred Chinese characters is that long
  // percent-encoded. The 16 MiB limit (set_payload_max_length) still holds.
  auto with_body = [handle, &log](const httplib::Request& req,
                                  httplib::Response& res,
                                  const httplib::ContentReader& read) {
    std::string body;
    bool ok;
    if (req.is_multipart_form_data()) {
      // Read and dropped, so the connection stays in step: no route takes
      // a multipart form, and each says what to send instead.
      ok = read([](const httplib::MultipartFormData&) { return true; },
                [](const char*, size_t) { return true; });
    } else {
      ok = read([&body](const char* data, size_t n) {
        body.append(data, n);
        return true;
      });
    }
    if (!ok) {
      if (res.status < 400) res.status = 400;
      res.set_content(HttpErrorBody(res.status),
                      "application/json; charset=utf-8");
      log.Add(req, res.status, "-", "");
      return;
    }
    handle(req, std::move(body), res);
  };
  http.Get(".*", without_body);
  httplib::Server::HandlerWithContentReader reading(with_body);
  http.Post(".*", reading);
  http.Put(".*", reading);
  http.Delete(".*", reading);
  // Errors cpp-httplib answers itself (413 over the body limit, 400 for a
  // malformed request line or header, 414 for a long URI) get a JSON body
  // like every other error and an access-log line.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [&log](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(HttpErrorBody(res.status),
                        "application/json; charset=utf-8");
        log.Add(req, res.status, "-", "");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request& req,
                                httplib::Response& res, std::exception_ptr) {
    std::fprintf(stderr, "internal error on %s %s\n", req.method.c_str(),
                 req.path.c_str());
    res.status = 500;
    res.set_content(
        R"({"error":{"code":"internal","message":"internal error; it has been logged"}})",
        "application/json");
  });

  api.SetServerMetrics([&http] { return http.MetricsText(); });
  auto served = Run(http, options);
  api.SetServerMetrics(nullptr);
  return served;
}

Result<void> ServeTrivial(const ServeOptions& options) {
  HttpServer http(options.threads);
  Configure(http);
  // The HTTP layer's own figures, as wangge's /metrics has them.
  http.Get("/metrics",
           [&http](const httplib::Request&, httplib::Response& res) {
             res.set_content(http.MetricsText(), "text/plain; version=0.0.4");
           });
  http.Post(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 201;
    res.set_content(R"({"id":1,"status":"reported"})",
                    "application/json; charset=utf-8");
  });
  return Run(http, options);
}

namespace {

// Debian's cpp-httplib is a compiled library that listens with a backlog
// of 5 (CPPHTTPLIB_LISTEN_BACKLOG in our translation unit changes nothing):
// clients connecting at once overflow it, lose SYNs and wait 1-3 s for the
// retransmit. Linux lets listen() on a listening socket change its backlog.
constexpr int kListenBacklog = 1024;

Result<void> Run(httplib::Server& http, const ServeOptions& options) {
  // The socket httplib binds last is the one it listens on. SO_REUSEADDR
  // (a restart may bind while old connections linger) but not httplib's
  // SO_REUSEPORT, with which a second server on the port would bind too
  // and share its connections.
  int listening = -1;
  http.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  int port = options.port;
  if (port == 0) {
    port = http.bind_to_any_port(options.host);
    if (port < 0) {
      return Fail(ErrorCode::kUnavailable,
                  "cannot listen on " + options.host + " (any port)");
    }
  } else if (!http.bind_to_port(options.host, port)) {
    return Fail(ErrorCode::kUnavailable,
                "cannot listen on " + options.host + ":" +
                    std::to_string(port) +
                    "; is another server using the port? Choose another "
                    "with --listen");
  }
  if (listening < 0) {
    return Fail(ErrorCode::kInternal, "the listening socket was not seen");
  }
  if (::listen(listening, kListenBacklog) != 0) {
    return Fail(ErrorCode::kUnavailable, "cannot set the listen backlog: " +
                                             std::string(std::strerror(errno)));
  }
  // Each waiting connection is an open file: a soft limit of 1,024 (a
  // common default) would cap a county's phones and browsers.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 &&
                      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  g_stop = false;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::thread watcher([&http] {
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    http.stop();
  });
  if (options.on_listening) options.on_listening(port);
  bool ok = http.listen_after_bind();
  g_stop = true;
  watcher.join();
  if (!ok)
    return Fail(ErrorCode::kUnavailable, "the server stopped with an error");
  return {};
}

}  // namespace
}  // namespace wangge::server
