#include "core/attachments.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "core/accounts.h"
#include "tests/photo_fixtures.h"
#include "tests/temp_dir.h"

using namespace wangge;
using wangge::testing::TempDir;
namespace fs = std::filesystem;
namespace t = wangge::testing;

namespace {

constexpr double kLat = 34.51, kLon = 110.24;  // 太要镇

// What must not survive stripping: the tags AddPhoneMetadata wrote.
void CheckNoMetadata(const std::string& path) {
  std::string tags = t::ExifToolTags(path);
  REQUIRE_MESSAGE(!tags.empty(), ("exiftool could not read " + path));
  for (const char* leak :
       {"[GPS]", "[IFD0]", "[ExifIFD]", "[XMP", "GPSLatitude", "Xiaomi",
        "RedmiNote12", "ZhangSan", "2026:11:30 08:00:00", "Orientation",
        "ExifByteOrder", "ICC"}) {
    CHECK_MESSAGE(tags.find(leak) == std::string::npos,
                  (std::string(leak) + " left in " + path + ":\n" + tags));
  }
}

// One file a phone made: format, file name, gdal_translate options, EXIF
// byte order.
struct PhoneFile {
  const char* format;
  const char* name;
  const char* options;
  const char* order;
  const char* mime;
};

constexpr PhoneFile kPhoneFiles[] = {
    {"JPEG", "p.jpg", "", "MM", "image/jpeg"},
    {"JPEG", "p.jpg", "", "II", "image/jpeg"},
    {"PNG", "p.png", "", "MM", "image/png"},
    {"PNG", "p.png", "", "II", "image/png"},
    {"WEBP", "p.webp", "", "MM", "image/webp"},
    {"WEBP", "p.webp", "-co LOSSLESS=YES", "II", "image/webp"},
};

// A store with one user and `cases` cases; returns the first case's id.
struct Db {
  TempDir dir;
  std::unique_ptr<core::Store> store;
  std::string files = dir / "town.db.files";
  int64_t user = 0;
  std::vector<int64_t> cases;

