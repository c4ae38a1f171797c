// Ledger exports: GET /api/v1/export/cases.{xlsx,csv,geojson} with the case
// list's filters and the reader's scope, every matching case (up to
// kMaxExport) rather than one page.

#include <regex>

#include "core/ledger.h"
#include "core/workflow.h"
#include "server/api_internal.h"

namespace wangge::server::internal {
namespace {

constexpr int64_t kMaxExport = 100000;
constexpr int64_t kPage = 500;

}  // namespace

std::optional<ApiResponse> LedgerRoute(Context& c) {
  static const std::regex kPath(R"(/api/v1/export/cases\.(xlsx|csv|geojson))");
  std::smatch m;
  if (!std::regex_match(c.req.path, m, kPath)) return std::nullopt;
  std::string format = m[1];
  c.route = "/api/v1/export/cases." + format;
  if (c.req.method != "GET") {
    return ErrorResponse(405, "method_not_allowed",
                         "exports are read with GET");
  }
  auto user = Authenticate(c);
  if (!user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  auto f = ParseCaseFilter(c);
  if (!f) return FromError(f.error());
  core::CaseFilter scoped = core::ScopeTo(*user, c.town, *f);
  scoped.limit = kPage;
  std::vector<core::CaseRecord> cases;
  for (scoped.offset = 0;; scoped.offset += kPage) {
    auto page = c.db.ListCases(scoped);
    if (!page) return FromError(page.error());
    cases.insert(cases.end(), page->begin(), page->end());
    if (int64_t(cases.size()) > kMaxExport) {
      return ErrorResponse(
          400, "too_many",
          "导出超过 " + std::to_string(kMaxExport) + " 件 / more than " +
              std::to_string(kMaxExport) +
              " cases match; narrow the export with from/to, village or "
              "status",
          "from");
    }
    if (int64_t(page->size()) < kPage) break;
  }
  auto rows = core::LedgerRows(c.town.config, cases, c.now);
  ApiResponse r;
  r.headers["Content-Disposition"] =
      "attachment; filename=\"cases." + format + "\"";
  if (format == "csv") {
    r.body = core::LedgerCsv(rows);
    r.content_type = "text/csv; charset=utf-8";
  } else if (format == "geojson") {
    r.body = core::LedgerGeoJson(rows);
    r.content_type = "application/geo+json";
  } else {
    auto xlsx = core::LedgerXlsx(rows);
    if (!xlsx) return FromError(xlsx.error());
    r.body = std::move(*xlsx);
    r.content_type =
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  }
  return r;
}

}  // namespace wangge::server::internal
