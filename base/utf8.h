#pragma once
// IsUtf8: whether text is well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF).
//
//   if (!IsUtf8(value)) return Fail(..., "not UTF-8; give the encoding");

#include <cstddef>
#include <string_view>

namespace wangge {

inline bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {  // ASCII: the common case
      ++i;
      continue;
    }
    size_t len = (c >> 5) == 6    ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    if (len == 0 || i + len > n) return false;
    unsigned cp = c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace wangge
