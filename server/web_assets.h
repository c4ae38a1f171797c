#pragma once
// The web pages and vendored Leaflet files embedded into the binary at build
// time (cmake/embed_web.cmake generates the definition of WebAssets()).
//
//   for (const WebAsset& a : WebAssets()) Serve(a.path, a.mime, a.data);

#include <string_view>
#include <vector>

namespace wangge::server::internal {

struct WebAsset {
  std::string_view path;  // URL path, e.g. "/m/index.html"
  std::string_view mime;  // Content-Type value
  std::string_view etag;  // strong ETag with its quotes
  std::string_view data;  // the file's bytes
};

// Every embedded file, sorted by path within each root. Never changes.
const std::vector<WebAsset>& WebAssets();

}  // namespace wangge::server::internal
