#pragma once
// Serve: puts an Api on a real port with cpp-httplib, until SIGTERM or
// SIGINT; then in-flight requests finish and the function returns.
//
// TCP_NODELAY is on (cpp-httplib leaves Nagle on, ~40 ms per response).
// Each request is served on a fiber (base/fiber.h) over at most `threads`
// threads: a request waiting for its body, its answer's send or its report's
// group commit holds no thread, and connections between requests wait
// without a fiber (up to 30 s idle, 30 s for a request's head). Keep-alive
// is allowed for many requests, bodies are limited to 16 MiB (JSON routes
// take 1 MiB, checked by Api). One access-log line per request on stderr:
// time, client, method, path, status, milliseconds, user.
//
//   auto api = Api::Open({.db_path = "town.db"});
//   return Serve(**api, {.host = "127.0.0.1", .port = 8080});

#include <functional>
#include <string>

#include "base/result.h"
#include "server/api.h"

namespace wangge::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (reported through on_listening)
  // Threads for the fibers; only about one per core run at once, the rest
  // stand in while some are held up (a slow disk, a busy database).
  int threads = 64;
  // Called once the socket listens, with the port.
  std::function<void(int port)> on_listening;
};

Result<void> Serve(Api& api, const ServeOptions& options);

// The same HTTP server with a trivial handler (every POST: 201 and a small
// JSON body, no Api, no database): the ceiling of the HTTP library itself,
// for `wangge bench intake`.
Result<void> ServeTrivial(const ServeOptions& options);

}  // namespace wangge::server
