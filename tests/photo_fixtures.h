#pragma once
// Real photos for the attachment tests, made the way a phone makes them:
// GDAL (gdal_translate) encodes a gradient as JPEG, PNG or WebP, and
// exiftool writes what a camera app adds (GPS position, orientation, make
// and model, time, XMP, a comment). gdalinfo -checksum decodes a file.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "tests/temp_dir.h"

namespace wangge::testing {

// Runs `cmd` through the shell; returns its stdout (stderr is dropped) and
// sets `status` to the exit status.
inline std::string Shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!pipe) {
    if (status) *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int raw = pclose(pipe);
  if (status) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// A w x h RGB image in `format` (JPEG, PNG or WEBP, GDAL driver names) at
// `dir`/`name`; `options` are extra gdal_translate arguments such as
// "-co LOSSLESS=YES". Returns its path, or "" if GDAL failed.
inline std::string MakeImage(const TempDir& dir, const std::string& name,
                             const std::string& format, int w = 64, int h = 48,
                             const std::string& options = "") {
  std::string ppm =
      "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      ppm += char(x * 4 % 256);
      ppm += char(y * 5 % 256);
      ppm += char((x + y) * 2 % 256);
    }
  }
  std::string src = dir.Write(name + ".ppm", ppm);
  std::string out = dir / name;
  int status = 0;
  Shell("gdal_translate -q --config GDAL_PAM_ENABLED NO -of " + format + " " +
            options + " '" + src + "' '" + out + "'",
        &status);
  return status == 0 ? out : "";
}

// Writes a phone's metadata into `path` with exiftool: GPS lat/lon (signs
// give the hemisphere), Orientation, Make/Model, DateTimeOriginal, an XMP
// creator and (JPEG) a comment, in EXIF byte order `order` ("MM" or "II").
// Returns exiftool's exit status.
inline int AddPhoneMetadata(const std::string& path, double lat, double lon,
                            int orientation, const std::string& order = "MM") {
  std::ostringstream cmd;
  cmd.precision(10);
  cmd << "exiftool -q -overwrite_original -ExifByteOrder=" << order
      << " -GPSLatitude=" << std::abs(lat)
      << " -GPSLatitudeRef=" << (lat < 0 ? "S" : "N")
      << " -GPSLongitude=" << std::abs(lon)
      << " -GPSLongitudeRef=" << (lon < 0 ? "W" : "E")
      << " -Orientation#=" << orientation << " -Make=Xiaomi -Model=RedmiNote12"
      << " '-DateTimeOriginal=2026:11:30 08:00:00'"
      << " -XMP-dc:Creator=ZhangSan";
  if (path.ends_with(".jpg")) cmd << " -Comment=ZhangSanPhone";
  cmd << " '" << path << "'";
  int status = 0;
  Shell(cmd.str(), &status);
  return status;
}

// exiftool's view of every tag in `path`, one "[Group] Tag : value" a line.
inline std::string ExifToolTags(const std::string& path) {
  return Shell("exiftool -a -G1 -s '" + path + "'");
}

// GDAL's checksum of band 1 after decoding all of `path`, or "" if GDAL
// cannot read it.
inline std::string GdalChecksum(const std::string& path) {
  int status = 0;
  std::string out =
      Shell("gdalinfo -checksum --config GDAL_PAM_ENABLED NO '" + path + "'",
            &status);
  size_t at = out.find("Checksum=");
  if (status != 0 || at == std::string::npos) return "";
  return out.substr(at, out.find('\n', at) - at);
}

}  // namespace wangge::testing
