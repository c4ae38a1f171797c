// The case workflow over HTTP: actions on a case, the case JSON with the
// user's allowed actions, and the users to assign cases to (issue 6).
//
//   POST /api/v1/cases/{id}/actions  {"action", "version", ...} -> case
//   GET  /api/v1/cases/{id}          case with events, allowed_actions, photos
//   GET  /api/v1/cases               list, each with allowed_actions
//   GET  /api/v1/users?role=&scope=  dispatcher, leader, admin
//   GET  /api/v1/workflow            states and the role × action table
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/intake.h"
#include "core/workflow.h"
#include "server/api_internal.h"

namespace wangge::server::internal {
namespace {

using nlohmann::ordered_json;

// Names of users by id, looked up once per request.
class UserNames {
 public:
  explicit UserNames(core::Store& db) : db_(db) {}
  const core::User* Find(int64_t id) {
    auto it = users_.find(id);
    if (it == users_.end()) {
      auto u = db_.FindUserById(id);
      it = users_.emplace(id, u ? std::optional<core::User>(*u) : std::nullopt)
               .first;
    }
    return it->second ? &*it->second : nullptr;
  }

 private:
  core::Store& db_;
  std::map<int64_t, std::optional<core::User>> users_;
};

bool PastDue(const core::CaseRecord& r, core::Time now) {
  if (!core::IsOpenState(r.status)) return false;
  auto due =
      core::ParseTime(r.status == "reported" ? r.accept_by : r.handle_by);
  return due && *due < now;
}

ordered_json CaseOut(Context& c, UserNames& names, const core::User& user,
                     const core::CaseRecord& r,
                     const std::vector<core::CaseEvent>* events) {
  ordered_json j = ordered_json::parse(core::CaseJson(r, events));
  if (r.assignee) {
    const core::User* a = names.Find(r.assignee);
    j["assignee"] = {{"id", r.assignee},
                     {"username", a ? a->username : ""},
                     {"name", a ? a->display_name : ""}};
  }
  j["overdue"] = r.overdue || PastDue(r, c.now);
  j["allowed_actions"] = core::AllowedActions(r, user, c.town);
  if (events) {
    for (auto& e : j["events"]) {
      int64_t actor = e["actor"];
      const core::User* a = actor ? names.Find(actor) : nullptr;
      e["actor_name"] = actor == 0 ? "系统 system" : (a ? a->display_name : "");
    }
  }
  return j;
}

// A case with its events and photos: the answer about one case.
ApiResponse OneCase(Context& c, const core::User& user,
                    const core::CaseRecord& r) {
  auto events = c.db.Events(r.id);
  if (!events) return FromError(events.error());
  UserNames names(c.db);
  ordered_json j = CaseOut(c, names, user, r, &*events);
  if (auto ok = AddAttachments(c, r.id, j); !ok) return FromError(ok.error());
  return JsonOf(200, j);
}

ApiResponse NotYours(const std::string& id) {
  return ErrorResponse(404, "not_found",
                       "case " + id + " does not exist or is not yours to see",
                       "id");
}

ApiResponse Users(Context& c, const core::User& user) {
  if (user.role != "dispatcher" && user.role != "leader" &&
      user.role != "admin") {
    return ErrorResponse(403, "permission_denied",
                         "only dispatchers, leaders and admins list users",
                         "Authorization");
  }
  auto users = c.db.Users();
  if (!users) return FromError(users.error());
  std::string role = c.Query("role"), scope = c.Query("scope");
  ordered_json out = ordered_json::array();
  for (const auto& u : *users) {
    if (u.disabled || (!role.empty() && u.role != role) ||
        (!scope.empty() && u.scope != scope)) {
      continue;
    }
    out.push_back({{"id", u.id},
                   {"username", u.username},
                   {"name", u.display_name},
                   {"role", u.role},
                   {"scope", u.scope}});
  }
  return JsonOf(200, out);
}

ApiResponse WorkflowTable() {
  ordered_json actions = ordered_json::array();
  for (const auto& rule : core::ActionTable()) {
    ordered_json who = ordered_json::array();
    for (const auto& g : rule.who) {
      who.push_back({{"role", g.role}, {"scope", core::ReachName(g.reach)}});
    }
    actions.push_back(
        {{"action", rule.action},
         {"name", rule.zh},
         {"from", rule.from},
         {"to", rule.to.empty() ? ordered_json() : ordered_json(rule.to)},
         {"condition", rule.when},
         {"who", who},
         {"input", rule.input}});
  }
  return JsonOf(200,
                ordered_json{{"states", core::States()}, {"actions", actions}});
}

ApiResponse Act(Context& c, const core::User& user, int64_t id) {
  auto found = c.db.GetCase(id);
  if (!found || !core::MayRead(*found, user, c.town)) {
    return NotYours(std::to_string(id));
  }
  auto input = core::ParseAction(c.req.body);
  if (!input) return FromError(input.error());
  auto done = core::PerformAction(c.db, c.town, user, id, *input, c.now);
  if (!done) {
    const Error& e = done.error();
    if (e.code != ErrorCode::kConflict) return FromError(e);
    auto now = c.db.GetCase(id);
    ordered_json err = {
        {"code", "conflict"}, {"message", e.message}, {"field", e.field}};
    if (now) {
      err["allowed_actions"] = core::AllowedActions(*now, user, c.town);
      err["version"] = now->version;
      err["status"] = now->status;
    }
    return JsonOf(409, ordered_json{{"error", err}});
  }
  return OneCase(c, user, done->record);
}

}  // namespace

std::optional<ApiResponse> WorkflowRoute(Context& c) {
  static const std::regex kAction(R"(/api/v1/cases/(\d{1,18})/actions)");
  static const std::regex kCase(R"(/api/v1/cases/(\d{1,18}))");
  const std::string& m = c.req.method;
  const std::string& p = c.req.path;
  std::smatch match;
  enum { kNone, kActions, kOne, kList, kUsers, kTable } which = kNone;
  if (m == "POST" && std::regex_match(p, match, kAction)) {
    which = kActions;
    c.route = "/api/v1/cases/{id}/actions";
  } else if (m == "GET" && std::regex_match(p, match, kCase)) {
    which = kOne;
    c.route = "/api/v1/cases/{id}";
  } else if (m == "GET" && p == "/api/v1/cases") {
    which = kList;
  } else if (m == "GET" && p == "/api/v1/users") {
    which = kUsers;
  } else if (m == "GET" && p == "/api/v1/workflow") {
    which = kTable;
  }
  if (which == kNone) return std::nullopt;
  if (c.route.empty()) c.route = p;
  auto user = Authenticate(c);
  if (!user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  switch (which) {
    case kActions:
      return Act(c, *user, std::stoll(match[1]));
    case kUsers:
      return Users(c, *user);
    case kTable:
      return WorkflowTable();
    case kOne: {
      auto found = c.db.GetCase(std::stoll(match[1]));
      if (!found || !core::MayRead(*found, *user, c.town)) {
        return NotYours(match[1]);
      }
      return OneCase(c, *user, *found);
    }
    case kList: {
      auto f = ParseCaseFilter(c);
      if (!f) return FromError(f.error());
      auto cases = c.db.ListCases(core::ScopeTo(*user, c.town, *f));
      if (!cases) return FromError(cases.error());
      UserNames names(c.db);
      ordered_json list = ordered_json::array();
      for (const auto& r : *cases) {
        list.push_back(CaseOut(c, names, *user, r, nullptr));
      }
      return JsonOf(200, ordered_json{{"cases", list},
                                      {"limit", f->limit},
                                      {"offset", f->offset}});
    }
    case kNone:
      break;
  }
  return std::nullopt;
}

}  // namespace wangge::server::internal
