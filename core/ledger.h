#pragma once
// Ledger (台账): cases as a table for the town's paperwork — one row per
// case with Chinese headers — written as CSV, GeoJSON or XLSX bytes.
//
// CSV is UTF-8 with a byte-order mark (so Excel shows Chinese), quoted per
// RFC 4180, and a cell that starts with = + - @ gets a leading ' so a
// spreadsheet never runs it as a formula. GeoJSON is a FeatureCollection of
// points (lon, lat) with the same columns as properties (English keys).
// XLSX is one sheet "台账" through libxlsxwriter.
//
// Pure functions of their inputs; safe from many threads.
//
//   auto rows = LedgerRows(town.config, cases, now);
//   std::string csv = LedgerCsv(rows);
//   auto xlsx = LedgerXlsx(rows);  // kInternal if the temp file fails

#include <string>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town_config.h"

namespace wangge::core {

struct LedgerColumn {
  std::string zh;  // 编号
  std::string en;  // number (GeoJSON property name)
};

// 编号, 状态, 类别, 描述, 地址, 村/社区, 网格, 支部, 责任科室, 上报时间,
// 受理时限, 办结时限, 是否超期, 经度, 纬度.
const std::vector<LedgerColumn>& LedgerColumns();

struct LedgerRow {
  std::vector<std::string> cells;  // one per column, as text
  double lon = 0;
  double lat = 0;
};

// One row per case, in the order given. Names come from `config`; a case
// is overdue if marked so, or open with handle_by before `now`.
std::vector<LedgerRow> LedgerRows(const TownConfig& config,
                                  const std::vector<CaseRecord>& cases,
                                  Time now);

// A CSV field: without NUL (which ends the field for many readers; cases
// stored before intake refused it may hold one), a leading = + - @ defused
// with ', then RFC 4180 quoting when it holds a comma, quote, CR or LF.
std::string CsvField(const std::string& s);

std::string LedgerCsv(const std::vector<LedgerRow>& rows);
std::string LedgerGeoJson(const std::vector<LedgerRow>& rows);
Result<std::string> LedgerXlsx(const std::vector<LedgerRow>& rows);

}  // namespace wangge::core
