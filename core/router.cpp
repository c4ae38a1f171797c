#include "core/router.h"

#include <algorithm>
#include <cmath>

namespace wangge::core {
namespace {

std::optional<PersonRef> Ref(const TownConfig& town, const std::string& id) {
  const Person* p = town.FindPerson(id);
  if (!p) return std::nullopt;
  return PersonRef{p->id, p->name, p->phone};
}

std::string LimitText(const TimeLimit& limit) {
  char value[32];
  std::snprintf(value, sizeof value, "%g", limit.value);
  switch (limit.unit) {
    case TimeUnit::kWorkingHours:
      return std::string(value) + " 个工作小时";
    case TimeUnit::kWorkingDays:
      return std::string(value) + " 个工作日";
    case TimeUnit::kNaturalDays:
      return std::string(value) + " 个自然日";
    case TimeUnit::kNaturalHours:
      return std::string(value) + " 小时";
  }
  return value;
}

bool Matches(const Override& o, const Category& cat,
             const spatial::Placement& placement, const TownConfig& town) {
  bool category = std::any_of(o.categories.begin(), o.categories.end(),
                              [&](const std::string& c) {
                                return c == cat.code || c == cat.parent_code;
                              });
  if (!category) return false;
  if (!placement.village.empty() &&
      std::find(o.villages.begin(), o.villages.end(), placement.village) !=
          o.villages.end()) {
    return true;
  }
  for (const std::string& z : placement.zones) {
    if (std::find(o.zones.begin(), o.zones.end(), z) != o.zones.end()) {
      return true;
    }
    auto info = town.zones.find(z);
    if (info != town.zones.end() &&
        std::find(o.zone_themes.begin(), o.zone_themes.end(),
                  info->second.theme) != o.zone_themes.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<Assignment> Route(const spatial::Placement& placement,
                         const std::string& category, Time reported_at,
                         const TownConfig& town) {
  auto found = town.categories.find(category);
  if (found == town.categories.end()) {
    if (town.category_groups.count(category)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "category " + category + " (" +
                      town.category_groups.at(category) +
                      ") is a 大类; choose one of its 5-digit 小类",
                  "category");
    }
    return Fail(ErrorCode::kNotFound,
                "category \"" + category +
                    "\" is not in categories.json; use a 5-digit 小类 code",
                "category");
  }
  const Category& cat = found->second;
  Assignment a;
  a.category = cat.code;
  a.category_name = cat.parent_name + "/" + cat.name;
  a.kind = cat.kind;
  a.reported_at = reported_at;
  a.boundary_version = placement.boundary_version;
  a.village = placement.village;
  a.level = cat.start_level;

  const std::string& triage = town.rules.triage_office;
  if (!placement.inside) {
    a.outside = true;
    a.lead = "office";
    a.offices.push_back({triage, town.offices.at(triage).name, true});
    char metres[32];
    std::snprintf(metres, sizeof metres, "%.0f", placement.distance_m);
    a.reasons.push_back("位置不在任何网格内（距最近网格 " +
                        placement.nearest_cell + " 约 " + metres +
                        " 米）→ 照常受理并标记，转" +
                        town.offices.at(triage).name + "分拣 (triage)");
  } else {
    a.cell = placement.cell;
    const CellInfo& cell = town.cells.at(placement.cell);
    const Branch& branch = town.branches.at(cell.branch);
    a.branch = branch.code;
    a.branch_name = branch.name;
    a.committee_member = Ref(town, cell.member);
    a.grid_leader = Ref(town, cell.leader);
    std::string who =
        "网格 " + cell.code + "（" + cell.name + "）→ " + branch.name;
    if (a.committee_member) who += "（支委 " + a.committee_member->name + "）";
    if (a.grid_leader) who += "，网格长 " + a.grid_leader->name;
    a.reasons.push_back(who);

    std::string office = cat.office;
    for (const Override& o : town.rules.overrides) {
      if (Matches(o, cat, placement, town)) {
        office = o.office;
        a.reasons.push_back("特别规则：" + o.reason + " → " +
                            town.offices.at(office).name);
        break;
      }
    }
    const std::string& office_name = town.offices.at(office).name;
    if (cat.kind == CategoryKind::kEvent) {
      a.lead = "branch";
      a.offices.push_back({office, office_name, false});
      a.reasons.push_back("类别 " + a.category_name +
                          " 属事件，先属地后属主：由 " + branch.name +
                          " 牵头，" + office_name + " 协办");
    } else {
      a.lead = "office";
      a.offices.push_back({office, office_name, true});
      a.reasons.push_back("类别 " + a.category_name +
                          " 属部件，先属主后属地：由 " + office_name +
                          " 负责，" + branch.name + " 配合");
    }
  }
  for (const std::string& co : cat.co_offices) {
    bool present =
        std::any_of(a.offices.begin(), a.offices.end(),
                    [&](const OfficeRef& o) { return o.code == co; });
    if (!present) {
      a.offices.push_back({co, town.offices.at(co).name, false});
      a.reasons.push_back("类别 " + a.category_name + " 需 " +
                          town.offices.at(co).name + " 协同");
    }
  }
  for (const std::string& z : placement.zones) {
    auto info = town.zones.find(z);
    if (info == town.zones.end() || info->second.member.empty()) continue;
    if (auto member = Ref(town, info->second.member)) {
      a.zone_members.push_back(*member);
      a.reasons.push_back("位于" + info->second.name + "，通知示范区责任党员 " +
                          member->name);
    }
  }

  Deadline accept = town.calendar.Add(reported_at, cat.accept);
  Deadline handle = town.calendar.Add(accept.at, cat.handle);
  a.accept_by = accept.at;
  a.handle_by = handle.at;
  a.reasons.push_back("受理时限 " + LimitText(cat.accept) + " → " +
                      FormatLocal(a.accept_by) + "；处置时限 " +
                      LimitText(cat.handle) + " → " + FormatLocal(a.handle_by));
  a.reasons.push_back(std::string("起始层级：") + LevelNameZh(a.level) +
                      "（紧急程度 " + cat.urgency + "）");
  for (auto* d : {&accept, &handle}) {
    for (const std::string& w : d->warnings) {
      if (std::find(a.warnings.begin(), a.warnings.end(), w) ==
          a.warnings.end()) {
        a.warnings.push_back(w);
      }
    }
  }
  return a;
}

}  // namespace wangge::core
