#include "core/attachments.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/accounts.h"

namespace wangge::core {
namespace {

namespace fs = std::filesystem;

const char kSendPhoto[] = "; send a JPEG, PNG or WebP photo";

std::unexpected<Error> Bad(const std::string& message) {
  return std::unexpected(Error{ErrorCode::kInvalidArgument, message, "body"});
}

uint8_t U8(std::string_view b, size_t i) { return uint8_t(b[i]); }
uint32_t Be16(std::string_view b, size_t i) {
  return uint32_t(U8(b, i)) << 8 | U8(b, i + 1);
}
uint32_t Be32(std::string_view b, size_t i) {
  return Be16(b, i) << 16 | Be16(b, i + 2);
}
uint32_t Le16(std::string_view b, size_t i) {
  return uint32_t(U8(b, i + 1)) << 8 | U8(b, i);
}
uint32_t Le24(std::string_view b, size_t i) {
  return uint32_t(U8(b, i + 2)) << 16 | Le16(b, i);
}
uint32_t Le32(std::string_view b, size_t i) {
  return Le16(b, i + 2) << 16 | Le16(b, i);
}
void PutLe32(std::string& out, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) out[at + k] = char(v >> (8 * k) & 0xff);
}

// The first bytes of an upload, for an error message: text if printable,
// hex otherwise.
std::string Preview(std::string_view b) {
  std::string_view head = b.substr(0, 8);
  bool text = !head.empty();
  std::string shown;
  for (char ch : head) {
    bool space = ch == '\n' || ch == '\r' || ch == '\t';
    text = text && ((ch >= 0x20 && ch < 0x7f) || space);
    shown += space ? ' ' : ch;
  }
  if (text) return "\"" + shown + "\"";
  std::string hex;
  for (size_t i = 0; i < head.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%s%02X", i ? " " : "", U8(head, i));
    hex += buf;
  }
  return hex.empty() ? "nothing (the body is empty)" : "bytes " + hex;
}

std::unexpected<Error> NotAnImage(std::string_view b) {
  std::string what;
  if (b.starts_with("GIF8")) {
    what = " (a GIF)";
  } else if (b.starts_with("%PDF")) {
    what = " (a PDF)";
  } else if (b.size() >= 12 && b.substr(4, 4) == "ftyp" &&
             (b.substr(8, 3) == "hei" || b.substr(8, 3) == "hev" ||
              b.substr(8, 4) == "mif1" || b.substr(8, 4) == "avif")) {
    what =
        " (a HEIC/AVIF photo: set the camera to \"Most Compatible\" or "
        "share it as JPEG)";
  }
  return Bad("不是图片 / not an image: the file starts with " + Preview(b) +
             what + kSendPhoto);
}

std::unexpected<Error> Damaged(const char* format, const std::string& why) {
  return Bad(std::string("图片已损坏 / the ") + format + " is damaged: " + why +
             "; send the original photo again");
}

// ---- EXIF (a TIFF structure) ----------------------------------------------

struct ExifInfo {
  int64_t orientation = 1;
  std::optional<double> lon, lat;
};

class Tiff {
 public:
  explicit Tiff(std::string_view t) : t_(t) {}

  // False if `t` has no TIFF header.
  bool Init() {
    if (t_.size() < 8) return false;
    if (t_.starts_with("II")) {
      little_ = true;
    } else if (!t_.starts_with("MM")) {
      return false;
    }
    return U16(2) == 42;
  }
  uint32_t U16(size_t i) const { return little_ ? Le16(t_, i) : Be16(t_, i); }
  uint32_t U32(size_t i) const { return little_ ? Le32(t_, i) : Be32(t_, i); }
  size_t size() const { return t_.size(); }

