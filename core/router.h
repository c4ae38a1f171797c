#pragma once
// Routing: who is responsible for a report, decided by a pure function of
// (placement, category, time, town configuration).
//
// Rules, in order:
//  1. A report outside every cell is accepted but flagged, and goes to the
//     triage office (综治中心) to sort out; the nearest cell is named.
//  2. The category's office, unless an override for the category matches
//     the report's village or zones (first match wins), e.g. 市容秩序 inside
//     the town centre → 城管执法中队.
//  3. Events (事件) go by territory first, then the owning office (先属地后
//     属主): the cell's branch leads through its committee member and grid
//     leader, the office co-handles. Components (部件) go by owner first
//     (先属主后属地): the office leads, the territory assists.
//  4. The responsible member of every demonstration zone the point lies in
//     is notified.
//  5. accept_by = reported_at + category.accept on the working calendar;
//     handle_by = accept_by + category.handle (the workflow recomputes it
//     from the real acceptance time).
//  6. The escalation level starts at the category's start_level (网格 by
//     default).
// Every choice adds a plain-Chinese reason.
//
//   auto a = Route(*placement, "04001", now, town);
//   for (auto& r : a->reasons) std::cout << r << "\n";

#include <string>
#include <vector>

#include "base/result.h"
#include "core/town_config.h"
#include "spatial/locator.h"

namespace wangge::core {

struct PersonRef {
  std::string id;
  std::string name;
  std::string phone;
};

struct OfficeRef {
  std::string code;
  std::string name;
  bool lead = false;  // leads the handling, else co-handles
};

struct Assignment {
  std::string category;
  std::string category_name;  // "生态环保/露天焚烧"
  CategoryKind kind = CategoryKind::kEvent;
  bool outside = false;  // outside every cell: triage
  std::string cell;
  std::string village;
  std::string branch;
  std::string branch_name;
  std::optional<PersonRef> committee_member;
  std::optional<PersonRef> grid_leader;
  std::vector<OfficeRef> offices;
  std::vector<PersonRef> zone_members;
  std::string lead;  // "branch" or "office"
  Time reported_at;
  Time accept_by;
  Time handle_by;
  Level level = Level::kGrid;
  int64_t boundary_version = 0;
  std::vector<std::string> reasons;
  std::vector<std::string> warnings;
};

// Fails with kNotFound (field "category") for an unknown category code, and
// kInvalidArgument when a 2-digit 大类 is given instead of a 5-digit 小类.
Result<Assignment> Route(const spatial::Placement& placement,
                         const std::string& category, Time reported_at,
                         const TownConfig& town);

}  // namespace wangge::core
