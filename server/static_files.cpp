// GET /m/..., /console/..., /shared/..., /vendor/leaflet*/...: the web pages,
// served from the copies embedded at build time (server/web_assets.h), so
// the server needs no asset directory and the pages need no internet.
// `/` redirects to /console/, `/m` and `/console` to their folders.
//
// Only paths that name an embedded file are served; anything else under
// these prefixes, including `..`, `%2e%2e`, backslashes and NUL, is a 404.
#include <map>

#include "server/api_internal.h"
#include "server/web_assets.h"

namespace wangge::server::internal {
namespace {

// No inline scripts anywhere; styles may be set by Leaflet from script;
// images may come from an optional tile server (https) and from blobs.
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data: blob: https:; connect-src "
    "'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'";

const std::map<std::string_view, const WebAsset*>& Index() {
  static const auto* index = [] {
    auto* m = new std::map<std::string_view, const WebAsset*>;
    for (const WebAsset& a : WebAssets()) (*m)[a.path] = &a;
    return m;
  }();
  return *index;
}

bool IsWebPath(const std::string& p) {
  return p == "/" || p == "/m" || p == "/console" || p == "/favicon.ico" ||
         p.starts_with("/m/") || p.starts_with("/console/") ||
         p.starts_with("/shared/") || p.starts_with("/vendor/");
}

// True for paths that try to leave their folder or hide characters.
bool Suspicious(const std::string& p) {
  if (p.find("..") != std::string::npos || p.find('%') != std::string::npos ||
      p.find('\\') != std::string::npos || p.find("//") != std::string::npos) {
    return true;
  }
  for (char ch : p) {
    if (static_cast<unsigned char>(ch) < 0x20) return true;
  }
  return false;
}

ApiResponse Redirect(const std::string& to) {
  ApiResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "see " + to + "\n";
  r.headers["Location"] = to;
  return r;
}

}  // namespace

std::optional<ApiResponse> StaticFilesRoute(Context& c) {
  const std::string& p = c.req.path;
  if (!IsWebPath(p)) return std::nullopt;
  c.route = "/static";
  if (c.req.method != "GET" && c.req.method != "HEAD") {
    return ErrorResponse(405, "method_not_allowed",
                         "web pages are read with GET");
  }
  if (p == "/") return Redirect("/console/");
  if (p == "/m" || p == "/console") return Redirect(p + "/");
  std::string path = p;
  if (path.ends_with("/")) path += "index.html";
  auto it = Suspicious(path) ? Index().end() : Index().find(path);
  if (it == Index().end()) {
    return ErrorResponse(404, "not_found",
                         "no such page: " + p +
                             "; the pages are /m/ and "
                             "/console/");
  }
  const WebAsset& a = *it->second;
  ApiResponse r;
  r.content_type = std::string(a.mime);
  r.headers["ETag"] = std::string(a.etag);
  // Leaflet's files change only with package.json; the pages revalidate so
  // that an upgraded server is picked up at once (a 304 costs little).
  r.headers["Cache-Control"] =
      p.starts_with("/vendor/") ? "public, max-age=86400" : "no-cache";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Content-Security-Policy"] = kCsp;
  r.headers["Referrer-Policy"] = "same-origin";
  if (p.starts_with("/m/")) r.headers["Service-Worker-Allowed"] = "/m/";
  auto match = c.req.headers.find("if-none-match");
  if (match != c.req.headers.end() &&
      match->second.find(a.etag) != std::string::npos) {
    r.status = 304;
    return r;
  }
  r.body = std::string(a.data);
  return r;
}

}  // namespace wangge::server::internal
