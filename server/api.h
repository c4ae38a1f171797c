#pragma once
// Api: the JSON API of wangge as a function from request to response, with
// no sockets, so tests can call it directly; server/http_server.cpp puts it
// on cpp-httplib.
//
// Errors are {"error": {"code", "message", "field"}} with 400 (bad input),
// 401 (no or bad token), 403 (role or scope), 404, 409 (conflict), 429
// (too many failed logins), 503; a 500 is a bug and is logged.
//
// Handle() is safe from many threads: each thread opens its own database
// connection on first use.
//
//   auto api = Api::Open({.db_path = "town.db"});
//   ApiResponse r = (*api)->Handle({.method = "GET", .path = "/healthz"});

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/histogram.h"
#include "base/result.h"
#include "core/calendar.h"
#include "core/case_writer.h"
#include "core/town.h"

namespace wangge::server {

struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // keys in lower case
  std::string body;
  std::string remote;  // client address, for login limits
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::map<std::string, std::string> headers;
  std::string route;  // the matched route pattern, for metrics
  std::string user;   // who made the request, for the access log
};

class Api {
 public:
  struct Options {
    std::string db_path;
    std::chrono::hours token_lifetime{12};
    // Default: the system clock. Tests inject time.
    std::function<core::Time()> now;
    // Where photo attachments are stored, by content hash.
    // Default: db_path + ".files".
    std::string files_dir;
    // The boundary index cache (spatial/index_file.h), read at start-up
    // when it matches the database, rebuilt when not. Default: db_path +
    // "-index".
    std::string index_file;
    // Where clients reach this server, as http(s)://host[:port][/path]
    // without a trailing slash, e.g. behind a reverse proxy with HTTPS;
    // Open311 discovery names it. Default: http:// and the request's Host.
    std::string public_url;
  };

  // Opens the database and loads the town's newest boundary version.
  static Result<std::unique_ptr<Api>> Open(Options options);

  ApiResponse Handle(const ApiRequest& request);
  const Options& options() const { return options_; }

  // Prometheus text for /metrics; also fed by Record().
  void Record(const std::string& route, int status, double seconds);
  // More /metrics text from the HTTP server (its connections); set before
  // serving, cleared (nullptr) after.
  void SetServerMetrics(std::function<std::string()> text) {
    std::lock_guard lock(metrics_mu_);
    server_metrics_ = std::move(text);
  }
  int64_t boundary_version() const { return town()->version; }
  // The town the API serves (boundaries, configuration, locator), for
  // work beside it such as the deadline ticker: one copy in memory.
  std::shared_ptr<const core::Town> town() const { return town_.load(); }
  // When `store` holds a boundary version newer than the one served (a
  // `wangge import` beside the running server), loads it as Open does and
  // swaps it in; requests in flight finish with the town they started
  // with. Returns the new town, or nullptr when the served one is current.
  // Its index_file_due, if set, is the caller's to write (WriteIndexFile).
  Result<std::shared_ptr<const core::Town>> ReloadIfNewer(core::Store& store);
  // Intake's group commit: every new case goes through it.
  core::CaseWriter* case_writer() const { return writer_.get(); }

  // Bearer tokens lately found valid, so that a phone sending reports does
  // not cost a database read each: an entry lives 5 s of the (injectable)
  // clock; logout forgets its token at once; a disable, password change or
  // revocation made with the CLI (another process) takes effect within 5 s.
  std::optional<core::User> CachedUser(const std::string& token_digest,
                                       core::Time now);
  void RememberUser(const std::string& token_digest, const core::User& user,
                    core::Time now);
  void ForgetToken(const std::string& token_digest);

 private:
  explicit Api(Options options) : options_(std::move(options)) {}
  struct Impl;
  friend struct Impl;

  Options options_;
  std::atomic<std::shared_ptr<const core::Town>> town_;
  std::unique_ptr<core::CaseWriter> writer_;
  std::mutex metrics_mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  // Seconds.
  Histogram latency_{
      {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}};
  std::function<std::string()> server_metrics_;
  std::mutex login_mu_;
  struct Failures {
    int count = 0;
    core::Time first{};
    core::Time locked_until{};
  };
  std::map<std::string, Failures> failures_;
  struct CachedToken {
    core::User user;
    core::Time until;
  };
  std::mutex tokens_mu_;
  std::unordered_map<std::string, CachedToken> tokens_;
};

}  // namespace wangge::server
