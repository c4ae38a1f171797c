// `wangge export --layer cases`: the case ledger offline, in each format.
#include <doctest/doctest.h>

#include "core/intake.h"
#include "core/store.h"
#include "core/town.h"
#include "tests/cli.h"
#include "tests/temp_dir.h"

using namespace wangge::testing;
namespace core = wangge::core;

TEST_CASE(
    "wangge export --layer cases writes the ledger as CSV, GeoJSON, XLSX") {
  TempDir dir;
  std::string db = InitDb(dir);
  {
    auto store = core::Store::Open(db);
    REQUIRE(store);
    auto town = core::LoadTown(**store, std::nullopt);
    REQUIRE(town);
    auto user = (*store)->FindUser("p0021");
    REQUIRE(user);
    auto now = *core::ParseTime("2026-11-26T10:00");
    int n = 0;
    for (const char* text : {"焚烧秸秆, \"浓烟\"", "=1+1"}) {
      core::ReportInput in{.category = "04001",
                           .description = text,
                           .lon = 110.2444,
                           .lat = 34.518};
      std::string key = "ledger-" + std::to_string(++n);
      REQUIRE(core::SubmitReport(**store, *town, *user, in, key, now));
    }
  }
  auto export_to = [&](const std::string& out, const std::string& flags = "") {
    return Wangge("export --layer cases --db " + Q(db) + " --out " + Q(out) +
                  flags)
        .status;
  };
  std::string csv = dir / "cases.csv";
  REQUIRE(export_to(csv) == 0);
  std::string text = Slurp(csv);
  CHECK(text.starts_with("\xEF\xBB\xBF编号,状态,类别,描述"));
  CHECK(text.find("\"焚烧秸秆, \"\"浓烟\"\"\"") != std::string::npos);
  CHECK(text.find(",'=1+1,") != std::string::npos);
  // Never replaced without --force.
  CHECK(export_to(csv) == 1);
  CHECK(export_to(csv, " --force") == 0);

  std::string geojson = dir / "cases.geojson";
  REQUIRE(export_to(geojson) == 0);
  Run info = Sh("ogrinfo -ro -al -so " + Q(geojson) + " 2>&1");
  REQUIRE(info.status == 0);
  CHECK(info.out.find("Feature Count: 2") != std::string::npos);

  std::string xlsx = dir / "cases.xlsx";
  REQUIRE(export_to(xlsx) == 0);
  Run unzipped = Sh("unzip -p " + Q(xlsx) + " xl/worksheets/sheet1.xml");
  REQUIRE(unzipped.status == 0);
  const std::string& sheet = unzipped.out;
  size_t rows = 0;
  for (size_t at = sheet.find("<row "); at != std::string::npos;
       at = sheet.find("<row ", at + 1)) {
    ++rows;
  }
  CHECK(rows == 3);
  CHECK(export_to(dir / "cases.txt") == 2);
}
