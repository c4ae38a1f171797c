#include "core/workflow.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "core/accounts.h"
#include "core/json_out.h"

namespace wangge::core {
namespace {

using nlohmann::json;

const std::vector<std::string> kOpen = {"reported",    "accepted", "dispatched",
                                        "in_progress", "handled",  "verifying",
                                        "reopened"};
const std::vector<std::string> kLevels = {"grid", "village", "town", "county"};
const char* const kLevelsZh[] = {"网格", "村", "镇", "县"};

int LevelIndex(const std::string& level) {
  auto it = std::find(kLevels.begin(), kLevels.end(), level);
  return it == kLevels.end() ? 0 : int(it - kLevels.begin());
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

json Details(const CaseEvent& e) {
  json d = json::parse(e.details, nullptr, false);
  return d.is_object() ? d : json::object();
}

json CoOffices(const CaseRecord& r) {
  json o = json::parse(r.co_offices, nullptr, false);
  return o.is_array() ? o : json::array();
}

bool PendingCoOffice(const CaseRecord& r, const std::string& office) {
  for (const auto& o : CoOffices(r)) {
    if (o.value("code", "") == office && !o.value("reported", false)) {
      return true;
    }
  }
  return false;
}

bool InReach(const CaseRecord& r, const User& u, const Town& town,
             Reach reach) {
  switch (reach) {
    case Reach::kTown:
      return true;
    case Reach::kCell: {
      if (u.role == "office") {
        // The first office, an office the routing named (协办), or one
        // added by 吹哨 (co_offices). ScopeTo() says the same in SQL.
        if (u.scope.empty()) return false;
        if (r.office == u.scope) return true;
        json a = json::parse(r.assignment, nullptr, false);
        json routed =
            a.is_object() ? a.value("offices", json::array()) : json::array();
        for (const json& list : {CoOffices(r), routed}) {
          for (const auto& o : list) {
            if (o.is_object() && o.value("code", "") == u.scope) return true;
          }
        }
        return false;
      }
      auto cell = town.config.cells.find(r.cell);
      if (cell == town.config.cells.end()) return false;
      if (u.role == "grid_leader") return cell->second.leader == u.person;
      if (u.role == "branch") return cell->second.branch == u.scope;
      return true;
    }
    case Reach::kAssignee:
      return r.assignee != 0 && r.assignee == u.id;
    case Reach::kReporter:
      return r.reporter == u.id;
    case Reach::kCoOffice:
      return u.role == "office" && PendingCoOffice(r, u.scope);
  }
  return false;
}

bool Granted(const ActionRule& rule, const CaseRecord& r, const User& u,
             const Town& town) {
  for (const Grant& g : rule.who) {
    if ((g.role == "*" || g.role == u.role) && InReach(r, u, town, g.reach)) {
      return true;
    }
  }
  return false;
}

bool RoleMentioned(const ActionRule& rule, const User& u) {
  for (const Grant& g : rule.who) {
    if (g.role == "*" || g.role == u.role) return true;
  }
  return false;
}

// The state and extra condition of the rule hold for the case.
bool StateAllows(const ActionRule& rule, const CaseRecord& r) {
  if (!Contains(rule.from, r.status)) return false;
  if (rule.action == "confirm") return r.evaluation.empty();
  if (rule.action == "escalate") return LevelIndex(r.level) < 3;
  if (rule.action == "report_in") {
    for (const auto& o : CoOffices(r)) {
      if (!o.value("reported", false)) return true;
    }
    return false;
  }
  if (rule.action == "request_extension") return r.extension_hours == 0;
  if (rule.action == "approve_extension" || rule.action == "deny_extension") {
    return r.extension_hours > 0;
  }
  return true;
}

const ActionRule* FindRule(const std::string& action) {
  for (const auto& rule : ActionTable()) {
    if (rule.action == action) return &rule;
  }
  return nullptr;
}

std::string ActionNames() {
  std::string out;
  for (const auto& rule : ActionTable()) {
    out += (out.empty() ? "" : ", ") + rule.action;
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// New handle_by from `start` on the working calendar, by the category.
std::string HandleBy(const Town& town, const CaseRecord& r, Time start) {
  auto cat = town.config.categories.find(r.category);
  if (cat == town.config.categories.end()) return r.handle_by;
  return FormatLocal(town.config.calendar.Add(start, cat->second.handle).at);
}

}  // namespace

const std::vector<std::string>& States() {
  static const std::vector<std::string> states = {
      "reported", "accepted",  "rejected", "dispatched", "in_progress",
      "handled",  "verifying", "closed",   "reopened"};
  return states;
}

bool IsOpenState(const std::string& status) { return Contains(kOpen, status); }

const char* ReachName(Reach reach) {
  switch (reach) {
    case Reach::kTown:
      return "全镇 town";
    case Reach::kCell:
      return "本辖区 own cells (grid leader, branch) or cases (office)";
    case Reach::kAssignee:
      return "承办人 assignee";
    case Reach::kReporter:
      return "上报人 reporter";
    case Reach::kCoOffice:
      return "被吹哨单位 called-in office";
  }
  return "";
}

const std::vector<ActionRule>& ActionTable() {
  using R = Reach;
  static const std::vector<ActionRule> table = {
      {"accept",
       "受理立案",
       {"reported", "reopened"},
       "accepted",
       "",
       {{"dispatcher", R::kTown}, {"leader", R::kTown}},
       "note?"},
      {"reject",
       "不予立案",
       {"reported", "reopened"},
       "rejected",
       "",
       {{"dispatcher", R::kTown}},
       "reason: invalid, duplicate (+ duplicate_of) or not_ours (+ referral)"},
      {"dispatch",
       "派遣",
       {"accepted", "reopened"},
       "dispatched",
       "",
       {{"dispatcher", R::kTown}},
       "assignee (username of a grid leader, branch member or office)"},
      {"reassign",
       "改派",
       {"dispatched", "in_progress"},
       "",
       "",
       {{"dispatcher", R::kTown}},
       "assignee"},
      {"start",
       "开始处置",
       {"dispatched"},
       "in_progress",
       "",
       {{"*", R::kAssignee}},
       "note?"},
      {"handle",
       "处置反馈",
       {"in_progress"},
       "handled",
       "",
       {{"*", R::kAssignee}},
       "note; attachments if the category requires a photo"},
      {"verify",
       "核查",
       {"handled"},
       "verifying",
       "",
       {{"dispatcher", R::kTown}, {"grid_leader", R::kCell}},
       "passed? (then pass or fail at once)"},
      {"pass",
       "核查通过结案",
       {"verifying"},
       "closed",
       "",
       {{"dispatcher", R::kTown}, {"grid_leader", R::kCell}},
       "note?"},
      {"fail",
       "核查不通过返工",
       {"verifying"},
       "in_progress",
       "rework_count + 1",
       {{"dispatcher", R::kTown}, {"grid_leader", R::kCell}},
       "note (why)"},
      {"confirm",
       "评价",
       {"closed"},
       "",
       "not yet evaluated; not satisfied → reopened",
       {{"*", R::kReporter}, {"grid_leader", R::kCell}},
       "satisfied (bool), note?"},
      {"reopen",
       "重新打开",
       {"closed", "rejected"},
       "reopened",
       "",
       {{"dispatcher", R::kTown}, {"leader", R::kTown}},
       "note"},
      {"comment",
       "留言",
       kOpen,
       "",
       "",
       {{"dispatcher", R::kTown},
        {"leader", R::kTown},
        {"grid_leader", R::kCell},
        {"branch", R::kCell},
        {"office", R::kCell},
        {"*", R::kAssignee},
        {"*", R::kReporter}},
       "note, attachments?"},
      {"escalate",
       "吹哨升级",
       kOpen,
       "",
       "level below 县; level + 1",
       {{"dispatcher", R::kTown}, {"leader", R::kTown}, {"branch", R::kCell}},
       "offices? (co-handling office codes), note"},
      {"report_in",
       "报到",
       kOpen,
       "",
       "an office called in has not reported in",
       {{"office", R::kCoOffice}},
       "note?"},
      {"request_extension",
       "申请延期",
       {"dispatched", "in_progress"},
       "",
       "no request pending",
       {{"*", R::kAssignee}},
       "hours (whole working hours, 1–2000), note"},
      {"approve_extension",
       "批准延期",
       {"dispatched", "in_progress"},
       "",
       "a request pending; handle_by moves",
       {{"dispatcher", R::kTown}, {"leader", R::kTown}},
       "note?"},
      {"deny_extension",
       "驳回延期",
       {"dispatched", "in_progress"},
       "",
       "a request pending",
       {{"dispatcher", R::kTown}, {"leader", R::kTown}},
       "note?"},
  };
  return table;
}

std::string ActionTableMarkdown() {
  std::string out =
      "| action | 中文 | from states | to | condition | who (role: scope) | "
      "input |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : ActionTable()) {
    std::string who;
    for (const auto& g : r.who) {
      std::string reach = ReachName(g.reach);
      if (g.reach == Reach::kCell) {
        reach = g.role == "grid_leader" ? "本网格 own cells"
                : g.role == "branch"    ? "本支部 its cells"
                                        : "本单位 its cases";
      }
      who += (who.empty() ? "" : "; ") + (g.role == "*" ? "any" : g.role) +
             ": " + reach;
    }
    std::string from = r.from == kOpen ? "any open state" : Join(r.from);
    out += "| " + r.action + " | " + r.zh + " | " + from + " | " +
           (r.to.empty() ? "(same)" : r.to) + " | " + r.when + " | " + who +
           " | " + r.input + " |\n";
  }
  return out;
}

Result<ActionInput> ParseAction(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "the body must be a JSON object like {\"action\": \"accept\", "
                "\"version\": 1}",
                "body");
  }
  ActionInput in;
  auto bad = [](const char* key, const std::string& what) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + key + "` must be " + what, key);
  };
  auto has = [&](const char* key) {
    return j.contains(key) && !j[key].is_null();
  };
  for (auto [key, out] :
       {std::pair{"action", &in.action}, std::pair{"note", &in.note},
        std::pair{"assignee", &in.assignee}, std::pair{"reason", &in.reason},
        std::pair{"referral", &in.referral}}) {
    if (!has(key)) continue;
    if (!j[key].is_string()) return bad(key, "text");
    *out = j[key].get<std::string>();
  }
  if (in.action.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "`action` is required: one of " + ActionNames(), "action");
  }
  // Integers that fit int64 (2^64 - 1 would read as -1).
  auto integer = [&](const char* key) {
    const json& v = j[key];
    return v.is_number_integer() &&
           !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX));
  };
  if (has("version")) {
    if (!integer("version")) return bad("version", "a number");
    in.version = j["version"].get<int64_t>();
  }
  if (has("duplicate_of")) {
    if (!integer("duplicate_of")) return bad("duplicate_of", "a case id");
    in.duplicate_of = j["duplicate_of"].get<int64_t>();
  }
  if (has("hours")) {
    if (!j["hours"].is_number()) return bad("hours", "a number of hours");
    in.hours = j["hours"].get<double>();
  }
  for (auto [key, out] : {std::pair{"passed", &in.passed},
                          std::pair{"satisfied", &in.satisfied}}) {
    if (!has(key)) continue;
    if (!j[key].is_boolean()) return bad(key, "true or false");
    *out = j[key].get<bool>();
  }
  if (has("offices")) {
    if (!j["offices"].is_array()) return bad("offices", "a list of codes");
    for (const auto& o : j["offices"]) {
      if (!o.is_string()) return bad("offices", "a list of office codes");
      in.offices.push_back(o.get<std::string>());
    }
  }
  if (has("attachments")) {
    if (!j["attachments"].is_array()) return bad("attachments", "a list");
    for (const auto& a : j["attachments"]) {
      if (!a.is_number_integer()) {
        return bad("attachments", "a list of attachment ids");
      }
      in.attachments.push_back(a.get<int64_t>());
    }
  }
  return in;
}

