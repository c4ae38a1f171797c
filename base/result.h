#pragma once
// Result<T>: the return type of every operation that can fail in an expected
// way (bad input, missing file, illegal transition). Exceptions never cross a
// public API; they are caught at the module edge and turned into an Error.
//
//   Result<Locator> built = Locator::Build(layers, 1);
//   if (!built) return std::unexpected(built.error().WithContext("load"));

#include <expected>
#include <string>
#include <utility>

namespace wangge {

// Stored and sent over the API: values are fixed, append new ones only.
enum class ErrorCode {
  kInvalidArgument = 1,
  kNotFound = 2,
  kConflict = 3,
  kPermissionDenied = 4,
  kUnavailable = 5,
  kInternal = 6,
};

// Snake-case name used in JSON errors, e.g. "invalid_argument".
inline const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

// What failed, why, and what to do next; `field` names the offending input
// (a JSON field, a CLI argument, a feature attribute) when there is one.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;

  // Returns a copy with "context: " prepended to the message.
  Error WithContext(const std::string& context) const {
    return Error{code, context + ": " + message, field};
  }
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return Fail(ErrorCode::kNotFound, "...")` in Result code.
inline std::unexpected<Error> Fail(ErrorCode code, std::string message,
                                   std::string field = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(field)});
}

}  // namespace wangge

// Evaluates `expr` (a Result); on error returns it from the enclosing
// function, else moves the value into `lhs`.
//   WANGGE_ASSIGN_OR_RETURN(office.code, Str(j, "code", where));
#define WANGGE_CONCAT_INNER(a, b) a##b
#define WANGGE_CONCAT(a, b) WANGGE_CONCAT_INNER(a, b)
#define WANGGE_ASSIGN_OR_RETURN(lhs, expr)                           \
  auto WANGGE_CONCAT(wangge_result_, __LINE__) = (expr);             \
  if (!WANGGE_CONCAT(wangge_result_, __LINE__))                      \
    return std::unexpected(                                          \
        std::move(WANGGE_CONCAT(wangge_result_, __LINE__).error())); \
  lhs = std::move(*WANGGE_CONCAT(wangge_result_, __LINE__))
