#include "core/json_out.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace wangge::core {

void JsonOut::Separate() {
  if (after_key_) {
    after_key_ = false;
  } else if (!first_) {
    out_ += ',';
  }
  first_ = false;
}

JsonOut& JsonOut::Open(char bracket) {
  Separate();
  out_ += bracket;
  first_ = true;
  return *this;
}

JsonOut& JsonOut::Close(char bracket) {
  out_ += bracket;
  first_ = false;  // the parent now holds this value
  return *this;
}

namespace {

// Whether any of the eight bytes of `w` must be escaped: below 0x20, '"' or
// '\\'. For n <= 128, (w - n*ones) & ~w & high is non-zero exactly when some
// byte of w is below n (bytes of 0x80 and above never count).
bool AnyToEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto below = [](uint64_t v, uint64_t n) {
    return (v - kOnes * n) & ~v & kHigh;
  };
  return (below(w, 0x20) | below(w ^ (kOnes * '"'), 1) |
          below(w ^ (kOnes * '\\'), 1)) != 0;
}

}  // namespace

// Eight bytes at a time where nothing needs escaping (most of an answer's
// text is Chinese: the byte loop alone was ~5% of the server's samples
// under `bench intake`).
void JsonOut::Quoted(std::string_view text) {
  out_ += '"';
  size_t plain = 0;  // start of the run not yet copied
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      if (!AnyToEscape(w)) {
        i += 8;
        continue;
      }
    }
    unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch >= 0x20 && ch != '"' && ch != '\\') {
      ++i;
      continue;
    }
    out_.append(text.data() + plain, i - plain);
    plain = ++i;
    switch (ch) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out_ += "\\u00";
        out_ += kHex[ch >> 4];
        out_ += kHex[ch & 15];
      }
    }
  }
  out_.append(text.data() + plain, text.size() - plain);
  out_ += '"';
}

JsonOut& JsonOut::Key(std::string_view key) {
  Separate();
  Quoted(key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonOut& JsonOut::String(std::string_view value) {
  Separate();
  Quoted(value);
  return *this;
}

template <class T>
JsonOut& JsonOut::Integer(T value) {
  Separate();
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  out_.append(buf, end);
  return *this;
}

JsonOut& JsonOut::Int(int64_t value) { return Integer(value); }
JsonOut& JsonOut::UInt(uint64_t value) { return Integer(value); }

JsonOut& JsonOut::Double(double value) {
  if (!std::isfinite(value)) return Null();
  Separate();
  char buf[400];  // fixed notation of the largest double has 309 digits
  auto end =
      std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed).ptr;
  std::string_view text(buf, size_t(end - buf));
  out_ += text;
  if (text.find('.') == std::string_view::npos) out_ += ".0";
  return *this;
}

JsonOut& JsonOut::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
  return *this;
}

JsonOut& JsonOut::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonOut& JsonOut::Raw(std::string_view json) {
  Separate();
  out_ += json;
  return *this;
}

}  // namespace wangge::core