  explicit Db(int n = 2) {
    auto s = core::Store::Create(dir / "town.db");
    REQUIRE(s);
    store = std::move(*s);
    auto u = store->AddUser({.username = "gl", .role = "grid_leader"});
    REQUIRE(u);
    user = *u;
    for (int k = 0; k < n; ++k) {
      core::CaseRecord c{.status = "reported",
                         .category = "x",
                         .description = "photo test",
                         .reported_at = "2026-11-30T08:00:00+08:00",
                         .received_at = "2026-11-30T08:00:00+08:00",
                         .reporter = user,
                         .idempotency_key = "k" + std::to_string(k)};
      auto in = store->InsertCase(
          c, {.actor = user, .at = c.received_at, .to = "reported"});
      REQUIRE_MESSAGE(in, (in ? "" : in.error().message));
      cases.push_back(in->record.id);
    }
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

}  // namespace

TEST_CASE(
    "ReadPhoto: a phone's photo gives its GPS position and loses all "
    "metadata, pixels unchanged") {
  for (const PhoneFile& f : kPhoneFiles) {
    CAPTURE(f.format);
    CAPTURE(f.order);
    CAPTURE(f.options);
    TempDir dir;
    std::string path = t::MakeImage(dir, f.name, f.format, 64, 48, f.options);
    REQUIRE_MESSAGE(!path.empty(), "gdal_translate failed");
    std::string checksum = t::GdalChecksum(path);
    REQUIRE(!checksum.empty());
    REQUIRE(t::AddPhoneMetadata(path, kLat, kLon, 6, f.order) == 0);
    REQUIRE(t::ExifToolTags(path).find("[GPS]") != std::string::npos);

    auto photo = core::ReadPhoto(t::ReadBytes(path));
    REQUIRE_MESSAGE(photo, (photo ? "" : photo.error().message));
    CHECK(photo->mime == f.mime);
    REQUIRE(photo->lat);
    REQUIRE(photo->lon);
    CHECK(*photo->lat == doctest::Approx(kLat).epsilon(1e-9));
    CHECK(*photo->lon == doctest::Approx(kLon).epsilon(1e-9));
    CHECK(photo->orientation == 6);
    CHECK(photo->width == 64);
    CHECK(photo->height == 48);

    std::string stored =
        dir.Write(std::string("stored-") + f.name, photo->stripped);
    CheckNoMetadata(stored);
    CHECK(t::GdalChecksum(stored) == checksum);

    // Stripping is idempotent and finds nothing the second time.
    auto again = core::ReadPhoto(photo->stripped);
    REQUIRE(again);
    CHECK(again->stripped == photo->stripped);
    CHECK(!again->lat);
    CHECK(again->orientation == 1);
  }
}

TEST_CASE("ReadPhoto: southern and western hemispheres are negative") {
  TempDir dir;
  std::string path = t::MakeImage(dir, "sw.jpg", "JPEG");
  REQUIRE(!path.empty());
  REQUIRE(t::AddPhoneMetadata(path, -33.8675, -70.65, 1, "II") == 0);
  auto photo = core::ReadPhoto(t::ReadBytes(path));
  REQUIRE(photo);
  CHECK(*photo->lat == doctest::Approx(-33.8675).epsilon(1e-9));
  CHECK(*photo->lon == doctest::Approx(-70.65).epsilon(1e-9));
}

TEST_CASE("ReadPhoto: a photo without EXIF has no position") {
  TempDir dir;
  for (auto [format, name] :
       {std::pair{"JPEG", "n.jpg"}, {"PNG", "n.png"}, {"WEBP", "n.webp"}}) {
    CAPTURE(format);
    std::string path = t::MakeImage(dir, name, format);
    REQUIRE(!path.empty());
    auto photo = core::ReadPhoto(t::ReadBytes(path));
    REQUIRE_MESSAGE(photo, (photo ? "" : photo.error().message));
    CHECK(!photo->lat);
    CHECK(!photo->lon);
    CHECK(photo->orientation == 1);
  }
}

TEST_CASE("ReadPhoto: refuses what is not a whole image and says why") {
  TempDir dir;
  std::string jpg = t::ReadBytes(t::MakeImage(dir, "a.jpg", "JPEG"));
  std::string png = t::ReadBytes(t::MakeImage(dir, "a.png", "PNG"));
  std::string webp = t::ReadBytes(t::MakeImage(dir, "a.webp", "WEBP"));
  REQUIRE(jpg.size() > 100);
  REQUIRE(png.size() > 60);
  REQUIRE(webp.size() > 40);
  REQUIRE(core::ReadPhoto(jpg));
  REQUIRE(core::ReadPhoto(png));
  REQUIRE(core::ReadPhoto(webp));

  std::string bad_crc = png;
  bad_crc[bad_crc.find("IDAT") + 6] ^= 0x55;
  std::string bad_length = jpg;
  bad_length[4] = bad_length[5] = 0;  // APP0 length 0

  struct Refusal {
    const char* what;
    std::string bytes;
    const char* says;
  } refusals[] = {
      {"a text file renamed .jpg", "hello, this is not a photo\n",
       "not an image: the file starts with \"hello, t\""},
      {"empty", "", "the body is empty"},
      {"a short text file", "hello\n", "starts with \"hello \""},
      {"a GIF", "GIF89a\x01\x00\x01\x00", "(a GIF)"},
      {"a PDF", "%PDF-1.7\n", "(a PDF)"},
      {"an iPhone HEIC",
       std::string("\0\0\0\x18"
                   "ftypheic",
                   12) +
           "xxxx",
       "HEIC"},
      {"a truncated JPEG", jpg.substr(0, jpg.size() / 2), "cut short"},
      {"a JPEG without its last byte", jpg.substr(0, jpg.size() - 1),
       "cut short"},
      {"garbage after JPEG magic",
       std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\0", 11) + "garbage garbage",
       "JPEG is damaged"},
      {"a JPEG with a bad segment length", bad_length, "JPEG is damaged"},
      {"a PNG with a bad chunk CRC", bad_crc, "CRC"},
      {"a truncated PNG", png.substr(0, png.size() - 20), "cut short"},
      {"a PNG signature alone", png.substr(0, 8), "cut short"},
      {"a truncated WebP", webp.substr(0, webp.size() - 10), "cut short"},
      {"a WebP header with no image",
       std::string("RIFF\x04\x00\x00\x00WEBP", 12), "no image data"},
  };
  for (const auto& r : refusals) {
    CAPTURE(r.what);
    auto photo = core::ReadPhoto(r.bytes);
    REQUIRE_FALSE(photo);
    CHECK(photo.error().code == ErrorCode::kInvalidArgument);
    CHECK(photo.error().field == "body");
    CHECK_MESSAGE(photo.error().message.find(r.says) != std::string::npos,
                  photo.error().message);
  }
  auto big = core::ReadPhoto(std::string(core::kMaxPhotoBytes + 1, '\xFF'));
  REQUIRE_FALSE(big);
  CHECK(big.error().message.find("10 MiB") != std::string::npos);
}

TEST_CASE(
    "ReadPhoto: JPEG keeps JFIF and the image, drops APPn, COM and "
    "what follows EOI") {
  TempDir dir;
  std::string path = t::MakeImage(dir, "a.jpg", "JPEG");
  REQUIRE(t::AddPhoneMetadata(path, kLat, kLon, 3) == 0);
  std::string bytes = t::ReadBytes(path) + "TRAILER-WITH-SECRETS";
  auto photo = core::ReadPhoto(bytes);
  REQUIRE(photo);
  const std::string& s = photo->stripped;
  CHECK(s.starts_with("\xFF\xD8\xFF\xE0"));
  CHECK(s.substr(6, 4) == "JFIF");
  CHECK(s.ends_with("\xFF\xD9"));
  CHECK(s.find("Exif") == std::string::npos);
  CHECK(s.find("ZhangSan") == std::string::npos);
  CHECK(s.find("TRAILER") == std::string::npos);
  CHECK(s.size() < bytes.size());
}

TEST_CASE(
    "SaveAttachment: file by content hash, then the row. Same bytes "
    "make one file") {
  Db db;
  TempDir src;
  std::string path = t::MakeImage(src, "a.jpg", "JPEG");
  REQUIRE(t::AddPhoneMetadata(path, kLat, kLon, 6) == 0);
  std::string upload = t::ReadBytes(path);

  auto saved = core::SaveAttachment(*db.store, db.files, db.cases[0], db.user,
                                    upload, "2026-11-30T00:00:00Z");
  REQUIRE_MESSAGE(saved, (saved ? "" : saved.error().message));
  CHECK_FALSE(saved->existed);
  const core::Attachment& a = saved->attachment;
  CHECK(a.id > 0);
  CHECK(a.case_id == db.cases[0]);
  CHECK(a.mime == "image/jpeg");
  CHECK(a.orientation == 6);
  CHECK(*a.lat == doctest::Approx(kLat));
  CHECK(*a.lon == doctest::Approx(kLon));
  CHECK(a.width == 64);
  CHECK(a.uploaded_by == db.user);
  std::string file = core::AttachmentPath(db.files, a.sha256);
  CHECK(file == db.files + "/" + a.sha256.substr(0, 2) + "/" + a.sha256);
  std::string stored = t::ReadBytes(file);
  CHECK(int64_t(stored.size()) == a.bytes);
  CHECK(core::Sha256Hex(stored) == a.sha256);
  CheckNoMetadata(file);
  auto read = core::ReadAttachmentFile(db.files, a);
  REQUIRE(read);
  CHECK(*read == stored);

  // The same upload again: same row. On another case: a new row, one file.
  auto again = core::SaveAttachment(*db.store, db.files, db.cases[0], db.user,
                                    upload, "2026-11-30T00:01:00Z");
  REQUIRE(again);
  CHECK(again->existed);
  CHECK(again->attachment.id == a.id);
  auto other = core::SaveAttachment(*db.store, db.files, db.cases[1], db.user,
                                    upload, "2026-11-30T00:02:00Z");
  REQUIRE(other);
  CHECK_FALSE(other->existed);
  CHECK(other->attachment.id != a.id);
  CHECK(other->attachment.sha256 == a.sha256);
  CHECK(db.FileCount() == 1);

  auto listed = db.store->Attachments(db.cases[0]);
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].sha256 == a.sha256);
  CHECK((*listed)[0].uploaded_at == "2026-11-30T00:00:00Z");
  auto got = db.store->GetAttachment(other->attachment.id);
  REQUIRE(got);
  CHECK(got->case_id == db.cases[1]);
  CHECK_FALSE(db.store->GetAttachment(9999));

