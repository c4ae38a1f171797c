#pragma once
// Attachments: photos of a case. An upload is checked by content (JPEG, PNG
// or WebP: the magic bytes and a walk over the file's structure, so a
// renamed text file, a truncated photo or garbage after valid magic is
// refused), its EXIF GPS position and orientation are read, and a copy with
// all metadata stripped is what gets stored.
//
// Stripping keeps only what decoding and display need:
// - JPEG: APP0 JFIF, the Adobe APP14 marker (colour transform), tables,
//   frames, scans, EOI. Dropped: every other APPn (EXIF, XMP, ICC, MPF, maker
//   data), COM, and anything after EOI (MPF pictures, trailers).
// - PNG: IHDR, PLTE, tRNS, gAMA, cHRM, sRGB, sBIT, IDAT, IEND. Dropped:
//   tEXt, zTXt, iTXt, eXIf, tIME, iCCP and every other ancillary chunk.
// - WebP: VP8X (flags for ICC, EXIF and XMP cleared), VP8/VP8L, ALPH, ANIM,
//   ANMF. Dropped: EXIF, XMP, ICCP and unknown chunks.
// The EXIF Orientation is lost with the metadata, so it is returned (and
// kept in the attachment row) for clients that show the stored copy.
//
// Storage: files live outside the database, named by the SHA-256 of the
// stored bytes: <files_dir>/<first two hex digits>/<sha256>. A file is
// written to a temporary name, fsynced, renamed and its directory fsynced
// before the row is inserted: a file without a row is harmless, a row
// without a file never happens. The same bytes twice make one file.
//
// The functions are safe from many threads (each with its own Store).
//
//   auto photo = ReadPhoto(body);     // kInvalidArgument: not an image
//   auto saved = SaveAttachment(store, files_dir, case_id, user.id, body,
//                               "2026-11-30T07:20:36Z");
//   Reply(saved->existed ? 200 : 201, saved->attachment);

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/store.h"

namespace wangge::core {

// The largest photo accepted, bytes (10 MiB).
inline constexpr size_t kMaxPhotoBytes = size_t{10} << 20;

// What ReadPhoto found in an upload.
struct Photo {
  std::string mime;  // image/jpeg, image/png or image/webp
  std::optional<int64_t> width, height;
  int64_t orientation = 1;         // EXIF Orientation 1..8; 1 if none
  std::optional<double> lon, lat;  // EXIF GPS in WGS84 degrees, if present
  std::string stripped;            // the bytes to store, metadata removed
};

// Checks that `bytes` is a whole JPEG, PNG or WebP image, reads its EXIF
// GPS position (IFD0 -> GPS IFD tags 1-4, either byte order; JPEG APP1,
// PNG eXIf, WebP EXIF) and orientation, and strips all metadata.
// kInvalidArgument (field "body") says what is wrong and what to send.
// A damaged EXIF block is ignored (the photo has no position), not refused.
Result<Photo> ReadPhoto(std::string_view bytes);

// "<db_path>.files": where a database's attachments live by default.
std::string DefaultFilesDir(const std::string& db_path);
// <files_dir>/<ab>/<sha256>. REQUIRES: sha256 is 64 hex digits.
std::string AttachmentPath(const std::string& files_dir,
                           const std::string& sha256);

// Reads `upload` (ReadPhoto), stores the stripped copy durably in
// `files_dir`, then adds the row for `case_id`. The same photo on the same
// case returns the existing row with `existed` set. kInvalidArgument for a
// photo that is not acceptable (nothing is written), kNotFound for an
// unknown case, kUnavailable when the disk or database fails.
Result<Store::AddedAttachment> SaveAttachment(Store& store,
                                              const std::string& files_dir,
                                              int64_t case_id,
                                              int64_t uploaded_by,
                                              std::string_view upload,
                                              const std::string& uploaded_at);

// The stored bytes of `a`; kUnavailable if its file is missing or has the
// wrong size (the files directory was moved or damaged).
Result<std::string> ReadAttachmentFile(const std::string& files_dir,
                                       const Attachment& a);

}  // namespace wangge::core
