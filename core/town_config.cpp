#include "core/town_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "base/code.h"
#include "base/utf8.h"
#include "core/accounts.h"

namespace wangge::core {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

Error Bad(const std::string& message, const std::string& field = {}) {
  return Error{ErrorCode::kInvalidArgument, message, field};
}

// What is wrong with a text file's bytes before parsing, or "".
std::string TextProblem(const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return "文件为空 / is empty";
  }
  if (!IsUtf8(text)) {
    return "既不是 UTF-8 也不是 GBK / is neither UTF-8 nor GBK text; save it "
           "as UTF-8 (Excel: CSV UTF-8; Notepad: 编码 UTF-8)";
  }
  return "";
}

// `strict`: a key twice in one object (JSON keeps the last one, so a
// copied entry edited in one place silently loses the other) is an error.
Result<json> ParseJson(const std::string& name, const ConfigReader& read,
                       bool strict) {
  auto text = read(name);
  if (!text) return std::unexpected(text.error());
  if (std::string why = TextProblem(*text); !why.empty()) {
    return std::unexpected(Bad(name + ": " + why));
  }
  std::vector<std::set<std::string>> keys;  // of each object being read
  std::string twice;
  json::parser_callback_t note_keys = [&](int, json::parse_event_t event,
                                          json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) {
      keys.pop_back();
    }
    if (event == json::parse_event_t::key && !keys.empty() &&
        !keys.back().insert(parsed.get<std::string>()).second &&
        twice.empty()) {
      twice = parsed.get<std::string>();
    }
    return true;
  };
  try {
    // Stored files were checked when they were new: no key bookkeeping at a
    // server's start.
    json parsed = strict ? json::parse(*text, note_keys) : json::parse(*text);
    if (strict && !twice.empty()) {
      return std::unexpected(
          Bad(name + ": 键 \"" + twice +
              "\" 在同一对象中出现两次 / the key \"" + twice +
              "\" appears twice in one object, and JSON keeps only the last; "
              "remove one"));
    }
    return parsed;
  } catch (const json::parse_error& e) {
    // Line and column, as an editor shows them.
    size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text->size());
    size_t line = 1 + std::count(text->begin(), text->begin() + end, '\n');
    size_t start = text->rfind('\n', end == 0 ? 0 : end - 1);
    size_t column =
        start == std::string::npos || end == 0 ? end + 1 : end - start;
    return std::unexpected(
        Bad(name + ": JSON 格式错误 / not valid JSON at line " +
            std::to_string(line) + ", column " + std::to_string(column) +
            "; check the commas and quotes there (no comments or trailing "
            "commas; quotes must be \" not ' or “”)"));
  }
}

// Runs one file's loader; a value of the wrong type or shape (a list where
// an object belongs, "yes" for true) is an error naming the file, not an
// exception.
template <class Load>
Result<void> Guarded(const char* file, Load load) {
  try {
    return load();
  } catch (const json::exception& e) {
    return std::unexpected(
        Bad(std::string(file) +
            ": 取值类型不对 / a value has the wrong type or shape (" +
            e.what() + "); compare the file with data/taiyao/" + file));
  }
}

// A key as compared for slips: lower-case, without '_', '-' and spaces.
std::string KeyShape(const std::string& key) {
  std::string out;
  for (char ch : AsciiLower(key)) {
    if (ch != '_' && ch != '-' && ch != ' ') out += ch;
  }
  return out;
}

// Whether `a` and `b` differ by at most one inserted, dropped, changed or
// swapped character (optimal string alignment distance <= 1).
bool OneSlipApart(const std::string& a, const std::string& b) {
  if (a.size() > b.size() + 1 || b.size() > a.size() + 1) return false;
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto rest = [&](size_t skip_a, size_t skip_b) {
    return a.compare(std::min(a.size(), i + skip_a), std::string::npos, b,
                     std::min(b.size(), i + skip_b)) == 0;
  };
  return rest(1, 1) || rest(1, 0) || rest(0, 1) ||
         (i + 1 < a.size() && i + 1 < b.size() && a[i] == b[i + 1] &&
          a[i + 1] == b[i] && rest(2, 2));
}

