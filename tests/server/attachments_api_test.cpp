// Photo attachments through the API: upload, list, serve, and the case
// answer; refusals for what is not a photo, too large, not yours, no token.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/attachments.h"
#include "core/store.h"
#include "core/town.h"
#include "server/api.h"
#include "tests/photo_fixtures.h"
#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::server;
using nlohmann::json;
namespace fs = std::filesystem;
namespace t = wangge::testing;

namespace {

constexpr const char* kDispatcher = "p0021";  // 综治中心

// The shared fixture four days later, with the phone's files and the photos
// the Api stores (in its default folder beside the database).
struct Fixture : t::Fixture {
  std::string files = core::DefaultFilesDir(db);
  t::TempDir src;  // the phone's files

  Fixture() { now = *core::ParseTime("2026-11-30T10:00"); }

  // A grid leader's username and a report they filed in one of their cells:
  // the first from the `nth` cell on with a point inside it.
  std::pair<std::string, int64_t> LeaderCase(int nth) {
    t::CellPoint inside = InsidePoint(nth);
    ApiResponse r = Call("POST", "/api/v1/reports",
                         json{{"category", "04001"},
                              {"description", "路边堆放垃圾，附照片"},
                              {"lon", inside.at.lon},
                              {"lat", inside.at.lat}}
                             .dump(),
                         Login(inside.leader),
                         {{"idempotency-key", "photo-" + std::to_string(nth)},
                          {"content-type", "application/json"}});
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return {inside.leader, json::parse(r.body)["id"].get<int64_t>()};
  }

  // A phone photo: `format` made by GDAL, GPS and the rest by exiftool.
  std::string Photo(const std::string& name, const std::string& format,
                    double lat = 34.51, double lon = 110.24) {
    std::string path = t::MakeImage(src, name, format, 80, 60);
    REQUIRE_MESSAGE(!path.empty(), "gdal_translate failed");
    REQUIRE(t::AddPhoneMetadata(path, lat, lon, 6) == 0);
    return t::ReadBytes(path);
  }

  size_t FileCount() const {
    if (!fs::exists(files)) return 0;
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(files)) {
      n += e.is_regular_file();
    }
    return n;
  }
};

std::string CasePath(int64_t id) {
  return "/api/v1/cases/" + std::to_string(id);
}

}  // namespace

