// Patrols of the cells (core/patrols.h):
//   POST /api/v1/patrols            a grid leader records one (Idempotency-Key)
//   GET  /api/v1/patrols            ?cell=&from=&to=&limit=&offset=, newest
//   first GET  /api/v1/patrols/coverage   ?at=: this week's patrols against
//   three a
//                                   cell, and cells not walked in 15 days
// Grid leaders and branch accounts see their own cells; others every cell.
#include <map>
#include <nlohmann/json.hpp>

#include "core/patrols.h"
#include "server/api_internal.h"

namespace wangge::server::internal {
namespace {

using nlohmann::ordered_json;

std::string PersonName(const core::Town& town, const std::string& id) {
  const core::Person* p = town.config.FindPerson(id);
  return p ? p->name : "";
}

// The name of user `id` as pages show it, looked up once per request.
using Names = std::map<int64_t, std::string>;
const std::string& UserName(const Context& c, int64_t id, Names& names) {
  auto it = names.find(id);
  if (it != names.end()) return it->second;
  auto user = c.db.FindUserById(id);
  return names[id] = user ? (user->display_name.empty() ? user->username
                                                        : user->display_name)
                          : "";
}

ordered_json PatrolJson(const Context& c, const core::PatrolRecord& p,
                        Names& names) {
  auto cell = c.town.config.cells.find(p.cell);
  ordered_json j = {
      {"id", p.id},
      {"cell", p.cell},
      {"cell_name", cell == c.town.config.cells.end() ? "" : cell->second.name},
      {"patroller",
       {{"id", p.patroller}, {"name", UserName(c, p.patroller, names)}}},
      {"started_at", p.started_at},
      {"ended_at", p.ended_at},
      {"note", p.note}};
  if (p.lon && p.lat) {
    j["lon"] = *p.lon;
    j["lat"] = *p.lat;
  }
  j["recorded_at"] = p.recorded_at;
  return j;
}

// The query's cell, from and to within the user's reach; nullopt when the
// reach is empty (a grid leader of no cell).
Result<std::optional<core::PatrolFilter>> Filter(const Context& c,
                                                 const core::User& user) {
  core::PatrolFilter f;
  auto reach = core::PatrolReach(user, c.town);
  if (std::string cell = c.Query("cell"); !cell.empty()) {
    if (reach &&
        std::find(reach->begin(), reach->end(), cell) == reach->end()) {
      return Fail(ErrorCode::kPermissionDenied,
                  "cell " + cell + " is not one of yours", "cell");
    }
    f.cells = {cell};
  } else if (reach) {
    if (reach->empty()) return std::nullopt;
    f.cells = *reach;
  }
  for (auto [key, out] : {std::pair{"from", &f.from}, std::pair{"to", &f.to}}) {
    if (std::string v = c.Query(key); !v.empty()) {
      auto t = core::ParseTime(v);
      if (!t) return Fail(ErrorCode::kInvalidArgument, t.error().message, key);
      *out = core::FormatLocal(*t);
    }
  }
  return f;
}

// GET /api/v1/patrols.csv: every patrol the filter matches, for Excel.
ApiResponse Csv(Context& c, const core::User& user) {
  constexpr int64_t kMaxExport = 100000;
  auto f = Filter(c, user);
  if (!f) return FromError(f.error());
  std::vector<core::PatrolRecord> all;
  if (*f) {
    (*f)->limit = 1000;
    for (;; (*f)->offset += (*f)->limit) {
      auto page = c.db.ListPatrols(**f);
      if (!page) return FromError(page.error());
      all.insert(all.end(), page->begin(), page->end());
      if (int64_t(all.size()) > kMaxExport) {
        return ErrorResponse(400, "too_many",
                             "导出超过 100000 条 / more than 100,000 patrols "
                             "match; narrow the export with from/to or cell",
                             "from");
      }
      if (int64_t(page->size()) < (*f)->limit) break;
    }
  }
  Names names;
  for (const auto& p : all) UserName(c, p.patroller, names);
  ApiResponse r;
  r.status = 200;
  r.headers["Content-Disposition"] = "attachment; filename=\"patrols.csv\"";
  r.body = core::PatrolsCsv(all, c.town.config, names);
  r.content_type = "text/csv; charset=utf-8";
  return r;
}

ApiResponse List(Context& c, const core::User& user) {
  auto filter = Filter(c, user);
  if (!filter) return FromError(filter.error());
  if (!*filter) return JsonOf(200, {{"patrols", ordered_json::array()}});
  core::PatrolFilter& f = **filter;
  for (auto [key, out, min, max] :
       {std::tuple{"limit", &f.limit, 1, 1000},
        std::tuple{"offset", &f.offset, 0, 1 << 30}}) {
    if (auto ok = WholeQuery(c, key, min, max, *out); !ok) {
      return FromError(ok.error());
    }
  }
  auto patrols = c.db.ListPatrols(f);
  if (!patrols) return FromError(patrols.error());
  ordered_json list = ordered_json::array();
  Names names;
  for (const auto& p : *patrols) list.push_back(PatrolJson(c, p, names));
  return JsonOf(200,
                {{"patrols", list}, {"limit", f.limit}, {"offset", f.offset}});
}

ApiResponse Coverage(Context& c, const core::User& user) {
  core::Time at = c.now;
  if (std::string v = c.Query("at"); !v.empty()) {
    auto t = core::ParseTime(v);
    if (!t)
      return ErrorResponse(400, "invalid_argument", t.error().message, "at");
    at = *t;
  }
  auto cov =
      core::PatrolCoverage(c.db, c.town, core::PatrolReach(user, c.town), at);
  if (!cov) return FromError(cov.error());
  ordered_json cells = ordered_json::array();
  for (const auto& cell : cov->cells) {
    cells.push_back(
        {{"cell", cell.cell},
         {"name", cell.name},
         {"village", cell.village},
         {"leader",
          {{"person", cell.leader}, {"name", PersonName(c.town, cell.leader)}}},
         {"this_week", cell.this_week},
         {"week_met", cell.this_week >= core::kPatrolsPerWeek},
         {"last_patrol", cell.last_patrol},
         {"covered", cell.covered}});
  }
  return JsonOf(
      200,
      {{"week", {{"from", cov->week_from}, {"to", cov->week_to}}},
       {"per_week", core::kPatrolsPerWeek},
       {"window", {{"from", cov->window_from}, {"days", core::kCoverageDays}}},
       {"cells_total", cov->cells.size()},
       {"weeks_met", cov->weeks_met},
       {"covered", cov->covered},
       {"cells", cells}});
}

}  // namespace

std::optional<ApiResponse> PatrolsRoute(Context& c) {
  const std::string& p = c.req.path;
  if (p != "/api/v1/patrols" && p != "/api/v1/patrols/coverage" &&
      p != "/api/v1/patrols.csv") {
    return std::nullopt;
  }
  c.route = p;
  const std::string& m = c.req.method;
  if (m != "GET" && !(m == "POST" && p == "/api/v1/patrols")) {
    return ErrorResponse(
        405, "method_not_allowed",
        p == "/api/v1/patrols" ? "use GET or POST " + p : "use GET " + p);
  }
  auto user = Authenticate(c);
  if (!user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  if (p == "/api/v1/patrols/coverage") return Coverage(c, *user);
  if (p == "/api/v1/patrols.csv") return Csv(c, *user);
  if (m == "GET") return List(c, *user);
  auto in = core::ParsePatrol(c.req.body);
  if (!in) return FromError(in.error());
  auto key = c.req.headers.find("idempotency-key");
  auto recorded =
      core::RecordPatrol(c.db, c.town, *user, *in,
                         key == c.req.headers.end() ? "" : key->second, c.now);
  if (!recorded) return FromError(recorded.error());
  Names names;
  return JsonOf(recorded->existed ? 200 : 201,
                PatrolJson(c, recorded->patrol, names));
}

}  // namespace wangge::server::internal