std::vector<std::string> AllowedActions(const CaseRecord& r, const User& u,
                                        const Town& town) {
  std::vector<std::string> out;
  if (u.disabled) return out;
  for (const auto& rule : ActionTable()) {
    if (StateAllows(rule, r) && Granted(rule, r, u, town)) {
      out.push_back(rule.action);
    }
  }
  return out;
}

bool MayRead(const CaseRecord& r, const User& u, const Town& town) {
  if (u.role == "grid_leader" || u.role == "branch" || u.role == "office") {
    return InReach(r, u, town, Reach::kCell) ||
           InReach(r, u, town, Reach::kAssignee) ||
           InReach(r, u, town, Reach::kReporter);
  }
  return true;
}

CaseFilter ScopeTo(const User& u, const Town& town, CaseFilter f) {
  if (u.role != "grid_leader" && u.role != "branch" && u.role != "office") {
    return f;
  }
  CaseFilter::Reach& reach = f.reach.emplace();
  reach.user = u.id;
  if (u.role == "office") {
    reach.office = u.scope;
    return f;
  }
  reach.cells = OwnCells(u, town);
  return f;
}

std::vector<std::string> OwnCells(const User& u, const Town& town) {
  std::vector<std::string> cells;
  for (const auto& [code, cell] : town.config.cells) {
    if (u.role == "grid_leader" ? cell.leader == u.person
        : u.role == "branch"    ? cell.branch == u.scope
                                : false) {
      cells.push_back(code);
    }
  }
  return cells;
}

