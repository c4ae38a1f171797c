// The only translation unit that includes sodium.h.
#include "core/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/code.h"
#include "base/utf8.h"

namespace wangge::core {
namespace {

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: unsafe
  });
}

std::string Hex(const unsigned char* data, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

}  // namespace

bool IsRole(const std::string& role) {
  for (const char* r : {"grid_leader", "branch", "office", "dispatcher",
                        "leader", "gis", "admin"}) {
    if (role == r) return true;
  }
  return false;
}

const char* RoleList() {
  return "grid_leader, branch, office, dispatcher, leader, gis, admin";
}

std::string PasswordProblem(const std::string& password,
                            const std::string& username) {
  if (!IsUtf8(password)) {
    return "密码不是 UTF-8 文本 / the password is not UTF-8 text (a phone "
           "or browser could not type it)";
  }
  size_t chars = 0;
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) {
      return "密码含控制字符 / the password holds a control character (a "
             "tab?)";
    }
    if ((c & 0xC0) != 0x80) ++chars;
  }
  if (chars < 8) return "密码太短 / the password needs at least 8 characters";
  if (password.size() > 256) {
    return "密码太长 / the password is over 256 bytes";
  }
  if (password.front() == ' ' || password.back() == ' ') {
    return "密码首尾有空格 / the password begins or ends with a space (easy "
           "to miss when typing it)";
  }
  std::string low = AsciiLower(password);
  bool repeated = password.find_first_not_of(password[0]) == std::string::npos;
  static const char* kCommon[] = {
      "12345678",  "123456789",  "1234567890", "87654321", "password",
      "password1", "qwertyui",   "qwerty123",  "abc12345", "abcd1234",
      "a1234567",  "1qaz2wsx",   "qwertyuiop", "iloveyou", "12341234",
      "123123123", "woaini1314", "5201314520", "admin123", "admin1234",
      "123456abc", "abc123456",  "wangge123",  "88888888a"};
  bool common = std::any_of(std::begin(kCommon), std::end(kCommon),
                            [&](const char* c) { return low == c; });
  if (repeated || common ||
      (!username.empty() && low == AsciiLower(username))) {
    return "密码太容易猜 / the password is too easy to guess (a common "
           "password, one character repeated, or the username)";
  }
  return "";
}

Result<std::string> HashPassword(const std::string& password) {
  InitSodium();
  if (std::string why = PasswordProblem(password); !why.empty()) {
    return Fail(ErrorCode::kInvalidArgument, why, "password");
  }
  char out[crypto_pwhash_STRBYTES];
  // Interactive limits: ~64 MiB and a fraction of a second per hash.
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(ErrorCode::kUnavailable, "out of memory hashing a password");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  InitSodium();
  if (hash.empty()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(),
                                  password.size()) == 0;
}

std::string NewToken() {
  InitSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return Hex(bytes, sizeof bytes);
}

std::string Digest(const std::string& text) {
  InitSodium();
  unsigned char out[32];
  crypto_generichash(out, sizeof out,
                     reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  return Hex(out, sizeof out);
}

std::string Sha256Hex(std::string_view bytes) {
  InitSodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return Hex(out, sizeof out);
}

Result<PeopleAccounts> CreatePeopleAccounts(Store& store,
                                            const std::string& password) {
  auto people_text = store.ConfigFile("people.json");
  if (!people_text) return std::unexpected(people_text.error());
  nlohmann::json people;
  try {
    people = nlohmann::json::parse(*people_text);
  } catch (const std::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "people.json: not valid JSON");
  }
  if (people.is_object()) people = people.value("people", nlohmann::json());
  std::string hash;
  if (!password.empty()) {
    auto h = HashPassword(password);
    if (!h) return std::unexpected(h.error());
    hash = *h;  // one hash shared by the demo accounts: same password
  }
  PeopleAccounts out;
  for (const auto& p : people) {
    std::vector<std::string> roles;  // login roles, in the order listed
    for (const auto& r : p.value("roles", nlohmann::json::array())) {
      if (r.is_string() && IsRole(r.get<std::string>()) &&
          std::find(roles.begin(), roles.end(), r.get<std::string>()) ==
              roles.end()) {
        roles.push_back(r.get<std::string>());
      }
    }
    if (roles.empty()) continue;  // e.g. a zone's Party member
    const std::string& role = roles.front();
    std::string id = p.value("id", "");
    for (size_t i = 1; i < roles.size(); ++i) {
      // `wangge user add` takes a scope for these two roles only.
      std::string scope = roles[i] == "office"   ? p.value("office", "")
                          : roles[i] == "branch" ? p.value("branch", "")
                                                 : "";
      out.other_roles.push_back(
          {id, p.value("name", ""), role, roles[i], scope});
    }
    User u{.username = AsciiLower(id),
           .role = role,
           .scope =
               role == "office" ? p.value("office", "") : p.value("branch", ""),
           .person = id,
           .display_name = p.value("name", ""),
           .password_hash = hash,
           .disabled = password.empty()};
    auto added = store.AddUser(u);
    if (!added) return std::unexpected(added.error());
    ++out.created;
  }
  return out;
}

}  // namespace wangge::core
