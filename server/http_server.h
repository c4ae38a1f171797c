#pragma once
// Serve: puts an Api on a real port with cpp-httplib, until SIGTERM or
// SIGINT; then in-flight requests finish and the function returns.
//
// TCP_NODELAY is on (cpp-httplib leaves Nagle on, ~40 ms per response), the
// worker pool has `threads` threads for requests being served, while
// connections between requests wait without one (up to 30 s idle, 30 s for
// a request's head), keep-alive is allowed for many requests, bodies are
// limited to 16 MiB (JSON routes take 1 MiB, checked by Api). One
// access-log line per request on
// stderr: time, client, method, path, status, milliseconds, user.
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
  int port = 8080;   // 0: any free port (reported through on_listening)
  int threads = 64;  // each request being served holds one
  // Called once the socket listens, with the port.
  std::function<void(int port)> on_listening;
};

Result<void> Serve(Api& api, const ServeOptions& options);

// The same HTTP server with a trivial handler (every POST: 201 and a small
// JSON body, no Api, no database): the ceiling of the HTTP library itself,
// for `wangge bench intake`.
Result<void> ServeTrivial(const ServeOptions& options);

}  // namespace wangge::server