  struct Entry {
    uint32_t type = 0, count = 0;
    size_t value = 0;  // offset of the value (inline or pointed to)
  };
  // The entry `tag` of the IFD at `ifd`, if it is there and its value lies
  // inside the block.
  std::optional<Entry> Find(size_t ifd, uint32_t tag) const {
    if (ifd + 2 > t_.size()) return std::nullopt;
    uint32_t n = U16(ifd);
    for (uint32_t k = 0; k < n; ++k) {
      size_t e = ifd + 2 + size_t(k) * 12;
      if (e + 12 > t_.size()) return std::nullopt;
      if (U16(e) != tag) continue;
      Entry out{U16(e + 2), U32(e + 4), e + 8};
      static constexpr size_t kSizes[] = {0, 1, 1, 2, 4, 8, 1,
                                          1, 2, 4, 8, 4, 8, 4};
      size_t unit = out.type < std::size(kSizes) ? kSizes[out.type] : 0;
      if (unit == 0 || out.count > t_.size()) return std::nullopt;
      size_t bytes = unit * out.count;
      if (bytes > 4) out.value = U32(e + 8);
      if (out.value + bytes > t_.size()) return std::nullopt;
      return out;
    }
    return std::nullopt;
  }
  char Ascii(const Entry& e) const {
    return e.type == 2 && e.count >= 1 ? t_[e.value] : '\0';
  }
  // Degrees from three RATIONALs (degrees, minutes, seconds).
  std::optional<double> Dms(const Entry& e) const {
    if (e.type != 5 || e.count != 3) return std::nullopt;
    double v = 0, scale = 1;
    for (int k = 0; k < 3; ++k) {
      uint32_t num = U32(e.value + 8 * k), den = U32(e.value + 8 * k + 4);
      if (den == 0) return std::nullopt;
      v += double(num) / den / scale;
      scale *= 60;
    }
    return v;
  }

 private:
  std::string_view t_;
  bool little_ = false;
};

ExifInfo ParseExif(std::string_view block) {
  ExifInfo info;
  if (block.starts_with(std::string_view("Exif\0\0", 6)))
    block.remove_prefix(6);
  Tiff t(block);
  if (!t.Init()) return info;
  size_t ifd0 = t.U32(4);
  if (auto o = t.Find(ifd0, 0x0112); o && o->type == 3 && o->count >= 1) {
    uint32_t v = t.U16(o->value);
    if (v >= 1 && v <= 8) info.orientation = v;
  }
  auto gps = t.Find(ifd0, 0x8825);
  if (!gps || (gps->type != 4 && gps->type != 13) || gps->count != 1) {
    return info;
  }
  size_t gps_ifd = t.U32(gps->value);
  auto lat_ref = t.Find(gps_ifd, 1), lat = t.Find(gps_ifd, 2);
  auto lon_ref = t.Find(gps_ifd, 3), lon = t.Find(gps_ifd, 4);
  if (!lat || !lon) return info;
  auto la = t.Dms(*lat), lo = t.Dms(*lon);
  if (!la || !lo || *la > 90 || *lo > 180) return info;
  if (*la == 0 && *lo == 0) return info;  // "no fix" written as zeros
  char ns = lat_ref ? t.Ascii(*lat_ref) : 'N';
  char ew = lon_ref ? t.Ascii(*lon_ref) : 'E';
  info.lat = ns == 'S' ? -*la : *la;
  info.lon = ew == 'W' ? -*lo : *lo;
  return info;
}

void Apply(const ExifInfo& e, Photo& p) {
  p.orientation = e.orientation;
  p.lon = e.lon;
  p.lat = e.lat;
}

// ---- JPEG -------------------------------------------------------------------

Result<Photo> ReadJpeg(std::string_view b) {
  Photo p{.mime = "image/jpeg"};
  std::string& out = p.stripped;
  out.reserve(b.size());
  out.append("\xFF\xD8");
  size_t pos = 2;
  bool frame = false, scan = false, exif_read = false;
  auto at = [](size_t i) { return " at byte " + std::to_string(i); };
  auto cut = [&]() -> Result<Photo> {
    return Damaged("JPEG",
                   "it ends before its end-of-image marker (cut short while "
                   "sending or saving?)");
  };
  while (true) {
    if (pos >= b.size()) return cut();
    if (U8(b, pos) != 0xFF) {
      return Damaged("JPEG", "expected a marker" + at(pos) + ", found " +
                                 Preview(b.substr(pos)));
    }
    while (pos < b.size() && U8(b, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) return cut();
    uint8_t marker = U8(b, pos++);
    if (marker == 0xD9) {  // EOI; anything after it is dropped
      if (!scan) return Damaged("JPEG", "it has no image data");
      out.append("\xFF\xD9");
      break;
    }
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    if (marker == 0xD8 || marker == 0x00) {
      return Damaged("JPEG", "unexpected marker" + at(pos - 2));
    }
    if (pos + 2 > b.size()) return cut();
    size_t len = Be16(b, pos);
    if (pos + len > b.size()) return cut();
    if (len < 2) return Damaged("JPEG", "bad segment length" + at(pos));
    std::string_view data = b.substr(pos + 2, len - 2);
    std::string_view segment = b.substr(pos - 2, len + 2);
    pos += len;
    bool keep = true;
    if (marker == 0xE0) {
      keep = data.starts_with(std::string_view("JFIF\0", 5));
    } else if (marker == 0xEE) {
      keep = data.starts_with("Adobe") && data.size() == 12;
    } else if (marker >= 0xE1 && marker <= 0xEF) {
      if (marker == 0xE1 && !exif_read &&
          data.starts_with(std::string_view("Exif\0\0", 6))) {
        Apply(ParseExif(data), p);
        exif_read = true;
      }
      keep = false;
    } else if (marker == 0xFE) {
      keep = false;
    } else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 &&
               marker != 0xC8 && marker != 0xCC) {
      if (data.size() < 6) return Damaged("JPEG", "a frame header is short");
      p.height = Be16(data, 1);
      p.width = Be16(data, 3);
      if (*p.width == 0) return Damaged("JPEG", "the width is 0");
      frame = true;
    }
    if (keep) out.append(segment);
    if (marker != 0xDA) continue;
    // A scan: entropy-coded data up to the next marker other than a
    // stuffed 0xFF00 or a restart marker.
    if (!frame) return Damaged("JPEG", "image data comes before its header");
    size_t i = pos;
    while (i + 1 < b.size()) {
      if (U8(b, i) != 0xFF) {
        ++i;
        continue;
      }
      uint8_t next = U8(b, i + 1);
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
        i += 2;
      } else if (next == 0xFF) {
        ++i;
      } else {
        break;
      }
    }
    if (i + 1 >= b.size()) return cut();
    out.append(b.substr(pos, i - pos));
    pos = i;
    scan = true;
  }
  return p;
}

