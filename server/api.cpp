#include "server/api.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/code.h"
#include "base/fiber.h"
#include "base/memory.h"
#include "base/utf8.h"
#include "core/accounts.h"
#include "core/intake.h"
#include "core/store.h"
#include "server/api_internal.h"

namespace wangge::server {
namespace {

using nlohmann::ordered_json;

ordered_json UserJson(const core::User& u) {
  return {{"id", u.id},         {"username", u.username},
          {"role", u.role},     {"scope", u.scope},
          {"person", u.person}, {"name", u.display_name}};
}

// One connection per thread and database path (SQLite rule).
Result<core::Store*> StoreFor(const std::string& path) {
  thread_local std::map<std::string, std::unique_ptr<core::Store>> stores;
  auto it = stores.find(path);
  if (it != stores.end()) return it->second.get();
  auto opened = core::Store::Open(path);
  if (!opened) return std::unexpected(opened.error());
  core::Store* raw = opened->get();
  stores[path] = std::move(*opened);
  return raw;
}

// JSON routes take at most this much (photos go to attachments, which set
// their own limit; the HTTP layer refuses anything over 16 MiB).
constexpr size_t kMaxJsonBody = 1 << 20;

// Refuses a path or query that is not UTF-8 once percent-decoded (what
// would it name? and every answer that repeats it must be UTF-8).
std::optional<ApiResponse> CheckUrl(const ApiRequest& req) {
  bool ok = IsUtf8(req.path);
  for (const auto& [key, value] : req.query) {
    ok = ok && IsUtf8(key) && IsUtf8(value);
  }
  if (ok) return std::nullopt;
  return internal::ErrorResponse(
      400, "invalid_argument",
      "网址不是 UTF-8 / the URL is not UTF-8 once percent-decoded: "
      "percent-encode UTF-8 text (太 is %E5%A4%AA), not GBK",
      "url");
}

// Refuses bodies that no JSON route may take: too large (413) or not
// declared as JSON (415; a multipart form's body, which the HTTP layer
// drops, is empty here). Attachments and Open311 check their own.
std::optional<ApiResponse> CheckBody(const ApiRequest& req) {
  if (!req.path.starts_with("/api/v1/") || req.path.ends_with("/attachments")) {
    return std::nullopt;
  }
  auto it = req.headers.find("content-type");
  if (req.body.empty() && (it == req.headers.end() ||
                           !it->second.starts_with("multipart/form-data"))) {
    return std::nullopt;
  }
  if (req.body.size() > kMaxJsonBody) {
    return internal::ErrorResponse(
        413, "payload_too_large",
        "请求体过大 / the body is " + std::to_string(req.body.size()) +
            " bytes; JSON requests take at most 1 MiB (photos go to "
            "/api/v1/cases/{id}/attachments)",
        "body");
  }
  if (it != req.headers.end()) {
    std::string type = AsciiLower(it->second.substr(0, it->second.find(';')));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    if (type != "application/json") {
      return internal::ErrorResponse(
          415, "unsupported_media_type",
          "请用 JSON / send the body as JSON with `Content-Type: "
          "application/json`, not " +
              it->second,
          "Content-Type");
    }
  }
  return std::nullopt;
}

}  // namespace

namespace internal {

std::string Context::Query(const std::string& key) const {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

int StatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

ApiResponse Json(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string Dump(const ordered_json& body) {
  return body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ApiResponse JsonOf(int status, const ordered_json& body) {
  return Json(status, Dump(body));
}

ApiResponse ErrorResponse(int status, const std::string& code,
                          const std::string& message,
                          const std::string& field) {
  ordered_json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return JsonOf(status, ordered_json{{"error", e}});
}

ApiResponse FromError(const Error& e) {
  return ErrorResponse(StatusOf(e.code), ErrorCodeName(e.code), e.message,
                       e.field);
}

std::string IsoUtc(core::Time t) { return core::FormatUtc(t); }

bool IsHostPort(std::string_view text) {
  if (text.empty() || text.size() > 260) return false;
  std::string_view host = text, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return false;
    for (char ch : host) {
      if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != ':' &&
          ch != '.')
        return false;
    }
  } else {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon);
    if (host.empty() || host.starts_with('.') || host.starts_with('-'))
      return false;
    for (char ch : host) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' &&
          ch != '.')
        return false;
    }
  }
  if (port.empty()) return true;
  port.remove_prefix(1);  // ':'
  int n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  return ec == std::errc() && end == port.data() + port.size() &&
         !port.starts_with('0') && n >= 1 && n <= 65535;
}