// Refuses (new files only) a key of `obj` that wangge does not read but
// that is one slip from one it does — "role" for "roles", "Working Hours",
// "requires_photos", "duplicate_radius": JSON would keep the value and
// wangge would silently use the default. Other keys are notes and stay.
Result<void> CheckKeys(const json& obj,
                       std::initializer_list<std::string> known,
                       const std::string& where, bool strict) {
  if (!strict || !obj.is_object()) return {};
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    for (const std::string& k : known) {
      if (OneSlipApart(KeyShape(key), KeyShape(k))) {
        return std::unexpected(
            Bad(where + ": 键名 \"" + ValidUtf8(key) + "\" 有误，应为 \"" + k +
                    "\"？/ wangge reads no key \"" + ValidUtf8(key) +
                    "\": did you mean \"" + k +
                    "\"? (a key it does not read is ignored, with its value)",
                k));
      }
    }
  }
  return {};
}

// Reads a string field; `where` names the file and entry for messages.
Result<std::string> Str(const json& obj, const std::string& key,
                        const std::string& where, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (!required) return std::string();
    return std::unexpected(Bad(where + ": `" + key + "` is missing", key));
  }
  if (!it->is_string()) {
    return std::unexpected(
        Bad(where + ": `" + key + "` must be text, got " + it->dump(), key));
  }
  return it->get<std::string>();
}

Result<std::vector<std::string>> StrList(const json& obj,
                                         const std::string& key,
                                         const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) {
    return std::unexpected(Bad(where + ": `" + key + "` must be a list", key));
  }
  for (const json& v : *it) {
    if (!v.is_string()) {
      return std::unexpected(
          Bad(where + ": `" + key + "` must list text values", key));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<TimeLimit> Limit(const json& obj, const std::string& key,
                        const std::string& where, bool strict) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) {
    return std::unexpected(Bad(where + ": `" + key +
                                   "` is missing; give it as {\"value\": 2, "
                                   "\"unit\": \"working_days\"}",
                               key));
  }
  if (auto ok = CheckKeys(*it, {"value", "unit"}, where + " " + key, strict);
      !ok) {
    return std::unexpected(ok.error());
  }
  auto value = it->find("value");
  if (value == it->end() || !value->is_number() || value->get<double>() <= 0) {
    return std::unexpected(
        Bad(where + ": `" + key + ".value` must be a positive number", key));
  }
  auto unit_name = Str(*it, "unit", where + " " + key);
  if (!unit_name) return std::unexpected(unit_name.error());
  auto unit = ParseTimeUnit(*unit_name);
  if (!unit) {
    return std::unexpected(
        Bad(where + ": `" + key + ".unit` " + unit.error().message, key));
  }
  // At most about a year: a limit of 1e9 hours made deadlines in year
  // -14967 (the calendar's arithmetic overflowed).
  double most = 0;
  switch (*unit) {
    case TimeUnit::kWorkingHours:
      most = 2000;
      break;
    case TimeUnit::kWorkingDays:
      most = 250;
      break;
    case TimeUnit::kNaturalDays:
      most = 366;
      break;
    case TimeUnit::kNaturalHours:
      most = 366 * 24;
      break;
  }
  if (strict && value->get<double>() > most) {
    return std::unexpected(Bad(where + ": `" + key +
                                   ".value` must be at most a year: " +
                                   std::to_string(int(most)) + " " + *unit_name,
                               key));
  }
  return TimeLimit{value->get<double>(), *unit};
}

Result<Level> ParseLevel(const std::string& name, const std::string& where,
                         const std::string& field = "start_level") {
  for (Level l :
       {Level::kGrid, Level::kVillage, Level::kTown, Level::kCounty}) {
    if (name == LevelName(l)) return l;
  }
  return std::unexpected(Bad(where + ": " + field + " \"" + name +
                                 "\" must be grid, village, town or county",
                             field));
}

// The optional `escalation` object of a category.
Result<Escalation> ParseEscalation(const json& c, const std::string& at,
                                   bool strict) {
  Escalation e;
  auto it = c.find("escalation");
  if (it == c.end()) return e;
  if (!it->is_object()) {
    return std::unexpected(
        Bad(at + ": escalation must be an object {steps, at_least, max}",
            "escalation"));
  }
  if (auto ok = CheckKeys(*it, {"steps", "at_least", "max"}, at + " escalation",
                          strict);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto steps = it->find("steps"); steps != it->end()) {
    if (!steps->is_number_integer() || steps->get<int64_t>() < 0 ||
        steps->get<int64_t>() > 3) {
      return std::unexpected(
          Bad(at + ": escalation.steps must be a whole number from 0 to 3",
              "escalation.steps"));
    }
    e.steps = int(steps->get<int64_t>());
  }
  for (auto [key, out] :
       {std::pair{"at_least", &e.at_least}, std::pair{"max", &e.max}}) {
    auto v = it->find(key);
    if (v == it->end()) continue;
    std::string field = std::string("escalation.") + key;
    if (!v->is_string()) {
      return std::unexpected(Bad(
          at + ": " + field + " must be grid, village, town or county", field));
    }
    WANGGE_ASSIGN_OR_RETURN(*out, ParseLevel(v->get<std::string>(), at, field));
  }
  if (int(e.at_least) > int(e.max)) {
    return std::unexpected(
        Bad(at + ": escalation.at_least is above escalation.max",
            "escalation.at_least"));
  }
  return e;
}

