#pragma once
// JsonOut writes compact JSON text straight into a string, for answers on
// hot paths (the intake answer, a case) where building a nlohmann tree and
// dumping it cost more than the rest of the request.
//
// The caller writes a well-formed sequence: Key() before each value inside
// an object, Begin/End pairs matched; commas are placed automatically.
// Strings are taken as UTF-8 and written as nlohmann::json::dump() writes
// them: `"` and `\` escaped, \b \f \n \r \t by name, other control
// characters as \u00XX, everything else as is. Doubles get the shortest
// digits that read back to the same double, in fixed notation, with ".0"
// on whole numbers (15.0, 110.2779452); NaN and infinities become null.
// Not thread-safe; one writer per answer.
//
//   JsonOut w;
//   w.BeginObject().Key("id").Int(7).Key("cell").StringOrNull(cell);
//   w.EndObject();
//   std::string body = std::move(w).Take();  // {"id":7,"cell":null}

#include <cstdint>
#include <string>
#include <string_view>

namespace wangge::core {

class JsonOut {
 public:
  JsonOut& BeginObject() { return Open('{'); }
  JsonOut& EndObject() { return Close('}'); }
  JsonOut& BeginArray() { return Open('['); }
  JsonOut& EndArray() { return Close(']'); }
  JsonOut& Key(std::string_view key);
  JsonOut& String(std::string_view value);
  // null for "", else the string.
  JsonOut& StringOrNull(std::string_view value) {
    return value.empty() ? Null() : String(value);
  }
  JsonOut& Int(int64_t value);
  JsonOut& UInt(uint64_t value);
  JsonOut& Double(double value);
  JsonOut& Bool(bool value);
  JsonOut& Null();
  // `json` is one complete JSON value, written as it is.
  JsonOut& Raw(std::string_view json);

  std::string Take() && { return std::move(out_); }

 private:
  JsonOut& Open(char bracket);
  JsonOut& Close(char bracket);
  template <class T>
  JsonOut& Integer(T value);
  // A comma unless this is the first element or follows a key.
  void Separate();
  void Quoted(std::string_view text);

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace wangge::core