bool IsPublicUrl(std::string_view text) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!text.starts_with(scheme)) continue;
    std::string_view rest = text.substr(scheme.size());
    auto slash = rest.find('/');
    if (!IsHostPort(rest.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    std::string_view path = rest.substr(slash);
    if (path.ends_with('/')) return false;
    for (char ch : path) {
      auto u = static_cast<unsigned char>(ch);
      if (u <= 0x20 || u >= 0x7f || ch == '?' || ch == '#' || ch == '"' ||
          ch == '<' || ch == '>' || ch == '\\')
        return false;
    }
    return true;
  }
  return false;
}

std::optional<double> Decimal(std::string_view text) {
  if (text.starts_with('+')) {  // from_chars takes only '-'
    text.remove_prefix(1);
    if (text.starts_with('-')) return std::nullopt;
  }
  double d;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

std::optional<std::array<double, 4>> Bbox(std::string_view text) {
  std::array<double, 4> box;
  for (size_t i = 0; i < 4; ++i) {
    size_t comma = i < 3 ? text.find(',') : text.size();
    if (comma == std::string_view::npos) return std::nullopt;
    auto v = Decimal(text.substr(0, comma));
    if (!v) return std::nullopt;
    box[i] = *v;
    text.remove_prefix(std::min(text.size(), comma + 1));
  }
  if (!(box[0] <= box[2] && box[1] <= box[3])) return std::nullopt;
  return box;
}

Result<core::User> UserForToken(Context& c, const std::string& token) {
  std::string digest = core::Digest(token);
  if (auto cached = c.api.CachedUser(digest, c.now)) {
    c.who = cached->username;
    return *cached;
  }
  auto user = c.db.UserForToken(digest, IsoUtc(c.now));
  if (!user || user->disabled) {
    return Fail(ErrorCode::kPermissionDenied,
                "the token is unknown or expired; log in again",
                "Authorization");
  }
  c.api.RememberUser(digest, *user, c.now);
  c.who = user->username;
  return user;
}

Result<core::User> Authenticate(Context& c) {
  auto it = c.req.headers.find("authorization");
  if (it == c.req.headers.end() || !it->second.starts_with("Bearer ")) {
    return Fail(ErrorCode::kPermissionDenied,
                "log in first (POST /api/v1/login) and send "
                "`Authorization: Bearer <token>`",
                "Authorization");
  }
  return UserForToken(c, it->second.substr(7));
}

Result<core::CaseFilter> ParseCaseFilter(const Context& c) {
  core::CaseFilter f;
  f.status = c.Query("status");
  f.category = c.Query("category");
  f.village = c.Query("village");
  f.cell = c.Query("cell");
  f.branch = c.Query("branch");
  f.office = c.Query("office");
  f.text = c.Query("text");
  if (std::string b = c.Query("bbox"); !b.empty()) {
    auto box = Bbox(b);
    if (!box) {
      return Fail(ErrorCode::kInvalidArgument,
                  "bbox must be min_lon,min_lat,max_lon,max_lat", "bbox");
    }
    f.bbox = *box;
  }
  for (auto [key, out] :
       {std::pair{"from", &f.received_from}, std::pair{"to", &f.received_to}}) {
    if (std::string v = c.Query(key); !v.empty()) {
      auto t = core::ParseTime(v);
      if (!t) return Fail(ErrorCode::kInvalidArgument, t.error().message, key);
      *out = core::FormatLocal(*t);
    }
  }
  if (std::string v = c.Query("overdue"); v == "true" || v == "1") {
    f.overdue_at = core::FormatLocal(c.now);
  } else if (!v.empty() && v != "false" && v != "0") {
    return Fail(ErrorCode::kInvalidArgument, "overdue takes true or false",
                "overdue");
  }
  for (auto [key, out, max] : {std::tuple{"limit", &f.limit, 500},
                               std::tuple{"offset", &f.offset, 1 << 30}}) {
    if (auto ok = WholeQuery(c, key, 0, max, *out); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return f;
}

Result<void> WholeQuery(const Context& c, const char* key, int64_t min,
                        int64_t max, int64_t& out) {
  std::string v = c.Query(key);
  if (v.empty()) return {};
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end || n < min || n > max) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(key) + " must be a whole number " +
                    std::to_string(min) + ".." + std::to_string(max),
                key);
  }
  out = n;
  return {};
}

}  // namespace internal