bool AllDigits(const std::string& s, size_t n) {
  return s.size() == n &&
         s.find_first_not_of("0123456789") == std::string::npos;
}

// Parses "08:30-12:00".
std::optional<WorkPeriod> ParsePeriod(const std::string& s) {
  int h1, m1, h2, m2;
  char tail;
  if (std::sscanf(s.c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) !=
      4) {
    return std::nullopt;
  }
  if (m1 > 59 || m2 > 59) return std::nullopt;
  return WorkPeriod{h1 * 60 + m1, h2 * 60 + m2};
}

constexpr double kMaxDuplicateRadius = 5000;

// A code of offices.json or branches.json: it goes into URLs, filters and
// spreadsheets as feature codes and person ids do (only for new files).
Result<void> CheckCode(const std::string& code, const std::string& where,
                       bool strict) {
  if (std::string why = CodeProblem(code); strict && !why.empty()) {
    return std::unexpected(Bad(where + ": 编码 / code \"" + code + "\" " + why +
                                   "; use ASCII letters, digits, '-', '_' "
                                   "or '.'",
                               "code"));
  }
  return {};
}

Result<void> LoadOffices(const json& j, TownConfig& town, bool strict) {
  if (!j.is_array())
    return std::unexpected(Bad("offices.json: must be a list"));
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = "offices.json, entry " + std::to_string(i + 1);
    Office o;
    if (auto ok = CheckKeys(j[i], {"code", "name", "name_en"}, where, strict);
        !ok) {
      return ok;
    }
    WANGGE_ASSIGN_OR_RETURN(o.code, Str(j[i], "code", where));
    if (auto ok = CheckCode(o.code, where, strict); !ok) return ok;
    where = "offices.json, " + o.code;
    WANGGE_ASSIGN_OR_RETURN(o.name, Str(j[i], "name", where));
    WANGGE_ASSIGN_OR_RETURN(o.name_en, Str(j[i], "name_en", where, false));
    if (!town.offices.emplace(o.code, o).second) {
      return std::unexpected(Bad(where + ": code used twice", "code"));
    }
  }
  return {};
}

Result<void> LoadPeople(const json& j, TownConfig& town, bool strict) {
  if (!j.is_array()) return std::unexpected(Bad("people.json: must be a list"));
  std::set<std::string> logins;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = "people.json, entry " + std::to_string(i + 1);
    Person p;
    if (auto ok = CheckKeys(
            j[i], {"id", "name", "phone", "roles", "office", "branch"}, where,
            strict);
        !ok) {
      return ok;
    }
    WANGGE_ASSIGN_OR_RETURN(p.id, Str(j[i], "id", where));
    where = "people.json, " + p.id;
    WANGGE_ASSIGN_OR_RETURN(p.name, Str(j[i], "name", where));
    WANGGE_ASSIGN_OR_RETURN(p.phone, Str(j[i], "phone", where, false));
    WANGGE_ASSIGN_OR_RETURN(p.roles, StrList(j[i], "roles", where));
    WANGGE_ASSIGN_OR_RETURN(p.office, Str(j[i], "office", where, false));
    WANGGE_ASSIGN_OR_RETURN(p.branch, Str(j[i], "branch", where, false));
    if (!p.office.empty() && !town.offices.count(p.office)) {
      return std::unexpected(
          Bad(where + ": office \"" + p.office + "\" is not in offices.json",
              "office"));
    }
    // The id is the login name (lower-cased).
    if (std::string why = CodeProblem(p.id); strict && !why.empty()) {
      return std::unexpected(
          Bad("people.json, entry " + std::to_string(i + 1) + ": id \"" +
                  ValidUtf8(p.id) + "\" " + why +
                  "; an id is 1-64 ASCII letters, digits, '-', '_' or '.' "
                  "(it becomes the login name), e.g. P0001",
              "id"));
    }
    for (const std::string& role : p.roles) {
      if (strict && !IsRole(role) && role != "party_member") {
        return std::unexpected(Bad(where + ": role \"" + ValidUtf8(role) +
                                       "\" is not one of " + RoleList() +
                                       ", party_member",
                                   "roles"));
      }
    }
    if (!logins.insert(AsciiLower(p.id)).second &&
        (strict || town.people.count(p.id))) {
      return std::unexpected(
          Bad(where + ": id used twice (ids differing only in case log in "
                      "as the same name)",
              "id"));
    }
    town.people.emplace(p.id, p);
  }
  return {};
}

