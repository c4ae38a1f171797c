#pragma once
// Reading a request's JSON object field by field; each error names its
// field (kInvalidArgument), for the 400 that tells the client what to fix.
//
//   if (auto ok = ReadText(j, "cell", in.cell, /*required=*/true); !ok)
//     return std::unexpected(ok.error());

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"

namespace wangge::core {

// A text field into `out`; absent or null: kInvalidArgument if `required`,
// else `out` is left as it is.
inline Result<void> ReadText(const nlohmann::json& j, const char* key,
                             std::string& out, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return {};
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + key + "` is required", key);
  }
  if (!it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + key + "` must be text", key);
  }
  out = it->get<std::string>();
  return {};
}

// The Idempotency-Key header a retried request repeats: 1-200 printable
// ASCII characters; the message says what the key protects (`what`: "the
// report was written", "the patrol was recorded").
inline Result<void> CheckIdempotencyKey(const std::string& key,
                                        const std::string& what) {
  bool printable = true;
  for (char ch : key) printable = printable && ch >= 0x20 && ch < 0x7f;
  if (!key.empty() && key.size() <= 200 && printable) return {};
  return Fail(ErrorCode::kInvalidArgument,
              "send an Idempotency-Key header (1-200 printable ASCII "
              "characters, e.g. a UUID made when " +
                  what + ") so a retry is never stored twice",
              "Idempotency-Key");
}

// A number field into `out`; absent or null leaves `out` as it is.
inline Result<void> ReadNumber(const nlohmann::json& j, const char* key,
                               std::optional<double>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_number()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + key + "` must be a number", key);
  }
  out = it->get<double>();
  return {};
}

}  // namespace wangge::core