using namespace internal;

struct Api::Impl {
  // Longer names are no account's (`wangge user add` refuses them), and are
  // answered without a lookup or a failure record.
  static constexpr size_t kMaxUsername = 256;
  // Failed-login records kept before the stale ones are dropped.
  static constexpr size_t kMaxTracked = 10000;

  static ApiResponse Login(Api& api, core::Store& store,
                           const ApiRequest& req) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() ||
        !j.value("username", nlohmann::json()).is_string() ||
        !j.value("password", nlohmann::json()).is_string()) {
      return ErrorResponse(400, "invalid_argument",
                           "send {\"username\": ..., \"password\": ...}",
                           "username");
    }
    std::string username = j["username"], password = j["password"];
    if (username.size() > kMaxUsername) {
      return ErrorResponse(401, "unauthenticated",
                           "wrong username or password, or the account is "
                           "disabled");
    }
    core::Time now = Now(api);
    std::string key = username + "|" + req.remote;
    int failures = 0;
    {
      std::lock_guard lock(api.login_mu_);
      auto it = api.failures_.find(key);
      const Failures& f = it == api.failures_.end() ? Failures{} : it->second;
      if (f.locked_until > now) {
        auto wait = std::chrono::duration_cast<std::chrono::seconds>(
                        f.locked_until - now)
                        .count();
        ApiResponse r = ErrorResponse(
            429, "too_many_attempts",
            "too many failed logins for " + username + "; try again in " +
                std::to_string(wait / 60 + 1) + " minutes");
        r.headers["Retry-After"] = std::to_string(wait);
        return r;
      }
      failures = f.count;
    }
    // Slow down repeated failures: 0.5 s per failure after the second (on
    // the server's fibers, without holding a thread).
    if (failures > 2) fiber::Sleep(std::min(failures - 2, 4) * 500);
    auto user = store.FindUser(username);
    bool ok = user && !user->disabled &&
              core::VerifyPassword(user->password_hash, password);
    if (!ok) {
      std::lock_guard lock(api.login_mu_);
      if (api.failures_.size() >= kMaxTracked) {
        // Forget what no longer counts, so that guesses at many names from
        // many addresses cannot grow the map without end.
        std::erase_if(api.failures_, [&](const auto& entry) {
          const Failures& old = entry.second;
          return old.locked_until <= now &&
                 now - old.first > std::chrono::minutes(15);
        });
      }
      Failures& f = api.failures_[key];
      if (f.count == 0 || now - f.first > std::chrono::minutes(15)) {
        f = Failures{0, now, {}};
      }
      if (++f.count >= 5) f.locked_until = now + std::chrono::minutes(15);
      return ErrorResponse(401, "unauthenticated",
                           "wrong username or password, or the account is "
                           "disabled");
    }
    {
      std::lock_guard lock(api.login_mu_);
      api.failures_.erase(key);
    }
    std::string token = core::NewToken();
    core::Time expires = now + api.options_.token_lifetime;
    if (auto added =
            store.AddToken(core::Digest(token), user->id, IsoUtc(expires));
        !added) {
      return FromError(added.error());
    }
    return JsonOf(200, ordered_json{{"token", token},
                                    {"expires_at", IsoUtc(expires)},
                                    {"user", UserJson(*user)}});
  }

  static ApiResponse Reference(const Api& api, const std::string& what) {
    auto town = api.town();
    const core::TownConfig& c = town->config;
    ordered_json out = ordered_json::array();
    if (what == "categories") {
      for (const auto& [group, name] : c.category_groups) {
        ordered_json children = ordered_json::array();
        for (const auto& [code, cat] : c.categories) {
          if (cat.parent_code != group) continue;
          children.push_back(
              {{"code", code},
               {"name", cat.name},
               {"office", cat.office},
               {"kind",
                cat.kind == core::CategoryKind::kEvent ? "event" : "component"},
               {"urgency", cat.urgency},
               {"requires_photo", cat.requires_photo},
               {"duplicate_radius_m", cat.duplicate_radius_m}});
        }
        out.push_back(
            {{"code", group}, {"name", name}, {"children", children}});
      }
    } else if (what == "offices") {
      for (const auto& [code, o] : c.offices) {
        out.push_back(
            {{"code", code}, {"name", o.name}, {"name_en", o.name_en}});
      }
    } else if (what == "branches") {
      for (const auto& [code, b] : c.branches) {
        out.push_back(
            {{"code", code}, {"name", b.name}, {"village", b.village}});
      }
    } else if (what == "villages") {
      for (const auto& [code, name] : c.villages) {
        out.push_back({{"code", code}, {"name", name}});
      }
    }
    return JsonOf(200, out);
  }

  static core::Time Now(const Api& api) {
    if (api.options_.now) return api.options_.now();
    return std::chrono::floor<std::chrono::seconds>(
        std::chrono::system_clock::now());
  }

  static ApiResponse Locate(Context& c) {
    auto lon = Decimal(c.Query("lon")), lat = Decimal(c.Query("lat"));
    if (!lon || !lat) {
      return ErrorResponse(400, "invalid_argument",
                           "give ?lon=..&lat=.. in WGS84 degrees",
                           lon ? "lat" : "lon");
    }
    auto placed = c.town.locator->Locate({*lon, *lat});
    if (!placed) return FromError(placed.error());
    ordered_json j = {{"inside", placed->inside},
                      {"cell", placed->cell},
                      {"village", placed->village},
                      {"zones", placed->zones},
                      {"boundary_version", placed->boundary_version}};
    if (placed->inside) {
      const auto& cell = c.town.config.cells.at(placed->cell);
      j["cell_name"] = cell.name;
      j["branch"] = cell.branch;
      j["branch_name"] = c.town.config.branches.at(cell.branch).name;
    } else {
      j["nearest_cell"] = placed->nearest_cell;
      j["distance_m"] = placed->distance_m;
    }
    return JsonOf(200, j);
  }

  static ApiResponse Route(Context& c) {
    Api& api = c.api;
    const ApiRequest& req = c.req;
    core::Store& db = c.db;
    const std::string& m = req.method;
    const std::string& p = req.path;
    if (auto r = StaticFilesRoute(c)) return *r;
    if (auto r = LayersRoute(c)) return *r;
    if (auto r = StatsRoute(c)) return *r;
    if (auto r = PatrolsRoute(c)) return *r;
    if (auto r = Open311Route(c)) return *r;
    if (auto r = LedgerRoute(c)) return *r;
    if (auto r = AttachmentsRoute(c)) return *r;
    if (auto r = WorkflowRoute(c)) return *r;
    if (m == "GET" && p == "/metrics") {
      c.route = "/metrics";
      return MetricsText(api, db);
    }
    if (m == "POST" && p == "/api/v1/login") {
      c.route = "/api/v1/login";
      return Login(api, db, req);
    }
    if (m == "GET" && p == "/api/v1/openapi.json") {
      c.route = p;
      return Json(200, OpenApi());
    }
    // A metrics label names a route, never a path a client made up (an
    // unknown path would add a series for good, and could carry quotes).
    static const std::set<std::string> kRoutes = {
        "/api/v1/logout",  "/api/v1/me",       "/api/v1/categories",
        "/api/v1/offices", "/api/v1/branches", "/api/v1/villages",
        "/api/v1/locate",  "/api/v1/reports"};
    c.route = kRoutes.contains(p) ? p : "unmatched";
    auto user = Authenticate(c);
    if (!user) {
      return ErrorResponse(401, "unauthenticated", user.error().message,
                           "Authorization");
    }
    if (m == "POST" && p == "/api/v1/logout") {
      auto it = req.headers.find("authorization");
      std::string digest = core::Digest(it->second.substr(7));
      api.ForgetToken(digest);
      (void)db.DeleteToken(digest);
      return Json(200, "{\"ok\":true}");
    }
    if (m == "GET" && p == "/api/v1/me") return JsonOf(200, UserJson(*user));
    if (m == "GET" && (p == "/api/v1/categories" || p == "/api/v1/offices" ||
                       p == "/api/v1/branches" || p == "/api/v1/villages")) {
      return Reference(api, p.substr(8));
    }
    if (m == "GET" && p == "/api/v1/locate") return Locate(c);
    if (m == "POST" && p == "/api/v1/reports") {
      auto report = core::ParseReport(req.body);
      if (!report) return FromError(report.error());
      auto key = req.headers.find("idempotency-key");
      auto in = core::SubmitReport(db, c.town, *user, *report,
                                   key == req.headers.end() ? "" : key->second,
                                   c.now, api.case_writer());
      if (!in) return FromError(in.error());
      ApiResponse r = Json(in->existed ? 200 : 201, core::IntakeJson(*in));
      r.headers["Location"] = "/api/v1/cases/" + std::to_string(in->record.id);
      return r;
    }
    c.route = "unmatched";
    return ErrorResponse(
        404, "not_found",
        "no such endpoint: " + m + " " + p + "; see /api/v1/openapi.json");
  }

  static ApiResponse MetricsText(Api& api, core::Store& db) {
    std::string out =
        "# HELP wangge_http_requests_total HTTP requests by route and status.\n"
        "# TYPE wangge_http_requests_total counter\n";
    std::lock_guard lock(api.metrics_mu_);
    for (const auto& [key, n] : api.requests_) {
      out += "wangge_http_requests_total{route=\"" + key.first +
             "\",status=\"" + std::to_string(key.second) + "\"} " +
             std::to_string(n) + "\n";
    }
    out += api.latency_.Text("wangge_http_request_seconds", "Request latency.");
    out += "# HELP wangge_cases Cases by status.\n# TYPE wangge_cases gauge\n";
    if (auto counts = db.CountCasesByStatus()) {
      for (const auto& [status, n] : *counts) {
        out += "wangge_cases{status=\"" + status + "\"} " + std::to_string(n) +
               "\n";
      }
    }
    out +=
        "# HELP wangge_boundary_version Boundary version in use.\n"
        "# TYPE wangge_boundary_version gauge\nwangge_boundary_version " +
        std::to_string(api.boundary_version()) + "\n";
    if (api.server_metrics_) out += api.server_metrics_();
    ApiResponse r = Json(200, out);
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }

  static std::string OpenApi() {
    ordered_json paths;
    auto op = [&](const char* path, const char* method, const char* summary) {
      paths[path][method] = {{"summary", summary},
                             {"responses", {{"200", {{"description", "OK"}}}}}};
    };
    op("/healthz", "get", "Liveness and the boundary version in use");
    op("/metrics", "get", "Prometheus metrics");
    op("/api/v1/login", "post",
       "Log in: {username, password} -> {token, user}");
    op("/api/v1/logout", "post", "Revoke the bearer token");
    op("/api/v1/me", "get", "The logged-in user");
    op("/api/v1/reports", "post",
       "Report an incident {category, description, lon, lat, accuracy_m?, "
       "reported_at?, address?} with an Idempotency-Key header; 201 new "
       "case, 200 same key and body, 409 same key other body");
    op("/api/v1/cases", "get",
       "Cases visible to the user; filters status, category, village, cell, "
       "branch, office, text, bbox=minlon,minlat,maxlon,maxlat, from, to "
       "(received), overdue=true; paging limit, offset");
    op("/api/v1/cases/{id}", "get", "One case with its event timeline");
    op("/api/v1/stats", "get",
       "Statistics ?group=branch|office|village|cell|category|leader&from=&to= "
       "(cases received in the period): received, closed, close_rate, "
       "on_time_close_rate, on_time_handle_rate, rework_rate, overdue_now, "
       "mean_handle_working_hours, satisfaction_rate");
    op("/api/v1/patrols", "post",
       "Record a patrol of a cell (Idempotency-Key header): {cell, "
       "started_at, ended_at?, note?, lon?, lat?}; grid leaders for their "
       "cells, the 综治中心 for any");
    op("/api/v1/patrols", "get",
       "Patrols, newest first: ?cell=&from=&to= (started), limit, offset");
    op("/api/v1/patrols.csv", "get",
       "The patrols as CSV for Excel (UTF-8 with BOM): ?cell=&from=&to=");
    op("/api/v1/patrols/coverage", "get",
       "一周三巡、半月全覆盖 ?at=: each cell's patrols this week (Monday on) "
       "against 3, and whether it was patrolled in the last 15 days");
    op("/api/v1/layers/{layer}.geojson", "get",
       "villages, cells, zones, households or shopfronts as GeoJSON, "
       "?bbox=minlon,minlat,maxlon,maxlat");
    op("/api/v1/cases/{id}/attachments", "post",
       "Attach a photo: the raw JPEG, PNG or WebP as the body (checked by "
       "content, at most 10 MiB, 413 over); EXIF GPS read into lon/lat, all "
       "metadata stripped. 201 {id, sha256, mime, bytes, lon, lat, url}; 200 "
       "if the case already has the same photo");
    op("/api/v1/cases/{id}/attachments", "get",
       "The case's photos: {attachments: [{id, sha256, mime, bytes, lon, "
       "lat, url, width, height, orientation, uploaded_by, uploaded_at}]}");
    op("/api/v1/cases/{id}/attachments/{att_id}", "get",
       "The stored photo (metadata stripped) with its image Content-Type");
    op("/api/v1/cases/{id}/actions", "post",
       "Act on a case {action, version, note?, assignee?, reason?, "
       "duplicate_of?, referral?, offices?, hours?, passed?, satisfied?, "
       "attachments?}; actions: accept reject dispatch reassign start handle "
       "verify pass fail confirm reopen comment escalate report_in "
       "request_extension approve_extension deny_extension. 200 the case; "
       "409 not allowed now (error.allowed_actions) or stale version; 403 "
       "role or scope");
    op("/api/v1/users", "get",
       "Active users to assign cases to, ?role=&scope= (dispatcher, leader, "
       "admin)");
    op("/api/v1/workflow", "get", "States and the role x action table");
    op("/api/v1/locate", "get",
       "Which cell, village, branch and zones hold ?lon&lat");
    op("/api/v1/categories", "get", "The category tree");
    op("/api/v1/offices", "get", "Offices");
    op("/api/v1/branches", "get", "Party branches");
    op("/api/v1/villages", "get", "Villages");
    ordered_json doc = {
        {"openapi", "3.0.3"},
        {"info", {{"title", "wangge API"}, {"version", "0.1.0"}}},
        {"components",
         {{"securitySchemes",
           {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
        {"security",
         ordered_json::array({{{"bearer", ordered_json::array()}}})},
        {"paths", paths}};
    return doc.dump(2);
  }
};

namespace {
constexpr auto kTokenCacheTtl = std::chrono::seconds(5);
constexpr size_t kTokenCacheMax = 100000;
}  // namespace

std::optional<core::User> Api::CachedUser(const std::string& token_digest,
                                          core::Time now) {
  std::lock_guard lock(tokens_mu_);
  auto it = tokens_.find(token_digest);
  if (it == tokens_.end()) return std::nullopt;
  // `until` bounds the entry on both sides: an injected clock may go back.
  if (now >= it->second.until || now < it->second.until - kTokenCacheTtl) {
    tokens_.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void Api::RememberUser(const std::string& token_digest, const core::User& user,
                       core::Time now) {
  std::lock_guard lock(tokens_mu_);
  if (tokens_.size() >= kTokenCacheMax) tokens_.clear();
  tokens_[token_digest] = {user, now + kTokenCacheTtl};
}

void Api::ForgetToken(const std::string& token_digest) {
  std::lock_guard lock(tokens_mu_);
  tokens_.erase(token_digest);
}

Result<std::unique_ptr<Api>> Api::Open(Options options) {
  if (!options.public_url.empty() && !IsPublicUrl(options.public_url)) {
    return Fail(ErrorCode::kInvalidArgument,
                "公开地址无效 / the public URL must be http:// or https://, a "
                "host name or address, an optional :port and path, without "
                "a query or a trailing slash, e.g. "
                "https://wangge.example.gov.cn; got '" +
                    options.public_url + "'");
  }
  auto store = core::Store::Open(options.db_path);
  if (!store) return std::unexpected(store.error());
  if (options.index_file.empty())
    options.index_file = options.db_path + "-index";
  auto town = core::LoadTown(**store, std::nullopt, options.index_file);
  if (!town) return std::unexpected(town.error());
  // Loading freed the unpacked shapes (hundreds of MiB at 300,000 cells) in
  // small blocks that malloc keeps; give their pages back.
  ReleaseFreeMemory();
  std::unique_ptr<Api> api(new Api(std::move(options)));
  api->town_.store(std::make_shared<const core::Town>(std::move(*town)));
  auto writer = core::CaseWriter::Open(api->options_.db_path);
  if (!writer) return std::unexpected(writer.error());
  api->writer_ = std::move(*writer);
  return api;
}

Result<std::shared_ptr<const core::Town>> Api::ReloadIfNewer(
    core::Store& store) {
  auto versions = store.Versions();
  if (!versions) return std::unexpected(versions.error());
  int64_t newest = 0;
  for (const auto& v : *versions) newest = std::max(newest, v.number);
  if (newest <= boundary_version()) return nullptr;
  auto town = core::LoadTown(store, newest, options_.index_file);
  if (!town) return std::unexpected(town.error());
  ReleaseFreeMemory();
  auto loaded = std::make_shared<const core::Town>(std::move(*town));
  town_.store(loaded);
  return loaded;
}

void Api::Record(const std::string& route, int status, double seconds) {
  std::lock_guard lock(metrics_mu_);
  ++requests_[{route, status}];
  latency_.Add(seconds);
}

ApiResponse Api::Handle(const ApiRequest& request) {
  auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const core::Town> town = this->town();
  std::string route;
  ApiResponse r;
  try {
    if (request.method == "GET" && request.path == "/healthz") {
      route = "/healthz";
      // "building": a first start still builds the boundary grids and
      // locates through the R-trees meanwhile (same answers, slower).
      r = JsonOf(200, ordered_json{
                          {"status", "ok"},
                          {"boundary_version", town->version},
                          {"boundary_grids",
                           town->locator->grids_due() ? "building" : "ready"}});
    } else if (auto refused = CheckUrl(request)) {
      r = *refused;
      route = "refused";
    } else if (auto refused = CheckBody(request)) {
      r = *refused;
      route = "refused";
    } else if (auto store = StoreFor(options_.db_path); !store) {
      r = FromError(store.error());
    } else {
      Context c{*this, *town, **store, request, Impl::Now(*this)};
      // Modules with their own routes first, then the core API.
      r = Impl::Route(c);
      route = c.route;
      r.user = c.who;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error on %s %s: %s\n",
                 request.method.c_str(), request.path.c_str(), e.what());
    r = ErrorResponse(500, "internal",
                      "internal error; it has been logged. Please report it");
  }
  r.route = route.empty() ? "unmatched" : route;
  Record(r.route, r.status,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
             .count());
  return r;
}

}  // namespace wangge::server