void ApplyEvent(CaseRecord& r, const CaseEvent& e) {
  json d = Details(e);
  if (!e.to.empty()) r.status = e.to;
  r.version = e.seq;
  auto text = [&](const char* key, std::string& out) {
    if (d.contains(key) && d[key].is_string()) out = d[key].get<std::string>();
  };
  text("accept_by", r.accept_by);
  text("level", r.level);
  if (d.contains("handle_by") && d["handle_by"].is_string()) {
    r.handle_by = d["handle_by"].get<std::string>();
    r.overdue = false;
  }
  const std::string& a = e.action;
  if (a == "dispatch" || a == "reassign") {
    r.assignee = d.value("assignee", int64_t(0));
  } else if (a == "fail") {
    ++r.rework_count;
  } else if (a == "pass") {
    r.evaluation.clear();
  } else if (a == "confirm") {
    r.evaluation = d.value("satisfied", false) ? "satisfied" : "unsatisfied";
  } else if (a == "reopen") {
    r.evaluation.clear();
  } else if (a == "reject") {
    r.duplicate_of = d.value("duplicate_of", int64_t(0));
  } else if (a == "escalate") {
    json offices = CoOffices(r);
    for (const auto& code : d.value("offices", json::array())) {
      bool known = false;
      for (const auto& o : offices) known = known || o["code"] == code;
      if (!known) offices.push_back({{"code", code}, {"reported", false}});
    }
    r.co_offices = offices.dump();
  } else if (a == "report_in") {
    json offices = CoOffices(r);
    for (auto& o : offices) {
      if (o["code"] == d.value("office", "")) o["reported"] = true;
    }
    r.co_offices = offices.dump();
  } else if (a == "request_extension") {
    r.extension_hours = d.value("hours", 0.0);
  } else if (a == "approve_extension" || a == "deny_extension") {
    r.extension_hours = 0;
  } else if (a == "overdue") {
    r.overdue = true;
  }
}

