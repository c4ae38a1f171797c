#pragma once
// CodeProblem: what is wrong with a code (a feature's code, a person's id,
// which becomes a login name), or "". AsciiLower: the text with A-Z as a-z
// (login names, header names, keywords; other bytes as they are).
//
//   if (auto why = CodeProblem(code); !why.empty()) ... "its code " + why

#include <cctype>
#include <string>
#include <string_view>

namespace wangge {

inline std::string AsciiLower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What is wrong with a code, or "": codes go into URLs, file names, case
// numbers and spreadsheets, so they are 1-64 ASCII letters, digits, '-',
// '_' or '.'. Spreadsheets leave spaces, line breaks, full-width digits
// and zero-width characters in them.
inline std::string CodeProblem(std::string_view code) {
  if (code.empty()) return "is empty";
  if (code.size() > 64) {
    return "is " + std::to_string(code.size()) + " bytes long";
  }
  for (char ch : code) {
    auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || ch == '-' || ch == '_' || ch == '.') continue;
    if (ch == ' ' || ch == '\t') return "holds a space";
    if (u < 0x20 || u == 0x7f)
      return "holds a control character (a line break?)";
    return u >= 0x80 ? "holds a character other than ASCII (a full-width "
                       "digit, a non-breaking or zero-width space?)"
                     : std::string("holds `") + ch + "`";
  }
  return "";
}

}  // namespace wangge