Result<void> LoadBranches(const json& j, TownConfig& town, bool strict) {
  if (!j.is_array()) {
    return std::unexpected(Bad("branches.json: must be a list"));
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = "branches.json, entry " + std::to_string(i + 1);
    Branch b;
    if (auto ok = CheckKeys(j[i], {"code", "name", "village", "secretary"},
                            where, strict);
        !ok) {
      return ok;
    }
    WANGGE_ASSIGN_OR_RETURN(b.code, Str(j[i], "code", where));
    if (auto ok = CheckCode(b.code, where, strict); !ok) return ok;
    where = "branches.json, " + b.code;
    WANGGE_ASSIGN_OR_RETURN(b.name, Str(j[i], "name", where));
    WANGGE_ASSIGN_OR_RETURN(b.village, Str(j[i], "village", where, false));
    WANGGE_ASSIGN_OR_RETURN(b.secretary, Str(j[i], "secretary", where, false));
    if (!b.village.empty() && !town.villages.count(b.village)) {
      return std::unexpected(Bad(
          where + ": village \"" + b.village + "\" is not in villages.geojson",
          "village"));
    }
    if (!b.secretary.empty() && !town.people.count(b.secretary)) {
      return std::unexpected(Bad(
          where + ": secretary \"" + b.secretary + "\" is not in people.json",
          "secretary"));
    }
    if (!town.branches.emplace(b.code, b).second) {
      return std::unexpected(Bad(where + ": code used twice", "code"));
    }
  }
  return {};
}

Result<void> CheckOffice(const TownConfig& town, const std::string& office,
                         const std::string& where) {
  if (town.offices.count(office)) return {};
  return std::unexpected(Bad(
      where + " names office \"" + office + "\", which is not in offices.json",
      "office"));
}