CaseRecord Project(CaseRecord base, const std::vector<CaseEvent>& events) {
  base.version = 0;
  base.assignee = 0;
  base.rework_count = 0;
  base.evaluation.clear();
  base.co_offices = "[]";
  base.overdue = false;
  base.extension_hours = 0;
  base.duplicate_of = 0;
  for (const auto& e : events) ApplyEvent(base, e);
  return base;
}

bool SameWorkflowFields(const CaseRecord& a, const CaseRecord& b,
                        std::string* field) {
  auto differs = [&](const char* name, bool same) {
    if (!same && field) *field = name;
    return !same;
  };
  return !(
      differs("status", a.status == b.status) ||
      differs("version", a.version == b.version) ||
      differs("accept_by", a.accept_by == b.accept_by) ||
      differs("handle_by", a.handle_by == b.handle_by) ||
      differs("level", a.level == b.level) ||
      differs("assignee", a.assignee == b.assignee) ||
      differs("rework_count", a.rework_count == b.rework_count) ||
      differs("evaluation", a.evaluation == b.evaluation) ||
      differs("co_offices", json::parse(a.co_offices, nullptr, false) ==
                                json::parse(b.co_offices, nullptr, false)) ||
      differs("overdue", a.overdue == b.overdue) ||
      differs("extension_hours", a.extension_hours == b.extension_hours) ||
      differs("duplicate_of", a.duplicate_of == b.duplicate_of));
}

