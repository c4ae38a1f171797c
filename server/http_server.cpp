#include "server/http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/code.h"

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
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(socket_t sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), in_(kInSize) {
    // Sends block (the socket is blocking) for at most the write timeout.
    timeval tv{write_timeout_ms / 1000, (write_timeout_ms % 1000) * 1000};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // Once per connection, not per request.
    Name(getpeername, remote_ip_, remote_port_);
    Name(getsockname, local_ip_, local_port_);
  }

  bool is_readable() const override {
    return in_begin_ < in_end_ || Poll(POLLIN, read_timeout_ms_) > 0;
  }
  bool is_writable() const override {
    return !failed_ && Poll(POLLOUT, 0) >= 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (in_begin_ == in_end_) {
      if (!Flush()) return -1;
      // Most requests are in the buffer already; poll only when not.
      ssize_t n = Receive(MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (Poll(POLLIN, read_timeout_ms_) <= 0) return -1;
        n = Receive(0);
      }
      if (n <= 0) return n;
    }
    size_t n = std::min(size, in_end_ - in_begin_);
    std::memcpy(ptr, in_.data() + in_begin_, n);
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

  // Waits up to `timeout_ms` for the next request of a kept-alive
  // connection, in slices, so that a stopping server (`stopping` turns
  // true) lets the connection go within one slice. True when its first
  // bytes are in.
  bool WaitForRequest(int timeout_ms, const std::function<bool()>& stopping) {
    if (in_begin_ < in_end_) return true;
    constexpr int kSliceMs = 200;
    for (int waited = 0; !stopping(); waited += kSliceMs) {
      int ready = Poll(POLLIN, std::min(kSliceMs, timeout_ms - waited));
      if (ready < 0) return false;
      if (ready > 0) return Receive(0) > 0;
      if (waited + kSliceMs >= timeout_ms) return false;
    }
    return false;
  }

 private:
  static constexpr size_t kInSize = 16 << 10;
  static constexpr size_t kOutLimit = 64 << 10;

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
    pollfd p{sock_, events, 0};
    int r;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r;
  }

  // Reads what is there into the empty buffer: recv()'s result.
  ssize_t Receive(int flags) {
    ssize_t n;
    do {
      n = ::recv(sock_, in_.data(), in_.size(), flags);
    } while (n < 0 && errno == EINTR);
    in_begin_ = 0;
    in_end_ = n > 0 ? size_t(n) : 0;
    return n;
  }

  bool SendAll(const char* data, size_t size) {
    while (size > 0 && !failed_) {
      ssize_t n = ::send(sock_, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
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
  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::string out_;
  bool failed_ = false;
  std::string remote_ip_;
  int remote_port_ = 0;
  std::string local_ip_;
  int local_port_ = 0;
};

// cpp-httplib's server with its connection loop replaced (see
// ConnectionStream): parsing, routing and writing stay cpp-httplib's.
class HttpServer final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override {
    auto ms = [](time_t sec, time_t usec) {
      return int(sec * 1000 + usec / 1000);
    };
    ConnectionStream stream(sock, ms(read_timeout_sec_, read_timeout_usec_),
                            ms(write_timeout_sec_, write_timeout_usec_));
    auto stopping = [this] { return svr_sock_ == INVALID_SOCKET; };
    bool ok = false;
    for (size_t left = keep_alive_max_count_;
         left > 0 &&
         stream.WaitForRequest(ms(keep_alive_timeout_sec_, 0), stopping);
         --left) {
      bool closed = false;
      ok = process_request(stream, left == 1, closed, nullptr);
      ok = stream.Flush() && ok;
      if (!ok || closed) break;
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
};

// The settings shared by the real server and the benchmark's ceiling.
void Configure(httplib::Server& http, const ServeOptions& options) {
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  // A connection holds a worker thread while open: let idle ones go soon.
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(30);
  // Photos up to 10 MiB; JSON routes enforce 1 MiB themselves (Api).
  http.set_payload_max_length(16 << 20);
  int threads = std::max(1, options.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
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

void LogRequest(const httplib::Request& req, int status, const char* took,
                const std::string& user) {
  std::fprintf(stderr, "%s %s %s %s %d %s %s\n", LocalTimestamp().c_str(),
               req.remote_addr.c_str(), req.method.c_str(),
               LoggedPath(req.path).c_str(), status, took,
               user.empty() ? "-" : user.c_str());
}

}  // namespace

Result<void> Serve(Api& api, const ServeOptions& options) {
  HttpServer http;
  Configure(http, options);
  auto handle = [&api](const httplib::Request& req, std::string body,
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
    LogRequest(req, out.status, took, out.user);
  };
  auto without_body = [handle](const httplib::Request& req,
                               httplib::Response& res) {
    handle(req, req.body, res);
  };
  // Bodies are read here rather than by cpp-httplib, which refuses a form
  // (application/x-www-form-urlencoded) over 8,192 bytes with a 413 — an
  // Open311 description of a few hundred Chinese characters is that long
  // percent-encoded. The 16 MiB limit (set_payload_max_length) still holds.
  auto with_body = [handle](const httplib::Request& req, httplib::Response& res,
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
      LogRequest(req, res.status, "-", "");
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
      [](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(HttpErrorBody(res.status),
                        "application/json; charset=utf-8");
        LogRequest(req, res.status, "-", "");
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

  return Run(http, options);
}

Result<void> ServeTrivial(const ServeOptions& options) {
  HttpServer http;
  Configure(http, options);
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