Result<void> LoadCategories(const json& j, TownConfig& town, bool strict) {
  if (!j.is_array()) {
    return std::unexpected(Bad("categories.json: must be a list of 大类"));
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = "categories.json, entry " + std::to_string(i + 1);
    std::string group, group_name;
    if (auto ok = CheckKeys(j[i], {"code", "name", "children"}, where, strict);
        !ok) {
      return ok;
    }
    WANGGE_ASSIGN_OR_RETURN(group, Str(j[i], "code", where));
    if (!AllDigits(group, 2)) {
      return std::unexpected(Bad(
          where + ": 大类 code \"" + group + "\" must be 2 digits", "code"));
    }
    where = "categories.json: " + group;
    WANGGE_ASSIGN_OR_RETURN(group_name, Str(j[i], "name", where));
    if (!town.category_groups.emplace(group, group_name).second) {
      return std::unexpected(Bad(where + " is used twice", "code"));
    }
    const json& children = j[i].value("children", json::array());
    if (!children.is_array() || children.empty()) {
      return std::unexpected(Bad(
          where + " has no `children` (小类); add at least one", "children"));
    }
    for (const json& c : children) {
      Category cat;
      cat.parent_code = group;
      cat.parent_name = group_name;
      if (auto ok =
              CheckKeys(c,
                        {"code", "name", "office", "co_offices", "kind",
                         "urgency", "start_level", "accept", "handle",
                         "duplicate_radius_m", "requires_photo", "escalation"},
                        where + " child", strict);
          !ok) {
        return ok;
      }
      WANGGE_ASSIGN_OR_RETURN(cat.code, Str(c, "code", where + " child"));
      std::string at = "categories.json: " + cat.code;
      if (!AllDigits(cat.code, 5) || !cat.code.starts_with(group)) {
        return std::unexpected(Bad(at +
                                       ": 小类 code must be 5 digits starting "
                                       "with its 大类 code " +
                                       group,
                                   "code"));
      }
      WANGGE_ASSIGN_OR_RETURN(cat.name, Str(c, "name", at));
      WANGGE_ASSIGN_OR_RETURN(cat.office, Str(c, "office", at));
      if (auto ok = CheckOffice(town, cat.office, at); !ok) return ok;
      WANGGE_ASSIGN_OR_RETURN(cat.co_offices, StrList(c, "co_offices", at));
      for (const std::string& o : cat.co_offices) {
        if (auto ok = CheckOffice(town, o, at + " co_offices"); !ok) return ok;
      }
      std::string kind;
      WANGGE_ASSIGN_OR_RETURN(kind, Str(c, "kind", at));
      if (kind != "event" && kind != "component") {
        return std::unexpected(Bad(at + ": kind \"" + kind +
                                       "\" must be event (事件) or "
                                       "component (部件)",
                                   "kind"));
      }
      cat.kind =
          kind == "event" ? CategoryKind::kEvent : CategoryKind::kComponent;
      WANGGE_ASSIGN_OR_RETURN(cat.urgency, Str(c, "urgency", at));
      if (cat.urgency != "normal" && cat.urgency != "urgent" &&
          cat.urgency != "critical") {
        return std::unexpected(Bad(at + ": urgency \"" + cat.urgency +
                                       "\" must be normal, urgent or critical",
                                   "urgency"));
      }
      std::string level;
      WANGGE_ASSIGN_OR_RETURN(level, Str(c, "start_level", at, false));
      if (!level.empty()) {
        WANGGE_ASSIGN_OR_RETURN(cat.start_level, ParseLevel(level, at));
      }
      WANGGE_ASSIGN_OR_RETURN(cat.accept, Limit(c, "accept", at, strict));
      WANGGE_ASSIGN_OR_RETURN(cat.handle, Limit(c, "handle", at, strict));
      auto radius = c.find("duplicate_radius_m");
      if (radius != c.end()) {
        if (!radius->is_number() || !(radius->get<double>() >= 0)) {
          return std::unexpected(
              Bad(at + ": duplicate_radius_m must be a number of metres >= 0",
                  "duplicate_radius_m"));
        }
        // Reports that far apart are not one incident; a larger radius
        // (a typo: 50000 for 500) makes every search walk the category.
        if (strict && radius->get<double>() > kMaxDuplicateRadius) {
          return std::unexpected(
              Bad(at + ": duplicate_radius_m 查重半径过大 / is over 5000 "
                       "metres; reports that far apart are not one incident",
                  "duplicate_radius_m"));
        }
        cat.duplicate_radius_m = radius->get<double>();
      }
      cat.requires_photo = c.value("requires_photo", false);
      WANGGE_ASSIGN_OR_RETURN(cat.escalation, ParseEscalation(c, at, strict));
      if (!town.categories.emplace(cat.code, cat).second) {
        return std::unexpected(Bad(at + " is used twice", "code"));
      }
    }
  }
  return {};
}

