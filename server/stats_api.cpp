// GET /api/v1/stats?group=branch|office|village|cell|category|leader
// [&from=&to=]: the town's case statistics (core/stats.h) for the
// dispatchers and leaders who run the monthly review. Default period: the
// 30 days before now.
#include "core/stats.h"
#include "server/api_internal.h"

namespace wangge::server::internal {

std::optional<ApiResponse> StatsRoute(Context& c) {
  if (c.req.path != "/api/v1/stats") return std::nullopt;
  c.route = "/api/v1/stats";
  if (c.req.method != "GET") {
    return ErrorResponse(405, "method_not_allowed", "use GET /api/v1/stats");
  }
  auto user = Authenticate(c);
  if (!user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  if (user->role != "dispatcher" && user->role != "leader" &&
      user->role != "admin") {
    return ErrorResponse(403, "permission_denied",
                         "统计仅限综治中心与领导 / statistics are for "
                         "dispatchers, leaders and admins");
  }
  // Default: the 30 days up to and including this second.
  core::Time to = c.now + std::chrono::seconds(1);
  core::Time from = to - std::chrono::days(30);
  for (auto [key, out] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
    if (std::string v = c.Query(key); !v.empty()) {
      auto t = core::ParseTime(v);
      if (!t)
        return ErrorResponse(400, "invalid_argument", t.error().message, key);
      *out = *t;
    }
  }
  std::string group = c.Query("group");
  if (group.empty()) group = "branch";
  auto stats = core::ComputeStats(c.db, c.town, group, from, to, c.now);
  if (!stats) return FromError(stats.error());
  return Json(200, core::StatsJson(*stats, from, to));
}

}  // namespace wangge::server::internal