  // A photo without a position stores NULLs, read back as none.
  std::string plain = t::ReadBytes(t::MakeImage(src, "b.png", "PNG"));
  auto no_gps = core::SaveAttachment(*db.store, db.files, db.cases[0], db.user,
                                     plain, "2026-11-30T00:03:00Z");
  REQUIRE(no_gps);
  auto back = db.store->GetAttachment(no_gps->attachment.id);
  REQUIRE(back);
  CHECK_FALSE(back->lat);
  CHECK_FALSE(back->lon);
  CHECK(back->mime == "image/png");
  CHECK(db.FileCount() == 2);

  // A missing file is reported, not served empty.
  fs::remove(file);
  auto gone = core::ReadAttachmentFile(db.files, a);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == ErrorCode::kUnavailable);
}

TEST_CASE("SaveAttachment: a refused upload writes nothing") {
  Db db;
  TempDir src;
  std::string jpg = t::ReadBytes(t::MakeImage(src, "a.jpg", "JPEG"));
  for (const std::string& bytes :
       {std::string("just text"), jpg.substr(0, jpg.size() - 2)}) {
    auto saved = core::SaveAttachment(*db.store, db.files, db.cases[0], db.user,
                                      bytes, "2026-11-30T00:00:00Z");
    REQUIRE_FALSE(saved);
    CHECK(saved.error().code == ErrorCode::kInvalidArgument);
  }
  // An unknown case: refused before any file is written.
  auto unknown = core::SaveAttachment(*db.store, db.files, 4242, db.user, jpg,
                                      "2026-11-30T00:00:00Z");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(db.FileCount() == 0);
  auto listed = db.store->Attachments(db.cases[0]);
  REQUIRE(listed);
  CHECK(listed->empty());
}