Result<void> LoadRouting(const json& j, TownConfig& town, bool strict) {
  std::string where = "routing.json";
  if (auto ok = CheckKeys(j, {"triage_office", "overrides"}, where, strict);
      !ok) {
    return ok;
  }
  WANGGE_ASSIGN_OR_RETURN(town.rules.triage_office,
                          Str(j, "triage_office", where));
  if (auto ok = CheckOffice(town, town.rules.triage_office,
                            where + ": triage_office");
      !ok) {
    return ok;
  }
  json overrides = j.value("overrides", json::array());
  if (overrides.is_null()) overrides = json::array();
  if (!overrides.is_array()) {
    return std::unexpected(
        Bad(where + ": `overrides` must be a list of {categories, villages "
                    "or zones, office}",
            "overrides"));
  }
  std::set<std::string> themes;  // of the zones
  for (const auto& [code, zone] : town.zones) themes.insert(zone.theme);
  for (size_t i = 0; i < overrides.size(); ++i) {
    std::string at = where + ", override " + std::to_string(i + 1);
    if (!overrides[i].is_object()) {
      return std::unexpected(Bad(
          at + " must be an object {categories, ..., office}", "overrides"));
    }
    Override o;
    if (auto ok = CheckKeys(overrides[i],
                            {"categories", "villages", "zones", "zone_themes",
                             "office", "reason"},
                            at, strict);
        !ok) {
      return ok;
    }
    WANGGE_ASSIGN_OR_RETURN(o.categories,
                            StrList(overrides[i], "categories", at));
    WANGGE_ASSIGN_OR_RETURN(o.villages, StrList(overrides[i], "villages", at));
    WANGGE_ASSIGN_OR_RETURN(o.zones, StrList(overrides[i], "zones", at));
    WANGGE_ASSIGN_OR_RETURN(o.zone_themes,
                            StrList(overrides[i], "zone_themes", at));
    WANGGE_ASSIGN_OR_RETURN(o.office, Str(overrides[i], "office", at));
    WANGGE_ASSIGN_OR_RETURN(o.reason, Str(overrides[i], "reason", at));
    if (auto ok = CheckOffice(town, o.office, at); !ok) return ok;
    if (o.categories.empty()) {
      return std::unexpected(
          Bad(at + ": `categories` is empty; name the 大类 or 小类 codes it "
                   "applies to",
              "categories"));
    }
    for (const std::string& c : o.categories) {
      bool known = c.size() == 2 ? town.category_groups.count(c) > 0
                                 : town.categories.count(c) > 0;
      if (!known) {
        return std::unexpected(
            Bad(at + ": category \"" + c + "\" is not in categories.json",
                "categories"));
      }
    }
    for (const std::string& v : o.villages) {
      if (!town.villages.count(v)) {
        return std::unexpected(
            Bad(at + ": village \"" + v + "\" is not in villages.geojson",
                "villages"));
      }
    }
    for (const std::string& z : o.zones) {
      if (!town.zones.count(z)) {
        return std::unexpected(
            Bad(at + ": zone \"" + z + "\" is not in zones.geojson", "zones"));
      }
    }
    // A theme no zone has (a typo: 肉牛养殖厂 for 肉牛养殖场) would never
    // match: the override would silently never apply.
    for (const std::string& t : o.zone_themes) {
      if (strict && !themes.count(t)) {
        std::string known;
        for (const std::string& k : themes) {
          if (!k.empty()) known += (known.empty() ? "" : ", ") + k;
        }
        return std::unexpected(
            Bad(at + ": zone theme \"" + t +
                    "\" 不是任何示范区的主题 / is the theme of no zone in "
                    "zones.geojson (themes there: " +
                    (known.empty() ? "none" : known) + ")",
                "zone_themes"));
      }
    }
    if (o.villages.empty() && o.zones.empty() && o.zone_themes.empty()) {
      return std::unexpected(
          Bad(at + ": give villages, zones or zone_themes where it applies",
              "villages"));
    }
    town.rules.overrides.push_back(std::move(o));
  }
  return {};
}

Result<void> LoadGeography(const spatial::Layers& layers, TownConfig& town) {
  for (const auto& v : layers.villages) town.villages[v.code] = v.name;
  for (const auto& z : layers.zones) {
    ZoneInfo info{z.code, z.name, z.Attribute("theme"), z.Attribute("member")};
    if (!info.member.empty() && !town.people.count(info.member)) {
      return std::unexpected(Bad("zones.geojson, " + z.code + ": member \"" +
                                     info.member + "\" is not in people.json",
                                 "member"));
    }
    town.zones[z.code] = info;
  }
  return {};
}

// Cell i of `count`, as the configuration reads it.
using CellAt = std::function<CellInfo(size_t)>;

Result<void> LoadCells(size_t count, const CellAt& cell_at, TownConfig& town,
                       bool strict) {
  std::vector<CellTable::value_type> cells;
  cells.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    CellInfo info = cell_at(i);
    // Made only for an error: with the code it outgrows a short string,
    // and would cost an allocation a cell.
    auto where = [&] { return "cells.geojson, " + info.code; };
    if (!town.villages.count(info.village)) {
      return std::unexpected(Bad(where() + ": village \"" + info.village +
                                     "\" is not in villages.geojson",
                                 "village"));
    }
    if (!town.branches.count(info.branch)) {
      return std::unexpected(Bad(
          where() + ": branch \"" + info.branch + "\" is not in branches.json",
          "branch"));
    }
    for (const auto& [field, id] :
         {std::pair{"member", info.member}, std::pair{"leader", info.leader}}) {
      if (!id.empty() && !town.people.count(id)) {
        return std::unexpected(Bad(
            where() + ": " + field + " \"" + id + "\" is not in people.json",
            field));
      }
    }
    // Routing names these people as the cell's: they must be who they are
    // said to be (an office head as 网格长 went unnoticed).
    const Branch& branch = town.branches.at(info.branch);
    if (strict && !branch.village.empty() && branch.village != info.village) {
      return std::unexpected(Bad(where() + ": branch \"" + info.branch +
                                     "\" belongs to village " + branch.village +
                                     ", not to " + info.village,
                                 "branch"));
    }
    if (strict && !info.leader.empty()) {
      const auto& roles = town.people.at(info.leader).roles;
      if (std::find(roles.begin(), roles.end(), "grid_leader") == roles.end()) {
        return std::unexpected(Bad(where() + ": leader \"" + info.leader +
                                       "\" is not a grid_leader in "
                                       "people.json",
                                   "leader"));
      }
    }
    if (strict && !info.member.empty() &&
        town.people.at(info.member).branch != info.branch) {
      return std::unexpected(Bad(where() + ": member \"" + info.member +
                                     "\" is not in branch " + info.branch +
                                     " (people.json gives their branch)",
                                 "member"));
    }
    std::string code = info.code;
    cells.emplace_back(std::move(code), std::move(info));
  }
  town.cells = CellTable(std::move(cells));
  return {};
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kGrid:
      return "grid";
    case Level::kVillage:
      return "village";
    case Level::kTown:
      return "town";
    case Level::kCounty:
      return "county";
  }
  return "grid";
}