// ---- PNG --------------------------------------------------------------------

Result<Photo> ReadPng(std::string_view b) {
  static constexpr std::string_view kKeep[] = {
      "IHDR", "PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "sBIT", "IDAT", "IEND"};
  Photo p{.mime = "image/png"};
  std::string& out = p.stripped;
  out.reserve(b.size());
  out.append(b.substr(0, 8));
  size_t pos = 8;
  bool header = false, data = false;
  while (true) {
    if (pos + 12 > b.size()) {
      return Damaged("PNG", "it ends at byte " + std::to_string(pos) +
                                " without an IEND chunk (cut short while "
                                "sending or saving?)");
    }
    uint32_t len = Be32(b, pos);
    std::string_view type = b.substr(pos + 4, 4);
    for (char ch : type) {
      if (!std::isalpha(static_cast<unsigned char>(ch))) {
        return Damaged("PNG", "a chunk at byte " + std::to_string(pos) +
                                  " has no valid type");
      }
    }
    if (len > b.size() - pos - 12) {
      return Damaged("PNG", "chunk " + std::string(type) + " at byte " +
                                std::to_string(pos) +
                                " runs past the end of the file (cut short?)");
    }
    std::string_view body = b.substr(pos + 8, len);
    uint32_t crc = Be32(b, pos + 8 + len);
    uLong want = crc32(0, reinterpret_cast<const Bytef*>(b.data() + pos + 4),
                       uInt(len + 4));
    if (crc != want) {
      return Damaged("PNG", "chunk " + std::string(type) + " at byte " +
                                std::to_string(pos) + " fails its CRC check");
    }
    std::string_view chunk = b.substr(pos, size_t(len) + 12);
    pos += size_t(len) + 12;
    if (!header) {
      if (type != "IHDR" || len != 13) {
        return Damaged("PNG", "it does not start with an IHDR header");
      }
      p.width = Be32(body, 0);
      p.height = Be32(body, 4);
      if (*p.width == 0 || *p.height == 0) {
        return Damaged("PNG", "the width or height is 0");
      }
      header = true;
    }
    if (type == "eXIf") Apply(ParseExif(body), p);
    if (type == "IDAT") data = true;
    bool critical = std::isupper(static_cast<unsigned char>(type[0]));
    bool keep =
        std::find(std::begin(kKeep), std::end(kKeep), type) != std::end(kKeep);
    if (critical && !keep) {
      return Damaged("PNG", "it has chunk " + std::string(type) +
                                " that picture viewers cannot read");
    }
    if (keep) out.append(chunk);
    if (type == "IEND") break;  // anything after it is dropped
  }
  if (!data) return Damaged("PNG", "it has no image data (IDAT)");
  return p;
}

// ---- WebP -------------------------------------------------------------------

Result<Photo> ReadWebp(std::string_view b) {
  Photo p{.mime = "image/webp"};
  size_t riff_end = size_t(Le32(b, 4)) + 8;
  if (riff_end > b.size()) {
    return Damaged("WebP", "its header says " + std::to_string(riff_end) +
                               " bytes but the file has " +
                               std::to_string(b.size()) +
                               " (cut short while sending or saving?)");
  }
  b = b.substr(0, riff_end);  // anything after the RIFF is dropped
  std::string& out = p.stripped;
  out.reserve(b.size());
  out.append(b.substr(0, 12));
  size_t pos = 12;
  bool image = false, first = true;
  std::optional<size_t> vp8x;  // where the VP8X flags byte is in `out`
  while (pos < b.size()) {
    if (pos + 8 > b.size()) {
      return Damaged("WebP", "a chunk header at byte " + std::to_string(pos) +
                                 " is cut short");
    }
    std::string_view tag = b.substr(pos, 4);
    size_t len = Le32(b, pos + 4);
    size_t padded = len + (len & 1);
    if (len > b.size() - pos - 8 ||
        (padded > b.size() - pos - 8 && pos + 8 + len != b.size())) {
      return Damaged("WebP", "chunk " + std::string(tag) +
                                 " runs past the end of the file (cut short?)");
    }
    padded = std::min(padded, b.size() - pos - 8);
    std::string_view data = b.substr(pos + 8, len);
    std::string_view chunk = b.substr(pos, 8 + padded);
    pos += 8 + padded;
    if (first && tag != "VP8 " && tag != "VP8L" && tag != "VP8X") {
      return Damaged("WebP", "it does not start with an image chunk");
    }
    first = false;
    bool keep = false;
    if (tag == "VP8X") {
      if (len < 10) return Damaged("WebP", "the VP8X header is short");
      p.width = Le24(data, 4) + 1;
      p.height = Le24(data, 7) + 1;
      vp8x = out.size() + 8;
      keep = true;
    } else if (tag == "VP8 ") {
      if (len < 10 || data.substr(3, 3) != "\x9D\x01\x2A") {
        return Damaged("WebP", "the VP8 image header is not valid");
      }
      if (!p.width) {
        p.width = Le16(data, 6) & 0x3fff;
        p.height = Le16(data, 8) & 0x3fff;
      }
      image = keep = true;
    } else if (tag == "VP8L") {
      if (len < 5 || U8(data, 0) != 0x2f) {
        return Damaged("WebP", "the VP8L image header is not valid");
      }
      if (!p.width) {
        uint32_t bits = Le32(data, 1);
        p.width = (bits & 0x3fff) + 1;
        p.height = (bits >> 14 & 0x3fff) + 1;
      }
      image = keep = true;
    } else if (tag == "ANMF") {
      image = keep = true;
    } else if (tag == "ALPH" || tag == "ANIM") {
      keep = true;
    } else if (tag == "EXIF") {
      Apply(ParseExif(data), p);
    }
    if (keep) {
      out.append(chunk);
      if (len & 1 && chunk.size() == 8 + len) out.push_back('\0');
    }
  }
  if (!image) return Damaged("WebP", "it has no image data");
  if (vp8x) out[*vp8x] = char(U8(out, *vp8x) & ~(0x20 | 0x08 | 0x04));
  PutLe32(out, 4, uint32_t(out.size() - 8));
  return p;
}

// ---- files ------------------------------------------------------------------

Error DiskError(const std::string& what, const std::string& path) {
  return Error{ErrorCode::kUnavailable,
               "storing a photo: " + what + " " + path + ": " +
                   std::strerror(errno) +
                   "; check the disk and the permissions of the files "
                   "directory",
               ""};
}

Result<void> SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(DiskError("cannot open", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return std::unexpected(DiskError("cannot sync", dir));
  return {};
}

// Writes `bytes` to `path` durably: temporary file, fsync, rename, fsync
// of the directory. Leaves an existing file of the same size alone (the
// name is the content's hash).
Result<void> WriteOnce(const std::string& files_dir, const std::string& path,
                       std::string_view bytes) {
  std::error_code ec;
  if (fs::file_size(path, ec) == bytes.size() && !ec) return {};
  fs::path dir = fs::path(path).parent_path();
  bool made_root = fs::create_directories(files_dir, ec);
  bool made_dir = fs::create_directories(dir, ec);
  if (ec) {
    errno = ec.value();
    return std::unexpected(DiskError("cannot create", dir.string()));
  }
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(DiskError("cannot create", tmp));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  bool ok = done == bytes.size() && ::fsync(fd) == 0;
  Error failed = ok ? Error{} : DiskError("cannot write", tmp);
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    failed = DiskError("cannot rename to", path);
    ok = false;
  }
  if (!ok) {
    if (failed.message.empty()) failed = DiskError("cannot close", tmp);
    ::unlink(tmp.c_str());
    return std::unexpected(failed);
  }
  if (made_root) {
    fs::path parent = fs::path(files_dir).parent_path();
    if (auto s = SyncDir(parent.empty() ? "." : parent.string()); !s) return s;
  }
  if (made_dir) {
    if (auto s = SyncDir(files_dir); !s) return s;
  }
  return SyncDir(dir.string());
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

}  // namespace

Result<Photo> ReadPhoto(std::string_view bytes) {
  if (bytes.empty()) {
    return Bad("没有图片 / the body is empty" + std::string(kSendPhoto) +
               " as the request body");
  }
  if (bytes.size() > kMaxPhotoBytes) {
    return Bad("图片过大 / the photo is " + std::to_string(bytes.size()) +
               " bytes; the limit is 10 MiB. Send a smaller photo");
  }
  if (bytes.size() >= 3 && bytes.starts_with("\xFF\xD8\xFF")) {
    return ReadJpeg(bytes);
  }
  if (bytes.starts_with("\x89PNG\r\n\x1A\n")) return ReadPng(bytes);
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") &&
      bytes.substr(8, 4) == "WEBP") {
    return ReadWebp(bytes);
  }
  return NotAnImage(bytes);
}

