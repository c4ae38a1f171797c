#pragma once
// Internal to server/: what the route modules share. Api::Handle makes one
// Context per request and offers it to each module in turn; a module
// answers the requests that are its own and returns nullopt for the rest.
//
//   std::optional<ApiResponse> Open311Route(Context& c) {
//     if (!c.req.path.starts_with("/open311/")) return std::nullopt;
//     c.route = "/open311/v2/requests";
//     ...
//   }

#include <array>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town.h"
#include "server/api.h"

namespace wangge::server::internal {

struct Context {
  Api& api;
  const core::Town& town;
  core::Store& db;  // this thread's connection
  const ApiRequest& req;
  core::Time now;
  std::string route;  // the matched route pattern, for metrics
  std::string who;    // the user's name, for the access log

  // The query parameter `key`, or "".
  std::string Query(const std::string& key) const;
};

ApiResponse Json(int status, std::string body);
// The value as the body; text that is not UTF-8 (echoed from a request)
// is written with U+FFFD in its place rather than failing the answer.
ApiResponse JsonOf(int status, const nlohmann::ordered_json& body);
// The same for a body built by a module itself.
std::string Dump(const nlohmann::ordered_json& body);
// {"error": {"code", "message", "field"}}.
ApiResponse ErrorResponse(int status, const std::string& code,
                          const std::string& message,
                          const std::string& field = "");
// The status that goes with the error's code (400, 403, 404, 409, 503, 500).
int StatusOf(ErrorCode code);
ApiResponse FromError(const Error& e);
// "2026-11-30T07:20:36Z".
std::string IsoUtc(core::Time t);
// A finite decimal number making up all of `text` ("34.5", "-1e-3"); not
// hexadecimal, not padded, nothing after it (a query's %00 included).
std::optional<double> Decimal(std::string_view text);
// "min_lon,min_lat,max_lon,max_lat" of Decimals, min <= max.
std::optional<std::array<double, 4>> Bbox(std::string_view text);
// host[:port] as a Host header carries it: a DNS name or IPv4 address
// (letters, digits, '-', '.') or a [bracketed] IPv6 literal; port 1-65535.
bool IsHostPort(std::string_view text);
// http:// or https://, IsHostPort, then nothing or a path of URL characters
// that does not end in '/' (no query, fragment, spaces or quotes).
bool IsPublicUrl(std::string_view text);

// The active user holding `token` (a bearer token or an Open311 api_key);
// kPermissionDenied if unknown, expired or disabled. Sets c.who.
Result<core::User> UserForToken(Context& c, const std::string& token);
// The user of the request's `Authorization: Bearer` header.
Result<core::User> Authenticate(Context& c);

// The case-list filters of the request's query (status, category, village,
// cell, branch, office, text, bbox, from, to, overdue, limit, offset);
// kInvalidArgument names the bad parameter.
Result<core::CaseFilter> ParseCaseFilter(const Context& c);

// The query parameter `key` as a whole number min..max into `out` (left as
// it was when absent); kInvalidArgument names the parameter.
Result<void> WholeQuery(const Context& c, const char* key, int64_t min,
                        int64_t max, int64_t& out);

// Route modules, each in its own file.
std::optional<ApiResponse> StaticFilesRoute(Context& c);  // static_files.cpp
std::optional<ApiResponse> LayersRoute(Context& c);       // layers_api.cpp
std::optional<ApiResponse> Open311Route(Context& c);      // open311.cpp
std::optional<ApiResponse> LedgerRoute(Context& c);       // ledger_api.cpp
std::optional<ApiResponse> StatsRoute(Context& c);        // stats_api.cpp
std::optional<ApiResponse> PatrolsRoute(Context& c);      // patrols_api.cpp
std::optional<ApiResponse> WorkflowRoute(Context& c);     // workflow_api.cpp
std::optional<ApiResponse> AttachmentsRoute(Context& c);  // attachments_api.cpp
// Sets `case_answer["attachments"]` to the case's photos, for the workflow
// module's answers about one case (GET /api/v1/cases/{id}, POST .../actions).
Result<void> AddAttachments(Context& c, int64_t case_id,
                            nlohmann::ordered_json& case_answer);

}  // namespace wangge::server::internal