const char* LevelNameZh(Level level) {
  switch (level) {
    case Level::kGrid:
      return "网格";
    case Level::kVillage:
      return "村（社区）";
    case Level::kTown:
      return "镇";
    case Level::kCounty:
      return "县";
  }
  return "网格";
}

const Person* TownConfig::FindPerson(const std::string& id) const {
  auto it = people.find(id);
  return it == people.end() ? nullptr : &it->second;
}

const std::vector<std::string>& ConfigFileNames() {
  static const std::vector<std::string> names = {
      "town.json",     "calendar.csv",    "offices.json", "people.json",
      "branches.json", "categories.json", "routing.json"};
  return names;
}

Result<std::string> ReadConfigText(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Fail(ErrorCode::kInvalidArgument,
                path.string() + ": 是文件夹 / is a folder, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kNotFound,
                path.string() +
                    ": 缺少 / missing; every town folder needs it (see "
                    "data/taiyao for an example)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  // Excel's "CSV (逗号分隔)" and Notepad's ANSI on Chinese Windows.
  if (!IsUtf8(text)) {
    if (auto utf8 = FromGb18030(text)) return *utf8;
  }
  return text;
}

Result<TownConfig> LoadTownConfig(const std::string& dir,
                                  const spatial::Layers& layers) {
  return LoadTownConfig(
      [&](const std::string& name) {
        return ReadConfigText(fs::path(dir) / name);
      },
      layers, ConfigChecks::kNew);
}

CellTable::CellTable(std::vector<value_type> cells) : cells_(std::move(cells)) {
  auto by_code = [](const value_type& a, const value_type& b) {
    return a.first < b.first;
  };
  // The store hands cells over in code order.
  if (!std::is_sorted(cells_.begin(), cells_.end(), by_code)) {
    std::stable_sort(cells_.begin(), cells_.end(), by_code);
  }
  // Of a run with one code, the last stays.
  auto kept = cells_.begin();
  for (auto it = cells_.begin(); it != cells_.end(); ++it) {
    if (it + 1 != cells_.end() && (it + 1)->first == it->first) continue;
    if (kept != it) *kept = std::move(*it);
    ++kept;
  }
  cells_.erase(kept, cells_.end());
}

CellTable::const_iterator CellTable::find(std::string_view code) const {
  auto it = std::lower_bound(cells_.begin(), cells_.end(), code,
                             [](const value_type& cell, std::string_view c) {
                               return cell.first < c;
                             });
  return it != cells_.end() && it->first == code ? it : cells_.end();
}

const CellInfo& CellTable::at(std::string_view code) const {
  auto it = find(code);
  if (it == end()) {
    throw std::out_of_range("no cell " + std::string(code));
  }
  return it->second;
}

namespace {

Result<TownConfig> Load(const ConfigReader& read, const spatial::Layers& layers,
                        size_t cell_count, const CellAt& cell_at,
                        ConfigChecks checks) {
  const bool strict = checks == ConfigChecks::kNew;
  TownConfig town;
  auto town_json = ParseJson("town.json", read, strict);
  if (!town_json) return std::unexpected(town_json.error());
  if (auto ok = CheckKeys(*town_json, {"code", "name", "working_hours"},
                          "town.json", strict);
      !ok) {
    return std::unexpected(ok.error());
  }
  WANGGE_ASSIGN_OR_RETURN(town.code, Str(*town_json, "code", "town.json"));
  WANGGE_ASSIGN_OR_RETURN(town.name, Str(*town_json, "name", "town.json"));
  std::vector<std::string> periods;
  WANGGE_ASSIGN_OR_RETURN(periods,
                          StrList(*town_json, "working_hours", "town.json"));
  std::vector<WorkPeriod> hours;
  for (const std::string& p : periods) {
    auto period = ParsePeriod(p);
    if (!period) {
      return Fail(ErrorCode::kInvalidArgument,
                  "town.json: working_hours entry \"" + p +
                      "\" is not like 08:30-12:00",
                  "working_hours");
    }
    hours.push_back(*period);
  }
  int minutes = 0;
  for (const WorkPeriod& p : hours) minutes += p.end - p.begin;
  if (strict && !hours.empty() && minutes < 4 * 60) {
    // 08:00-08:01 would make a 4-hour limit a month of days.
    return Fail(
        ErrorCode::kInvalidArgument,
        "town.json: working_hours 每天工作时间不足 4 小时 / add up to " +
            std::to_string(minutes) +
            " minutes a day; a working day has at least 4 hours "
            "(periods like 08:30-12:00)",
        "working_hours");
  }
  auto csv = read("calendar.csv");
  if (!csv) return std::unexpected(csv.error());
  if (std::string why = TextProblem(*csv); strict && !why.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "calendar.csv: " + why +
                    "; it needs the header `date,kind,name` and a row per "
                    "holiday and 调休 workday");
  }
  // Excel's "CSV (Macintosh)" ends lines with CR alone.
  std::string lines = *csv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == '\r' && (i + 1 == lines.size() || lines[i + 1] != '\n')) {
      lines[i] = '\n';
    }
  }
  auto calendar = WorkCalendar::Load(lines, hours, "calendar.csv", strict);
  if (!calendar) {
    return std::unexpected(calendar.error().WithContext("town.json/calendar"));
  }
  town.calendar = std::move(*calendar);

  struct Step {
    const char* file;
    Result<void> (*load)(const json&, TownConfig&, bool);
  };
  // A list file may also be an object holding the list under its own name
  // next to notes, e.g. {"synthetic": true, "people": [...]}.
  auto list_of = [](const json& j, const char* file) -> const json& {
    std::string key = std::string(file).substr(0, std::string(file).find('.'));
    if (j.is_object() && j.contains(key)) return j.at(key);
    return j;
  };
  for (Step step :
       {Step{"offices.json", LoadOffices}, Step{"people.json", LoadPeople}}) {
    auto j = ParseJson(step.file, read, strict);
    if (!j) return std::unexpected(j.error());
    if (auto ok = Guarded(
            step.file,
            [&] { return step.load(list_of(*j, step.file), town, strict); });
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = LoadGeography(layers, town); !ok) {
    return std::unexpected(ok.error());
  }
  for (Step step : {Step{"branches.json", LoadBranches},
                    Step{"categories.json", LoadCategories}}) {
    auto j = ParseJson(step.file, read, strict);
    if (!j) return std::unexpected(j.error());
    if (auto ok = Guarded(
            step.file,
            [&] { return step.load(list_of(*j, step.file), town, strict); });
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  for (const auto& [id, person] : town.people) {
    if (strict && !person.branch.empty() &&
        !town.branches.count(person.branch)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "people.json, " + id + ": branch \"" + person.branch +
                      "\" is not in branches.json",
                  "branch");
    }
  }
  if (auto ok = LoadCells(cell_count, cell_at, town,
                          strict || checks == ConfigChecks::kNewCells);
      !ok)
    return std::unexpected(ok.error());
  auto routing = ParseJson("routing.json", read, strict);
  if (!routing) return std::unexpected(routing.error());
  if (auto ok = Guarded("routing.json",
                        [&] { return LoadRouting(*routing, town, strict); });
      !ok) {
    return std::unexpected(ok.error());
  }
  return town;
}

}  // namespace

Result<TownConfig> LoadTownConfig(const ConfigReader& read,
                                  const spatial::Layers& layers,
                                  ConfigChecks checks) {
  return Load(
      read, layers, layers.cells.size(),
      [&](size_t i) {
        const spatial::Feature& c = layers.cells[i];
        return CellInfo{c.code,
                        c.name,
                        c.Attribute("village"),
                        c.Attribute("branch"),
                        c.Attribute("member"),
                        c.Attribute("leader")};
      },
      checks);
}

Result<TownConfig> LoadTownConfig(const ConfigReader& read,
                                  const spatial::Layers& layers,
                                  const spatial::FeatureTable& cells,
                                  ConfigChecks checks) {
  return Load(
      read, layers, cells.size(),
      [&](size_t i) {
        return CellInfo{
            std::string(cells.code(i)),    std::string(cells.name(i)),
            cells.Attribute(i, "village"), cells.Attribute(i, "branch"),
            cells.Attribute(i, "member"),  cells.Attribute(i, "leader")};
      },
      checks);
}

}  // namespace wangge::core