TEST_CASE(
    "Attachments API: upload phone photos, read the GPS, serve the "
    "stripped copy") {
  Fixture f;
  auto [leader, id] = f.LeaderCase(0);
  std::string token = f.Login(leader);
  std::string path = CasePath(id) + "/attachments";

  struct Kind {
    const char* format;
    const char* name;
    const char* mime;
  };
  for (Kind k :
       {Kind{"JPEG", "p.jpg", "image/jpeg"}, Kind{"PNG", "p.png", "image/png"},
        Kind{"WEBP", "p.webp", "image/webp"}}) {
    CAPTURE(k.format);
    std::string photo = f.Photo(k.name, k.format);
    // The header may say anything; the content decides.
    ApiResponse up = f.Call("POST", path, photo, token,
                            {{"content-type", "application/octet-stream"}});
    REQUIRE_MESSAGE(up.status == 201, up.body);
    json a = json::parse(up.body);
    CHECK(a["mime"] == k.mime);
    CHECK(a["lat"].get<double>() == doctest::Approx(34.51));
    CHECK(a["lon"].get<double>() == doctest::Approx(110.24));
    CHECK(a["orientation"] == 6);
    CHECK(a["width"] == 80);
    CHECK(a["sha256"].get<std::string>().size() == 64);
    std::string url = a["url"];
    CHECK(url == path + "/" + std::to_string(a["id"].get<int64_t>()));
    CHECK(up.headers["Location"] == url);

    ApiResponse got = f.Call("GET", url, "", token);
    REQUIRE(got.status == 200);
    CHECK(got.content_type == k.mime);
    CHECK(got.headers["Cache-Control"] == "private");
    CHECK(got.headers["X-Content-Type-Options"] == "nosniff");
    CHECK(int64_t(got.body.size()) == a["bytes"].get<int64_t>());
    CHECK(core::Sha256Hex(got.body) == a["sha256"]);
    CHECK(got.body.size() < photo.size());
    std::string stored = f.src.Write(std::string("got-") + k.name, got.body);
    std::string tags = t::ExifToolTags(stored);
    REQUIRE(!tags.empty());
    for (const char* leak : {"[GPS]", "[IFD0]", "[XMP", "Xiaomi", "ZhangSan"}) {
      CHECK_MESSAGE(tags.find(leak) == std::string::npos,
                    (std::string(leak) + " left in the served copy:\n" + tags));
    }
    CHECK(t::GdalChecksum(stored) == t::GdalChecksum(f.src / k.name));

    // The same photo again: the same attachment, no new file.
    size_t files = f.FileCount();
    ApiResponse again = f.Call("POST", path, photo, token);
    CHECK(again.status == 200);
    CHECK(json::parse(again.body)["id"] == a["id"]);
    CHECK(f.FileCount() == files);

    // Unchanged since the client's copy: 304.
    ApiResponse cached =
        f.Call("GET", url, "", token, {{"if-none-match", got.headers["ETag"]}});
    CHECK(cached.status == 304);
    CHECK(cached.body.empty());
  }
  CHECK(f.FileCount() == 3);

  json list = json::parse(f.Call("GET", path, "", token).body);
  REQUIRE(list["attachments"].size() == 3);
  CHECK(list["attachments"][0]["mime"] == "image/jpeg");
  CHECK(list["attachments"][2]["mime"] == "image/webp");

  // The case answer lists them too, for the leader and the dispatcher.
  for (const std::string& who : {leader, std::string(kDispatcher)}) {
    ApiResponse c = f.Call("GET", CasePath(id), "", f.Login(who));
    REQUIRE_MESSAGE(c.status == 200, c.body);
    json kase = json::parse(c.body);
    REQUIRE(kase["attachments"].size() == 3);
    CHECK(kase["attachments"][1]["url"] == list["attachments"][1]["url"]);
    CHECK(kase["attachments"][1]["lat"] == list["attachments"][1]["lat"]);
  }
  // The dispatcher may read photos, and the answer to a workflow action
  // lists them as well.
  std::string td = f.Login(kDispatcher);
  json before = json::parse(f.Call("GET", CasePath(id), "", td).body);
  ApiResponse acted =
      f.Call("POST", CasePath(id) + "/actions",
             json{{"action", "accept"}, {"version", before["version"]}}.dump(),
             td, {{"content-type", "application/json"}});
  REQUIRE_MESSAGE(acted.status == 200, acted.body);
  CHECK(json::parse(acted.body)["attachments"].size() == 3);
  CHECK(f.Call("GET", list["attachments"][0]["url"].get<std::string>(), "", td)
            .status == 200);

  // The OpenAPI document has the routes.
  json doc = json::parse(f.Call("GET", "/api/v1/openapi.json").body);
  CHECK(doc["paths"].contains("/api/v1/cases/{id}/attachments"));
  CHECK(doc["paths"].contains("/api/v1/cases/{id}/attachments/{att_id}"));
}

TEST_CASE("Attachments API: a photo without GPS has null lon and lat") {
  Fixture f;
  auto [leader, id] = f.LeaderCase(0);
  std::string plain = t::ReadBytes(t::MakeImage(f.src, "plain.png", "PNG"));
  ApiResponse up = f.Call("POST", CasePath(id) + "/attachments", plain,
                          f.Login(leader), {{"content-type", "image/png"}});
  REQUIRE_MESSAGE(up.status == 201, up.body);
  json a = json::parse(up.body);
  CHECK(a["lon"].is_null());
  CHECK(a["lat"].is_null());
  CHECK(a["orientation"] == 1);
}

