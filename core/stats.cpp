#include "core/stats.h"

#include <map>
#include <nlohmann/json.hpp>

#include "core/workflow.h"

namespace wangge::core {
namespace {

using nlohmann::ordered_json;

constexpr const char* kGroups[] = {"branch", "office",   "village",
                                   "cell",   "category", "leader"};

// The group key of a case and its display name.
std::pair<std::string, std::string> KeyOf(const Town& town,
                                          const std::string& group,
                                          const CaseRecord& c) {
  const TownConfig& t = town.config;
  auto name_in = [](const auto& map, const std::string& key,
                    auto get) -> std::string {
    auto it = map.find(key);
    return it == map.end() ? std::string() : get(it->second);
  };
  if (group == "branch") {
    return {c.branch, name_in(t.branches, c.branch,
                              [](const auto& b) { return b.name; })};
  }
  if (group == "office") {
    return {c.office,
            name_in(t.offices, c.office, [](const auto& o) { return o.name; })};
  }
  if (group == "village") {
    return {c.village,
            name_in(t.villages, c.village, [](const auto& v) { return v; })};
  }
  if (group == "cell") {
    return {c.cell,
            name_in(t.cells, c.cell, [](const auto& x) { return x.name; })};
  }
  if (group == "category") {
    return {c.category, name_in(t.categories, c.category,
                                [](const auto& x) { return x.name; })};
  }
  std::string leader =
      name_in(t.cells, c.cell, [](const auto& x) { return x.leader; });
  return {leader,
          name_in(t.people, leader, [](const auto& p) { return p.name; })};
}

void Add(StatsRow& to, const StatsRow& one) {
  to.received += one.received;
  to.closed += one.closed;
  to.closed_on_time += one.closed_on_time;
  to.handled += one.handled;
  to.handled_on_time += one.handled_on_time;
  to.reworked += one.reworked;
  to.overdue_now += one.overdue_now;
  to.evaluated += one.evaluated;
  to.satisfied += one.satisfied;
  to.handle_working_hours += one.handle_working_hours;
}

ordered_json Rate(int64_t num, int64_t den) {
  if (den == 0) return nullptr;
  return std::round(1e4 * double(num) / double(den)) / 1e4;
}

ordered_json RowJson(const StatsRow& r) {
  ordered_json j = {{"key", r.key},
                    {"name", r.name},
                    {"received", r.received},
                    {"closed", r.closed},
                    {"close_rate", Rate(r.closed, r.received)},
                    {"closed_on_time", r.closed_on_time},
                    {"on_time_close_rate", Rate(r.closed_on_time, r.closed)},
                    {"handled", r.handled},
                    {"handled_on_time", r.handled_on_time},
                    {"on_time_handle_rate", Rate(r.handled_on_time, r.handled)},
                    {"reworked", r.reworked},
                    {"rework_rate", Rate(r.reworked, r.handled)},
                    {"overdue_now", r.overdue_now},
                    {"evaluated", r.evaluated},
                    {"satisfied", r.satisfied},
                    {"satisfaction_rate", Rate(r.satisfied, r.evaluated)}};
  j["mean_handle_working_hours"] =
      r.handled == 0 ? ordered_json(nullptr)
                     : ordered_json(std::round(100 * r.handle_working_hours /
                                               double(r.handled)) /
                                    100);
  return j;
}

}  // namespace

Result<Stats> ComputeStats(Store& store, const Town& town,
                           const std::string& group, Time from, Time to,
                           Time now) {
  if (std::find(std::begin(kGroups), std::end(kGroups), group) ==
      std::end(kGroups)) {
    return Fail(ErrorCode::kInvalidArgument,
                "group must be branch, office, village, cell, category or "
                "leader",
                "group");
  }
  if (to <= from) {
    return Fail(ErrorCode::kInvalidArgument, "`to` must be after `from`", "to");
  }
  CaseFilter f;
  f.received_from = FormatLocal(from);
  f.received_to = FormatLocal(to);
  f.limit = int64_t(1) << 40;
  auto cases = store.ListCases(f);
  if (!cases) return std::unexpected(cases.error());
  std::map<std::string, StatsRow> rows;
  Stats out;
  out.group = group;
  for (const CaseRecord& c : *cases) {
    auto events = store.Events(c.id);
    if (!events) return std::unexpected(events.error());
    auto [key, name] = KeyOf(town, group, c);
    StatsRow one;
    one.received = 1;
    auto handle_by = ParseTime(c.handle_by);
    auto received = ParseTime(c.received_at);
    std::optional<Time> first_handled, last_closed;
    for (const CaseEvent& e : *events) {
      auto at = ParseTime(e.at);
      if (!at) continue;
      if (e.to == "handled" && !first_handled) first_handled = *at;
      if (e.to == "closed") last_closed = *at;
    }
    if (c.status == "closed") {
      one.closed = 1;
      one.closed_on_time =
          last_closed && handle_by && *last_closed <= *handle_by;
    }
    if (first_handled) {
      one.handled = 1;
      one.handled_on_time = handle_by && *first_handled <= *handle_by;
      one.reworked = c.rework_count > 0;
      if (received) {
        one.handle_working_hours =
            town.config.calendar.WorkingHoursBetween(*received, *first_handled);
      }
    }
    one.overdue_now = IsOpenState(c.status) && handle_by && *handle_by < now;
    if (!c.evaluation.empty()) {
      one.evaluated = 1;
      one.satisfied = c.evaluation == "satisfied";
    }
    StatsRow& row = rows[key];
    row.key = key;
    row.name = name;
    Add(row, one);
    Add(out.total, one);
  }
  out.total.key = "total";
  out.total.name = "合计";
  for (auto& [key, row] : rows) out.rows.push_back(std::move(row));
  return out;
}

std::string StatsJson(const Stats& stats, Time from, Time to) {
  ordered_json rows = ordered_json::array();
  for (const StatsRow& r : stats.rows) rows.push_back(RowJson(r));
  ordered_json definitions = {
      {"period", "cases RECEIVED in [from, to), judged by their state now"},
      {"close_rate", "结案率 = closed / received"},
      {"on_time_close_rate",
       "按期结案率 = closed at or before handle_by / closed"},
      {"on_time_handle_rate",
       "按期处置率 = first handled at or before handle_by / handled"},
      {"rework_rate",
       "返工率 = handled cases sent back at least once / handled"},
      {"overdue_now", "open cases past handle_by now"},
      {"mean_handle_working_hours",
       "mean working hours from receipt to first handled, over handled"},
      {"satisfaction_rate", "满意率 = satisfied / evaluated"}};
  return ordered_json{{"group", stats.group},  {"from", FormatLocal(from)},
                      {"to", FormatLocal(to)}, {"definitions", definitions},
                      {"rows", rows},          {"total", RowJson(stats.total)}}
      .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace wangge::core