std::string DefaultFilesDir(const std::string& db_path) {
  return db_path + ".files";
}

std::string AttachmentPath(const std::string& files_dir,
                           const std::string& sha256) {
  return (fs::path(files_dir) / sha256.substr(0, 2) / sha256).string();
}

Result<Store::AddedAttachment> SaveAttachment(Store& store,
                                              const std::string& files_dir,
                                              int64_t case_id,
                                              int64_t uploaded_by,
                                              std::string_view upload,
                                              const std::string& uploaded_at) {
  auto photo = ReadPhoto(upload);
  if (!photo) return std::unexpected(photo.error());
  if (auto c = store.GetCase(case_id); !c) return std::unexpected(c.error());
  Attachment a{.case_id = case_id,
               .sha256 = Sha256Hex(photo->stripped),
               .mime = photo->mime,
               .bytes = int64_t(photo->stripped.size()),
               .width = photo->width,
               .height = photo->height,
               .orientation = photo->orientation,
               .lon = photo->lon,
               .lat = photo->lat,
               .uploaded_by = uploaded_by,
               .uploaded_at = uploaded_at};
  // The file first: a row must never point at a missing file.
  if (auto w = WriteOnce(files_dir, AttachmentPath(files_dir, a.sha256),
                         photo->stripped);
      !w) {
    return std::unexpected(w.error());
  }
  return store.AddAttachment(a);
}

Result<std::string> ReadAttachmentFile(const std::string& files_dir,
                                       const Attachment& a) {
  if (!IsHex64(a.sha256)) {
    return Fail(ErrorCode::kInternal,
                "attachment " + std::to_string(a.id) + " has a bad name");
  }
  std::string path = AttachmentPath(files_dir, a.sha256);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) bytes.clear();
  if (int64_t(bytes.size()) != a.bytes) {
    return Fail(ErrorCode::kUnavailable,
                "the file of attachment " + std::to_string(a.id) + " (" + path +
                    ") is missing or damaged; restore the files directory "
                    "from a backup");
  }
  return bytes;
}

}  // namespace wangge::core