TEST_CASE("Attachments API: refusals say what is wrong and write nothing") {
  // One fixture for all: each refusal must leave nothing behind for the next.
  Fixture f;
  auto [leader, id] = f.LeaderCase(0);
  auto [other, other_id] = f.LeaderCase(100);
  REQUIRE(other != leader);
  std::string token = f.Login(leader);
  std::string path = CasePath(id) + "/attachments";
  std::string jpg = f.Photo("a.jpg", "JPEG");
  std::string png = f.Photo("a.png", "PNG");
  std::string bad_crc = png;
  bad_crc[bad_crc.find("IDAT") + 6] ^= 0x55;
  auto error = [](const ApiResponse& r) {
    return json::parse(r.body)["error"];
  };

  {
    INFO("a text file renamed .jpg");
    ApiResponse r = f.Call("POST", path, "Dear sir, please fix the road.\n",
                           token, {{"content-type", "image/jpeg"}});
    CHECK(r.status == 400);
    CHECK(error(r)["field"] == "body");
    std::string message = error(r)["message"];
    CHECK(message.find("不是图片 / not an image") != std::string::npos);
    CHECK(message.find("\"Dear sir\"") != std::string::npos);
    CHECK(message.find("send a JPEG, PNG or WebP photo") != std::string::npos);
  }
  {
    INFO("a truncated JPEG");
    ApiResponse r = f.Call("POST", path, jpg.substr(0, jpg.size() * 2 / 3),
                           token, {{"content-type", "image/jpeg"}});
    CHECK(r.status == 400);
    CHECK(error(r)["message"].get<std::string>().find("cut short") !=
          std::string::npos);
  }
  {
    INFO("a PNG with a bad chunk CRC");
    ApiResponse r = f.Call("POST", path, bad_crc, token);
    CHECK(r.status == 400);
    CHECK(error(r)["message"].get<std::string>().find("CRC") !=
          std::string::npos);
  }
  {
    INFO("a truncated PNG");
    ApiResponse r = f.Call("POST", path, png.substr(0, png.size() - 30), token);
    CHECK(r.status == 400);
  }
  {
    INFO("an empty body");
    ApiResponse r = f.Call("POST", path, "", token);
    CHECK(r.status == 400);
    CHECK(error(r)["field"] == "body");
  }
  {
    INFO("a body over 10 MiB: 413");
    std::string big = jpg + std::string((10 << 20) - jpg.size() + 1, '\0');
    ApiResponse r = f.Call("POST", path, big, token);
    CHECK(r.status == 413);
    CHECK(error(r)["code"] == "payload_too_large");
  }
  {
    INFO("a multipart form instead of the image");
    ApiResponse r =
        f.Call("POST", path, jpg, token,
               {{"content-type", "multipart/form-data; boundary=x"}});
    CHECK(r.status == 415);
  }
  {
    INFO("another grid leader's case: 404, to upload and to read");
    ApiResponse mine = f.Call("POST", path, jpg, token);
    REQUIRE(mine.status == 201);
    std::string url = json::parse(mine.body)["url"];
    size_t files = f.FileCount();
    std::string to = f.Login(other);
    CHECK(f.Call("POST", path, png, to).status == 404);
    CHECK(f.Call("GET", path, "", to).status == 404);
    CHECK(f.Call("GET", url, "", to).status == 404);
    CHECK(f.Call("GET", CasePath(id), "", to).status == 404);
    CHECK(f.FileCount() == files);
    // An attachment id under another case is not found either.
    std::string other_url =
        CasePath(other_id) + "/attachments/" + url.substr(url.rfind('/') + 1);
    CHECK(f.Call("GET", other_url, "", to).status == 404);
    CHECK(f.Call("GET", path + "/999", "", token).status == 404);
  }
  {
    INFO("no token: 401");
    CHECK(f.Call("POST", path, jpg).status == 401);
    CHECK(f.Call("GET", path).status == 401);
    CHECK(f.Call("GET", path + "/1").status == 401);
    CHECK(f.Call("POST", path, jpg, "not-a-token").status == 401);
  }
  {
    INFO("a case that does not exist");
    CHECK(
        f.Call("POST", "/api/v1/cases/987654/attachments", jpg, token).status ==
        404);
  }
  {
    INFO("wrong methods and paths");
    CHECK(f.Call("POST", path + "/1", jpg, token).status == 405);
    CHECK(f.Call("DELETE", path, "", token).status == 405);
    CHECK(f.Call("GET", path + "/../../../etc/passwd", "", token).status ==
          404);
    CHECK(f.Call("GET", path + "/abc", "", token).status == 404);
  }
  // Of all the above, only the one good upload left anything behind.
  json list = json::parse(f.Call("GET", path, "", token).body);
  CHECK(list["attachments"].size() == 1);
  CHECK(f.FileCount() == 1);
}
