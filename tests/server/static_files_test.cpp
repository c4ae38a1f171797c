// The web pages served from the binary (server/static_files.cpp).
#include <doctest/doctest.h>

#include "core/store.h"
#include "core/town.h"
#include "server/api.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::server;
using wangge::testing::TempDir;

namespace {

struct WebFixture {
  TempDir dir;
  std::string db = dir / "town.db";
  std::unique_ptr<Api> api;

  WebFixture() {
    auto input = core::ReadTownFolder(std::string(WANGGE_DATA_DIR) + "/taiyao");
    REQUIRE(input);
    auto store = core::Store::Create(db);
    REQUIRE(store);
    REQUIRE((*store)->AddVersion(*input));
    auto opened = Api::Open({.db_path = db});
    REQUIRE(opened);
    api = std::move(*opened);
  }

  ApiResponse Get(const std::string& path,
                  std::map<std::string, std::string> headers = {}) {
    return api->Handle({"GET", path, {}, headers, "", "127.0.0.1"});
  }
};

std::string Header(const ApiResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

TEST_CASE("web pages are embedded and served with their types") {
  WebFixture f;
  struct Want {
    const char* path;
    const char* type;
    const char* contains;
  };
  for (Want w :
       {Want{"/m/", "text/html", "app.js"},
        Want{"/m/index.html", "text/html", "photo-input"},
        Want{"/m/app.js", "text/javascript", "Idempotency-Key"},
        Want{"/m/sw.js", "text/javascript", "caches"},
        Want{"/m/style.css", "text/css", "body"},
        Want{"/console/", "text/html", "leaflet.markercluster.js"},
        Want{"/console/app.js", "text/javascript", "allowed_actions"},
        Want{"/shared/i18n.js", "text/javascript", "English"},
        Want{"/vendor/leaflet/leaflet.js", "text/javascript", "Leaflet"},
        Want{"/vendor/leaflet/leaflet.css", "text/css", ".leaflet"},
        Want{"/vendor/leaflet/images/marker-icon.png", "image/png", "PNG"},
        Want{"/vendor/leaflet.markercluster/leaflet.markercluster.js",
             "text/javascript", "MarkerClusterGroup"}}) {
    CAPTURE(w.path);
    ApiResponse r = f.Get(w.path);
    REQUIRE(r.status == 200);
    CHECK(r.content_type.starts_with(w.type));
    CHECK(r.body.find(w.contains) != std::string::npos);
    CHECK(Header(r, "X-Content-Type-Options") == "nosniff");
    std::string csp = Header(r, "Content-Security-Policy");
    CHECK(csp.find("script-src 'self';") != std::string::npos);
    CHECK(!Header(r, "ETag").empty());
    CHECK(!Header(r, "Cache-Control").empty());
  }
}

TEST_CASE("web pages: redirects, ETag revalidation and no login needed") {
  WebFixture f;
  ApiResponse root = f.Get("/");
  CHECK(root.status == 302);
  CHECK(Header(root, "Location") == "/console/");
  CHECK(Header(f.Get("/m"), "Location") == "/m/");
  ApiResponse page = f.Get("/console/index.html");
  REQUIRE(page.status == 200);
  ApiResponse again =
      f.Get("/console/index.html", {{"if-none-match", Header(page, "ETag")}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(f.Get("/console/index.html", {{"if-none-match", "\"other\""}}).status ==
        200);
  // The API still wants a token.
  CHECK(f.Get("/api/v1/cases").status == 401);
}

TEST_CASE("web pages: traversal and unknown files are 404") {
  WebFixture f;
  for (const char* bad :
       {"/m/../../etc/passwd", "/m/%2e%2e/%2e%2e/etc/passwd",
        "/console/..%2fm/index.html", "/vendor/leaflet/../../package.json",
        "/vendor/leaflet/leaflet.js.map", "/m/nope.js", "/m//index.html",
        "/m/..\\..\\etc\\passwd", "/vendor/../CMakeLists.txt",
        "/shared/../server/api.cpp"}) {
    CAPTURE(bad);
    ApiResponse r = f.Get(bad);
    CHECK(r.status == 404);
    CHECK(r.body.find("\"not_found\"") != std::string::npos);
  }
  ApiResponse post = f.api->Handle({"POST", "/m/", {}, {}, "x", "127.0.0.1"});
  CHECK(post.status == 405);
}
