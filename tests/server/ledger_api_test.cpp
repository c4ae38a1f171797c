// Ledger exports read back the way their users open them: the XLSX as the
// zip it is (unzip), the CSV by its quoting rules, the GeoJSON by GDAL.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/store.h"
#include "core/town.h"
#include "server/api.h"
#include "tests/cli.h"
#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::server;
using nlohmann::json;
using wangge::testing::kPassword;
using wangge::testing::Q;
using wangge::testing::Run;
using wangge::testing::Sh;
using wangge::testing::TempDir;

namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// RFC 4180 records of `text` (fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        rows.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        rows.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

// The shared in-process fixture, logged in as the dispatcher.
struct Fixture : testing::Fixture {
  std::string token;

  Fixture() {
    ApiResponse r = api->Handle(
        {"POST",
         "/api/v1/login",
         {},
         {{"content-type", "application/json"}},
         json{{"username", "p0021"}, {"password", kPassword}}.dump(),
         "127.0.0.1"});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    token = json::parse(r.body)["token"];
  }

  void Report(const std::string& text, const std::string& key) {
    ApiResponse r = api->Handle({"POST",
                                 "/api/v1/reports",
                                 {},
                                 {{"authorization", "Bearer " + token},
                                  {"content-type", "application/json"},
                                  {"idempotency-key", key}},
                                 json{{"category", "04001"},
                                      {"description", text},
                                      {"lon", 110.2444},
                                      {"lat", 34.518}}
                                     .dump(),
                                 "127.0.0.1"});
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  ApiResponse Export(const std::string& format,
                     std::map<std::string, std::string> query = {}) {
    return api->Handle({"GET",
                        "/api/v1/export/cases." + format,
                        query,
                        {{"authorization", "Bearer " + token}},
                        "",
                        "127.0.0.1"});
  }
};

const std::vector<std::string> kTexts = {"焚烧秸秆, 浓烟 \"很大\"\r\n第二行",
                                         "=HYPERLINK(\"http://x\")",
                                         "@SUM(1) 与 -1 +2", "普通一件"};

}  // namespace

TEST_CASE("Ledger export: CSV with BOM, RFC 4180 quoting and no formulas") {
  Fixture f;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    f.Report(kTexts[i], "k" + std::to_string(i));
  }
  ApiResponse r = f.Export("csv");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.content_type.starts_with("text/csv"));
  REQUIRE(r.body.starts_with("\xEF\xBB\xBF"));
  auto rows = ParseCsv(r.body.substr(3));
  REQUIRE(rows.size() == kTexts.size() + 1);
  CHECK(rows[0][0] == "编号");
  CHECK(rows[0][3] == "描述");
  CHECK(rows[0].size() == 15);
  std::set<std::string> descriptions;
  for (size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i].size() == 15);
    CHECK(rows[i][0].starts_with("TY-20261126-"));
    CHECK(rows[i][2] == "露天焚烧");
    descriptions.insert(rows[i][3]);
  }
  CHECK(descriptions.contains("焚烧秸秆, 浓烟 \"很大\"\r\n第二行"));
  CHECK(descriptions.contains("'=HYPERLINK(\"http://x\")"));
  CHECK(descriptions.contains("'@SUM(1) 与 -1 +2"));
  CHECK(descriptions.contains("普通一件"));
  // Filters apply: one case by text.
  ApiResponse one = f.Export("csv", {{"text", "普通"}});
  CHECK(ParseCsv(one.body.substr(3)).size() == 2);
  ApiResponse bad = f.Export("csv", {{"from", "yesterday"}});
  CHECK(bad.status == 400);
}

TEST_CASE("Ledger export: XLSX has the Chinese headers and one row a case") {
  Fixture f;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    f.Report(kTexts[i], "k" + std::to_string(i));
  }
  ApiResponse r = f.Export("xlsx");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.body.starts_with("PK"));
  std::string file = f.dir.Write("cases.xlsx", r.body);
  Run sheet_xml = Sh("unzip -p " + Q(file) + " xl/worksheets/sheet1.xml");
  Run strings_xml = Sh("unzip -p " + Q(file) + " xl/sharedStrings.xml");
  REQUIRE_MESSAGE(sheet_xml.status == 0, sheet_xml.err);
  REQUIRE_MESSAGE(strings_xml.status == 0, strings_xml.err);
  const std::string& sheet = sheet_xml.out;
  const std::string& strings = strings_xml.out;
  CHECK(Count(sheet, "<row ") == kTexts.size() + 1);
  for (const char* header : {"编号", "状态", "类别", "描述", "地址", "村/社区",
                             "网格", "支部", "责任科室", "上报时间", "受理时限",
                             "办结时限", "是否超期", "经度", "纬度"}) {
    CHECK_MESSAGE(
        strings.find(std::string(">") + header + "<") != std::string::npos,
        header);
  }
  CHECK(strings.find("普通一件") != std::string::npos);
  CHECK(strings.find("TY-20261126-0004") != std::string::npos);
}

TEST_CASE(
    "Ledger export: XLSX cuts text past Excel's 32,767 characters and drops "
    "NUL, rather than leave the cell empty; CSV drops NUL too") {
  Fixture f;
  f.Report(kTexts[0], "k0");
  // Intake bounds descriptions now; a case stored before, or edited in the
  // database, may hold anything.
  REQUIRE(std::system(("sqlite3 " + f.db +
                       " \"UPDATE cases SET description = 'A' || char(0) || "
                       "'B' || replace(hex(zeroblob(40000)), '00', '焚')\"")
                          .c_str()) == 0);
  ApiResponse r = f.Export("xlsx");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  std::string file = f.dir.Write("cases.xlsx", r.body);
  Run strings_xml = Sh("unzip -p " + Q(file) + " xl/sharedStrings.xml");
  REQUIRE_MESSAGE(strings_xml.status == 0, strings_xml.err);
  std::string cut = "AB" + [] {
    std::string s;
    for (int i = 0; i < 32767 - 12 - 2; ++i) s += "焚";
    return s;
  }() + "…（已截断 / cut）";
  CHECK(strings_xml.out.find(">" + cut + "<") != std::string::npos);

  // A NUL in a CSV ends the field for many readers (Python's csv module
  // refuses the line).
  ApiResponse csv = f.Export("csv");
  REQUIRE_MESSAGE(csv.status == 200, csv.body);
  CHECK(csv.body.find('\0') == std::string::npos);
  CHECK(csv.body.find(",AB焚焚") != std::string::npos);
}

TEST_CASE("Ledger export: GeoJSON points that GDAL reads") {
  Fixture f;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    f.Report(kTexts[i], "k" + std::to_string(i));
  }
  ApiResponse r = f.Export("geojson");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  json j = json::parse(r.body);
  CHECK(j["type"] == "FeatureCollection");
  CHECK(j["features"].size() == kTexts.size());
  std::string file = f.dir.Write("cases.geojson", r.body);
  Run info = Sh("ogrinfo -ro -al -so " + Q(file) + " 2>&1");
  REQUIRE(info.status == 0);
  const std::string& out = info.out;
  CAPTURE(out);
  CHECK(out.find("Feature Count: " + std::to_string(kTexts.size())) !=
        std::string::npos);
  CHECK(out.find("Geometry: Point") != std::string::npos);
  CHECK(out.find("description: String") != std::string::npos);
  // Unauthenticated: 401.
  ApiResponse anon = f.api->Handle(
      {"GET", "/api/v1/export/cases.geojson", {}, {}, "", "127.0.0.1"});
  CHECK(anon.status == 401);
}
