#pragma once
// Accounts: roles, password hashing (Argon2id through libsodium), bearer
// tokens and digests. Tokens are random 256-bit values shown once to the
// client; only their BLAKE2b digest is stored.
//
//   auto hash = HashPassword("correct horse");   // Argon2id encoded string
//   if (VerifyPassword(*hash, attempt)) ...
//   std::string token = NewToken();  store.AddToken(Digest(token), ...);

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/store.h"

namespace wangge::core {

// grid_leader, branch, office, dispatcher, leader, gis, admin.
bool IsRole(const std::string& role);
const char* RoleList();

// Fails with kInvalidArgument when the password is shorter than 8 bytes.
// What is wrong with `password` for the account `username` ("" if none:
// it may be any user's): "" when it is fine. A password is UTF-8 (what a
// phone or browser sends), 8-256 characters/bytes, without control
// characters or spaces at either end, not the username, not one character
// repeated and not one of the most common passwords.
std::string PasswordProblem(const std::string& password,
                            const std::string& username = "");
// Refuses a password with a PasswordProblem.
Result<std::string> HashPassword(const std::string& password);
bool VerifyPassword(const std::string& hash, const std::string& password);

// 64 hex characters of fresh randomness.
std::string NewToken();
// Hex BLAKE2b-256 of `text`: token digests, request fingerprints.
std::string Digest(const std::string& text);
// Hex SHA-256 of `bytes` (64 lower-case characters): attachment names.
std::string Sha256Hex(std::string_view bytes);

// What CreatePeopleAccounts did.
struct PeopleAccounts {
  int created = 0;
  // An account has one role. A person people.json gives several login roles
  // (a village Party secretary who is also a grid leader) gets the first;
  // each other one needs an account of its own (`wangge user add`).
  struct OtherRole {
    std::string person, name;  // the person's id and name
    std::string account_role;  // the role of their account
    std::string role, scope;   // the role left out, and its scope
  };
  std::vector<OtherRole> other_roles;
};

// Creates accounts for the people of the town in `store`: username = person
// id in lower case, role (the first login role listed) and scope from
// people.json. With `password` empty the accounts are disabled until
// `wangge user passwd` sets one.
Result<PeopleAccounts> CreatePeopleAccounts(Store& store,
                                            const std::string& password);

}  // namespace wangge::core
