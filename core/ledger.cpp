#include "core/ledger.h"

#include <unistd.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

namespace wangge::core {
namespace {

enum Col {
  kNumber,
  kStatus,
  kCategory,
  kDescription,
  kAddress,
  kVillage,
  kCell,
  kBranch,
  kOffice,
  kReceived,
  kAcceptBy,
  kHandleBy,
  kOverdue,
  kLon,
  kLat,
  kCount
};

std::string StatusZh(const std::string& s) {
  static const std::map<std::string, std::string> kNames = {
      {"reported", "已上报"},   {"accepted", "已受理"},
      {"dispatched", "已派遣"}, {"in_progress", "处置中"},
      {"handled", "已处置"},    {"verifying", "核查中"},
      {"closed", "已结案"},     {"rejected", "不予受理"}};
  auto it = kNames.find(s);
  return it == kNames.end() ? s : it->second;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// Text as an Excel cell holds it: at most 32,767 characters (a longer
// string is an error libxlsxwriter leaves the cell empty for), and no NUL,
// where the C string it is handed would end. Longer text is cut at a
// character boundary and says so.
std::string CellText(std::string text) {
  std::erase(text, '\0');
  constexpr size_t kMaxChars = 32767;
  constexpr std::string_view kMark = "…（已截断 / cut）";  // 12 characters
  size_t chars = 0, keep = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars == kMaxChars - 12) keep = i;  // room for the mark
    if (++chars > kMaxChars) return text.substr(0, keep).append(kMark);
  }
  return text;
}

}  // namespace

const std::vector<LedgerColumn>& LedgerColumns() {
  static const std::vector<LedgerColumn> kColumns = {
      {"编号", "number"},
      {"状态", "status"},
      {"类别", "category"},
      {"描述", "description"},
      {"地址", "address"},
      {"村/社区", "village"},
      {"网格", "cell"},
      {"支部", "branch"},
      {"责任科室", "office"},
      {"上报时间", "received_at"},
      {"受理时限", "accept_by"},
      {"办结时限", "handle_by"},
      {"是否超期", "overdue"},
      {"经度", "lon"},
      {"纬度", "lat"}};
  return kColumns;
}

std::vector<LedgerRow> LedgerRows(const TownConfig& config,
                                  const std::vector<CaseRecord>& cases,
                                  Time now) {
  auto name = [](const auto& map, const std::string& code) -> std::string {
    auto it = map.find(code);
    return it == map.end() ? code : it->second;
  };
  std::string now_text = FormatLocal(now);
  std::vector<LedgerRow> rows;
  rows.reserve(cases.size());
  for (const auto& c : cases) {
    LedgerRow r;
    r.cells.resize(kCount);
    r.lon = c.lon;
    r.lat = c.lat;
    r.cells[kNumber] = c.number;
    r.cells[kStatus] = StatusZh(c.status);
    auto cat = config.categories.find(c.category);
    r.cells[kCategory] =
        cat == config.categories.end() ? c.category : cat->second.name;
    r.cells[kDescription] = c.description;
    r.cells[kAddress] = c.address;
    r.cells[kVillage] = name(config.villages, c.village);
    auto cell = config.cells.find(c.cell);
    r.cells[kCell] = cell == config.cells.end() ? c.cell : cell->second.name;
    auto branch = config.branches.find(c.branch);
    r.cells[kBranch] =
        branch == config.branches.end() ? c.branch : branch->second.name;
    auto office = config.offices.find(c.office);
    r.cells[kOffice] =
        office == config.offices.end() ? c.office : office->second.name;
    r.cells[kReceived] = c.received_at;
    r.cells[kAcceptBy] = c.accept_by;
    r.cells[kHandleBy] = c.handle_by;
    bool open = c.status != "closed" && c.status != "rejected";
    bool overdue =
        open && (c.overdue || (!c.handle_by.empty() && c.handle_by < now_text));
    r.cells[kOverdue] = overdue ? "是" : "否";
    r.cells[kLon] = Number(c.lon);
    r.cells[kLat] = Number(c.lat);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string CsvField(const std::string& s) {
  std::string v = s;
  std::erase(v, '\0');
  if (!v.empty() &&
      (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) {
    v = "'" + v;
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string LedgerCsv(const std::vector<LedgerRow>& rows) {
  std::string out = "\xEF\xBB\xBF";
  const auto& cols = LedgerColumns();
  for (size_t i = 0; i < cols.size(); ++i) {
    out += (i ? "," : "") + CsvField(cols[i].zh);
  }
  out += "\r\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.cells.size(); ++i) {
      // Coordinates are numbers; a negative one is not a formula.
      bool number = i == kLon || i == kLat;
      out += (i ? "," : "") + (number ? r.cells[i] : CsvField(r.cells[i]));
    }
    out += "\r\n";
  }
  return out;
}

std::string LedgerGeoJson(const std::vector<LedgerRow>& rows) {
  using nlohmann::ordered_json;
  const auto& cols = LedgerColumns();
  ordered_json features = ordered_json::array();
  for (const auto& r : rows) {
    ordered_json props;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i == kLon || i == kLat) continue;
      props[cols[i].en] = r.cells[i];
    }
    features.push_back(
        {{"type", "Feature"},
         {"geometry", {{"type", "Point"}, {"coordinates", {r.lon, r.lat}}}},
         {"properties", props}});
  }
  return ordered_json{{"type", "FeatureCollection"}, {"features", features}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::string> LedgerXlsx(const std::vector<LedgerRow>& rows) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/wangge-ledger-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) {
    return Fail(ErrorCode::kInternal,
                "cannot make a temporary file for the XLSX ledger in " + path +
                    "; check TMPDIR");
  }
  close(fd);
  lxw_workbook* book = workbook_new(path.c_str());
  if (!book) {
    std::remove(path.c_str());
    return Fail(ErrorCode::kInternal, "libxlsxwriter cannot open " + path);
  }
  lxw_worksheet* sheet = workbook_add_worksheet(book, "台账");
  lxw_format* bold = workbook_add_format(book);
  format_set_bold(bold);
  const auto& cols = LedgerColumns();
  for (size_t i = 0; i < cols.size(); ++i) {
    worksheet_write_string(sheet, 0, lxw_col_t(i), cols[i].zh.c_str(), bold);
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    for (size_t i = 0; i < row.cells.size(); ++i) {
      if (i == kLon || i == kLat) {
        worksheet_write_number(sheet, lxw_row_t(r + 1), lxw_col_t(i),
                               i == kLon ? row.lon : row.lat, nullptr);
      } else {
        worksheet_write_string(sheet, lxw_row_t(r + 1), lxw_col_t(i),
                               CellText(row.cells[i]).c_str(), nullptr);
      }
    }
  }
  lxw_error err = workbook_close(book);
  if (err != LXW_NO_ERROR) {
    std::remove(path.c_str());
    return Fail(ErrorCode::kInternal,
                std::string("XLSX ledger: ") + lxw_strerror(err));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path.c_str());
  return ss.str();
}

}  // namespace wangge::core