std::string EventHash(const CaseEvent& e) {
  // The text hashed is nlohmann's dump() of the fields, keys sorted, with
  // invalid UTF-8 replaced. JsonOut writes the same text when every string
  // is valid UTF-8 (as every event the server makes is), without building a
  // tree; the intake writer hashes one event per report.
  if (IsUtf8(e.at) && IsUtf8(e.action) && IsUtf8(e.from) && IsUtf8(e.to) &&
      IsUtf8(e.note) && IsUtf8(e.details)) {
    JsonOut w;
    w.BeginObject().Key("action").String(e.action).Key("actor").Int(e.actor);
    w.Key("at").String(e.at).Key("case_id").Int(e.case_id);
    w.Key("details").String(e.details).Key("from").String(e.from);
    w.Key("note").String(e.note).Key("seq").Int(e.seq);
    w.Key("to").String(e.to).EndObject();
    return Digest(std::move(w).Take() + "\n" + e.prev_hash);
  }
  json canonical = {
      {"case_id", e.case_id}, {"seq", e.seq},       {"actor", e.actor},
      {"at", e.at},           {"action", e.action}, {"from", e.from},
      {"to", e.to},           {"note", e.note},     {"details", e.details}};
  return Digest(canonical.dump(-1, ' ', false, json::error_handler_t::replace) +
                "\n" + e.prev_hash);
}

std::optional<ChainBreak> VerifyChain(const std::vector<CaseEvent>& events) {
  std::string prev;
  int64_t seq = 0;
  for (const auto& e : events) {
    if (e.seq != ++seq) {
      return ChainBreak{e.seq, "event " + std::to_string(seq) + " is missing"};
    }
    if (e.prev_hash != prev) {
      return ChainBreak{e.seq,
                        "does not link to the event before it (prev_hash)"};
    }
    if (EventHash(e) != e.hash) {
      return ChainBreak{e.seq, "content does not match its hash"};
    }
    prev = e.hash;
  }
  return std::nullopt;
}

