#pragma once
// IsUtf8: whether text is well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF). DecodeUtf8: one code point of it;
// IsXmlChar: whether XML may carry that code point. ValidUtf8: the text
// with U+FFFD for each byte that is not part of well-formed UTF-8.
// FromGb18030: text in GB18030 (which includes GBK and GB2312, what Chinese
// Windows calls ANSI) as UTF-8, or nullopt if it is not well-formed there.
//
//   if (!IsUtf8(value)) return Fail(..., "not UTF-8; give the encoding");

#include <iconv.h>

#include <cerrno>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wangge {

// The code point of the UTF-8 sequence starting at s[i], and in `len` its
// length; -1 (len 1) for a byte that does not start a well-formed one.
inline long DecodeUtf8(std::string_view s, size_t i, size_t& len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned c = p[i];
  len = 1;
  if (c < 0x80) return long(c);
  size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return -1;
  unsigned long cp = c & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return -1;
  }
  len = n;
  return long(cp);
}

// Whether XML 1.0 may hold the code point: not a control character other
// than tab and line breaks, not U+FFFE or U+FFFF (nor -1 from DecodeUtf8).
inline bool IsXmlChar(long cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' ||
         (cp >= 0x20 && cp != 0xFFFE && cp != 0xFFFF);
}

// Whether UTF-8 text is free of what exports and XML cannot carry: control
// characters other than tab and line breaks, DEL, U+FFFE and U+FFFF (Excel
// cuts a cell at NUL; XML 1.0 forbids them). False for text not UTF-8.
inline bool IsPrintableText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len;
    long cp = DecodeUtf8(text, i, len);
    if (!IsXmlChar(cp) || cp == 0x7f) return false;
    i += len;
  }
  return true;
}

inline bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // ASCII: the common case
      ++i;
      continue;
    }
    size_t len;
    if (DecodeUtf8(s, i, len) < 0) return false;
    i += len;
  }
  return true;
}

// For text that reaches JSON, messages or the database from outside (file
// names, GDAL field names) and may be in another encoding.
inline std::string ValidUtf8(std::string_view s) {
  if (IsUtf8(s)) return std::string(s);
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    if (DecodeUtf8(s, i, len) < 0) {
      out += "\uFFFD";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

inline std::optional<std::string> FromGb18030(std::string_view s) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == iconv_t(-1)) return std::nullopt;
  std::string out(s.size() * 2 + 16, '\0');  // 2 bytes become at most 3
  char* in = const_cast<char*>(s.data());
  size_t in_left = s.size();
  char* to = out.data();
  size_t to_left = out.size();
  size_t done = iconv(cd, &in, &in_left, &to, &to_left);
  bool ok = done != size_t(-1) && in_left == 0 &&
            iconv(cd, nullptr, nullptr, &to, &to_left) != size_t(-1);
  iconv_close(cd);
  if (!ok) return std::nullopt;
  out.resize(out.size() - to_left);
  return out;
}

}  // namespace wangge
