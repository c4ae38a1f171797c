#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

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

}  // namespace

Result<void> Serve(Api& api, const ServeOptions& options) {
  httplib::Server http;
  Configure(http, options);
  auto handler = [&api](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    ApiRequest in;
    in.method = req.method;
    in.path = req.path;
    for (const auto& [k, v] : req.params) in.query[k] = v;
    for (const auto& [k, v] : req.headers) {
      std::string key = k;
      for (char& c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
      in.headers[key] = v;
    }
    in.body = req.body;
    in.remote = req.remote_addr;
    ApiResponse out = api.Handle(in);
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    res.set_content(out.body, out.content_type);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    std::fprintf(stderr, "%s %s %s %s %d %.1fms %s\n", LocalTimestamp().c_str(),
                 req.remote_addr.c_str(), req.method.c_str(), req.path.c_str(),
                 out.status, ms, out.user.empty() ? "-" : out.user.c_str());
  };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Delete(".*", handler);
  // Errors cpp-httplib answers itself (413 over the body limit, 400 for a
  // malformed request line or header, 414 for a long URI) get a JSON body
  // like every other error and an access-log line.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        std::string message =
            res.status == 413 ? "请求体过大 / the body is over 16 MiB"
            : res.status == 414
                ? "网址过长 / the URL is too long"
                : "请求无法解析 / the request could not be read (status " +
                      std::to_string(res.status) + ")";
        res.set_content(R"({"error":{"code":"bad_request","message":")" +
                            message + R"("}})",
                        "application/json; charset=utf-8");
        std::fprintf(stderr, "%s %s %s %s %d - -\n", LocalTimestamp().c_str(),
                     req.remote_addr.c_str(), req.method.c_str(),
                     req.path.c_str(), res.status);
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
  httplib::Server http;
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