Result<Outcome> ApplyAction(const CaseRecord& record,
                            const std::vector<CaseEvent>& events,
                            const User& user, const ActionInput& in,
                            const Town& town, Time now) {
  const ActionRule* rule = FindRule(in.action);
  if (!rule) {
    return Fail(ErrorCode::kInvalidArgument,
                "unknown action `" + in.action + "`; one of " + ActionNames(),
                "action");
  }
  if (!in.version) {
    return Fail(ErrorCode::kInvalidArgument,
                "`version` is required: send the case's version as you last "
                "read it",
                "version");
  }
  if (!RoleMentioned(*rule, user) || user.disabled) {
    return Fail(ErrorCode::kPermissionDenied,
                "role " + user.role + " may not " + in.action + " (" +
                    rule->zh + ") a case; see the role table in README",
                "action");
  }
  if (*in.version != record.version) {
    return Fail(ErrorCode::kConflict,
                "case " + record.number + " has changed since you read it " +
                    "(your version " + std::to_string(*in.version) + ", now " +
                    std::to_string(record.version) +
                    "); reload it and decide again",
                "version");
  }
  if (!StateAllows(*rule, record)) {
    auto allowed = AllowedActions(record, user, town);
    return Fail(ErrorCode::kConflict,
                "case " + record.number + " is " + record.status +
                    (rule->when.empty() ? "" : " (" + rule->when + ")") + "; " +
                    in.action + " is not possible now. Possible now: " +
                    (allowed.empty() ? "none for you" : Join(allowed)),
                "action");
  }
  if (!Granted(*rule, record, user, town)) {
    return Fail(ErrorCode::kPermissionDenied,
                "case " + record.number + " is outside your scope for " +
                    in.action + " (" + rule->zh + ")",
                "action");
  }

  CaseRecord r = record;
  std::vector<CaseEvent> out;
  std::string at = FormatLocal(now);
  auto add = [&](const std::string& action, const std::string& to, json d,
                 const std::string& note) {
    CaseEvent e{
        .case_id = r.id,
        .seq = r.version + 1,
        .actor = user.id,
        .at = at,
        .from = r.status,
        .to = to.empty() ? r.status : to,
        .note = note,
        .action = action,
        .details = d.dump(-1, ' ', false, json::error_handler_t::replace)};
    ApplyEvent(r, e);
    out.push_back(std::move(e));
  };
  auto need_note = [&](const char* why) -> Result<void> {
    if (in.note.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("`note` is required: ") + why, "note");
    }
    return {};
  };
  if (in.note.size() > 4000) {
    return Fail(ErrorCode::kInvalidArgument,
                "`note` is too long (at most 4000 bytes)", "note");
  }
  json d = json::object();
  const std::string& a = in.action;
  if (a == "accept") {
    d["handle_by"] = HandleBy(town, r, now);
  } else if (a == "reject") {
    if (in.reason != "invalid" && in.reason != "duplicate" &&
        in.reason != "not_ours") {
      return Fail(ErrorCode::kInvalidArgument,
                  "`reason` must be invalid (无效), duplicate (重复, with "
                  "duplicate_of) or not_ours (非本镇职责, with referral)",
                  "reason");
    }
    d["reason"] = in.reason;
    if (in.reason == "duplicate") {
      if (!in.duplicate_of || *in.duplicate_of == r.id || !in.duplicate_case) {
        return Fail(ErrorCode::kInvalidArgument,
                    "`duplicate_of` must be the id of another existing case "
                    "(see possible_duplicates)",
                    "duplicate_of");
      }
      d["duplicate_of"] = *in.duplicate_of;
      d["duplicate_number"] = in.duplicate_case->number;
    }
    if (in.reason == "not_ours") {
      if (in.referral.empty()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "`referral` is required: who the reporter should turn to",
                    "referral");
      }
      d["referral"] = in.referral;
    }
  } else if (a == "dispatch" || a == "reassign") {
    const auto& target = in.assignee_user;
    if (!target || target->disabled ||
        (target->role != "grid_leader" && target->role != "branch" &&
         target->role != "office")) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`assignee` must be the username of an active grid leader, "
                  "branch member or office account (GET /api/v1/users)",
                  "assignee");
    }
    if (a == "reassign" && target->id == r.assignee) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the case is already assigned to " + target->username,
                  "assignee");
    }
    d["assignee"] = target->id;
    d["assignee_username"] = target->username;
  } else if (a == "handle") {
    if (auto ok = need_note("say what was done (处置情况)"); !ok) {
      return std::unexpected(ok.error());
    }
    auto cat = town.config.categories.find(r.category);
    if (cat != town.config.categories.end() && cat->second.requires_photo &&
        in.attachments.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "category " + cat->second.name +
                      " requires an after-photo: upload it and list its id in "
                      "`attachments`",
                  "attachments");
    }
  } else if (a == "fail") {
    if (auto ok = need_note("say what must be redone (返工原因)"); !ok) {
      return std::unexpected(ok.error());
    }
  } else if (a == "confirm") {
    if (!in.satisfied) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`satisfied` (true or false) is required", "satisfied");
    }
    d["satisfied"] = *in.satisfied;
    if (!*in.satisfied) d["handle_by"] = HandleBy(town, r, now);
  } else if (a == "reopen") {
    if (auto ok = need_note("say why the case is reopened"); !ok) {
      return std::unexpected(ok.error());
    }
    d["handle_by"] = HandleBy(town, r, now);
  } else if (a == "comment") {
    if (in.note.empty() && in.attachments.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`note` is required: the comment", "note");
    }
  } else if (a == "escalate") {
    for (const auto& code : in.offices) {
      if (!town.config.offices.contains(code)) {
        return Fail(ErrorCode::kInvalidArgument,
                    "office " + code +
                        " is unknown; see GET /api/v1/offices for the codes",
                    "offices");
      }
    }
    int next = LevelIndex(r.level) + 1;
    d["level"] = kLevels[next];
    d["offices"] = in.offices;
    d["by"] = "whistle";
  } else if (a == "report_in") {
    d["office"] = user.scope;
  } else if (a == "request_extension") {
    // Whole hours, as the console asks for them (1e-9 hours moved nothing).
    if (!in.hours || !(*in.hours >= 1) || *in.hours > 2000 ||
        *in.hours != std::floor(*in.hours)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "延期小时数须为 1 到 2000 的整数 / `hours` must be the "
                  "extra working hours asked for, a whole number from 1 to "
                  "2000",
                  "hours");
    }
    if (auto ok = need_note("say why more time is needed"); !ok) {
      return std::unexpected(ok.error());
    }
    d["hours"] = *in.hours;
  } else if (a == "approve_extension") {
    auto from = ParseTime(r.handle_by);
    Time start = from ? std::max(*from, now) : now;
    d["hours"] = r.extension_hours;
    d["handle_by"] = FormatLocal(
        town.config.calendar
            .Add(start, {r.extension_hours, TimeUnit::kWorkingHours})
            .at);
  } else if (a == "deny_extension") {
    d["hours"] = r.extension_hours;
  }
  if (!in.attachments.empty()) d["attachments"] = in.attachments;
  std::string note = in.note;
  if (note.empty()) note = rule->zh + " " + a;
  std::string to = rule->to;
  if (a == "confirm" && !*in.satisfied) to = "reopened";
  add(a, to, d, note);
  if (a == "verify" && in.passed) {
    json v = json::object();
    add(*in.passed ? "pass" : "fail", *in.passed ? "closed" : "in_progress", v,
        *in.passed ? "核查通过结案 pass" : in.note);
  }
  (void)events;
  return Outcome{std::move(r), std::move(out)};
}

Result<Outcome> PerformAction(Store& store, const Town& town, const User& user,
                              int64_t case_id, ActionInput in, Time now) {
  auto record = store.GetCase(case_id);
  if (!record) return std::unexpected(record.error());
  auto events = store.Events(case_id);
  if (!events) return std::unexpected(events.error());
  if (!in.assignee.empty()) {
    if (auto u = store.FindUser(in.assignee)) in.assignee_user = *u;
  }
  if (in.duplicate_of) {
    if (auto c = store.GetCase(*in.duplicate_of)) in.duplicate_case = *c;
  }
  if (in.action == "verify" && in.passed && !*in.passed && in.note.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "`note` is required: say what must be redone (返工原因)",
                "note");
  }
  auto outcome = ApplyAction(*record, *events, user, in, town, now);
  if (!outcome) return outcome;
  if (!in.attachments.empty()) {
    auto own = store.Attachments(case_id);
    if (!own) return std::unexpected(own.error());
    for (int64_t id : in.attachments) {
      bool found = std::any_of(own->begin(), own->end(),
                               [&](const Attachment& a) { return a.id == id; });
      if (!found) {
        std::string c = std::to_string(case_id);
        return Fail(ErrorCode::kInvalidArgument,
                    "附件 " + std::to_string(id) + " 不属于案件 " + c +
                        "; attachment " + std::to_string(id) +
                        " is not one of case " + c +
                        "'s photos: upload it first with POST "
                        "/api/v1/cases/" +
                        c + "/attachments",
                    "attachments");
      }
    }
  }
  auto stored =
      store.AppendEvents(outcome->record, record->version, outcome->events);
  if (!stored) return std::unexpected(stored.error());
  outcome->record = *stored;
  return outcome;
}

Result<TickReport> Tick(Store& store, const Town& town, Time now) {
  TickReport report;
  std::string at = FormatLocal(now);
  for (const std::string& status : kOpen) {
    CaseFilter f;
    f.status = status;
    f.limit = int64_t(1) << 40;
    auto cases = store.ListCases(f);
    if (!cases) return std::unexpected(cases.error());
    for (const CaseRecord& c : *cases) {
      if (c.overdue) continue;
      const std::string& deadline =
          status == "reported" ? c.accept_by : c.handle_by;
      auto due = ParseTime(deadline);
      if (!due || *due >= now) continue;
      CaseRecord r = c;
      std::vector<CaseEvent> events;
      auto add = [&](const std::string& action, json d,
                     const std::string& note) {
        CaseEvent e{.case_id = r.id,
                    .seq = r.version + 1,
                    .actor = 0,
                    .at = at,
                    .from = r.status,
                    .to = r.status,
                    .note = note,
                    .action = action,
                    .details = d.dump()};
        ApplyEvent(r, e);
        events.push_back(std::move(e));
      };
      std::string which = status == "reported" ? "accept_by" : "handle_by";
      add("overdue", {{"deadline", which}, {"due", deadline}},
          std::string("超期 overdue: ") +
              (status == "reported" ? "未按时受理 not accepted by "
                                    : "未按时处置 not handled by ") +
              deadline);
      // The category's rule (categories.json `escalation`); Level counts
      // from 1, kLevels from 0.
      Escalation rule;
      auto cat = town.config.categories.find(r.category);
      if (cat != town.config.categories.end()) rule = cat->second.escalation;
      int level = LevelIndex(r.level);
      int next = std::max(level + rule.steps, int(rule.at_least) - 1);
      next = std::min({next, int(rule.max) - 1, 3});
      bool escalated = next > level;
      if (escalated) {
        add("escalate",
            {{"level", kLevels[next]},
             {"offices", json::array()},
             {"by", "overdue"}},
            std::string("超期自动升级 escalated to ") + kLevelsZh[next]);
      }
      auto stored = store.AppendEvents(r, c.version, events);
      if (!stored) {
        if (stored.error().code == ErrorCode::kConflict) continue;
        return std::unexpected(stored.error());
      }
      ++report.overdue;
      if (escalated) ++report.escalated;
    }
  }
  return report;
}

}  // namespace wangge::core
