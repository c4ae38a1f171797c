// `wangge export --layer cases`: the case ledger offline, in each format.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "core/intake.h"
#include "core/store.h"
#include "core/town.h"
#include "tests/temp_dir.h"

using wangge::testing::TempDir;
namespace core = wangge::core;

namespace {

int Run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, p)) text.append(buf, got);
  int raw = pclose(p);
  if (out) *out = text;
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

}  // namespace

TEST_CASE(
    "wangge export --layer cases writes the ledger as CSV, GeoJSON, XLSX") {
  TempDir dir;
  std::string db = dir / "town.db";
  std::string wangge = std::string("'") + WANGGE_BIN + "' ";
  REQUIRE(Run(wangge + "init --db '" + db + "' --data '" + WANGGE_DATA_DIR +
              "/taiyao' 2>/dev/null") == 0);
  {
    auto store = core::Store::Open(db);
    REQUIRE(store);
    auto town = core::LoadTown(**store, std::nullopt);
    REQUIRE(town);
    auto user = (*store)->FindUser("p0021");
    REQUIRE(user);
    auto now = *core::ParseTime("2026-11-26T10:00");
    for (const char* text : {"焚烧秸秆, \"浓烟\"", "=1+1"}) {
      core::ReportInput in{.category = "04001",
                           .description = text,
                           .lon = 110.2444,
                           .lat = 34.518};
      REQUIRE(core::SubmitReport(**store, *town, *user, in, text, now));
    }
  }
  std::string csv = dir / "cases.csv";
  REQUIRE(Run(wangge + "export --layer cases --db '" + db + "' --out '" + csv +
              "' 2>/dev/null") == 0);
  std::ifstream in(csv, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  CHECK(text.starts_with("\xEF\xBB\xBF编号,状态,类别,描述"));
  CHECK(text.find("\"焚烧秸秆, \"\"浓烟\"\"\"") != std::string::npos);
  CHECK(text.find(",'=1+1,") != std::string::npos);
  // Never replaced without --force.
  CHECK(Run(wangge + "export --layer cases --db '" + db + "' --out '" + csv +
            "' 2>/dev/null") == 1);
  CHECK(Run(wangge + "export --layer cases --db '" + db + "' --out '" + csv +
            "' --force 2>/dev/null") == 0);

  std::string geojson = dir / "cases.geojson";
  REQUIRE(Run(wangge + "export --layer cases --db '" + db + "' --out '" +
              geojson + "' 2>/dev/null") == 0);
  std::string info;
  REQUIRE(Run("ogrinfo -ro -al -so '" + geojson + "' 2>&1", &info) == 0);
  CHECK(info.find("Feature Count: 2") != std::string::npos);

  std::string xlsx = dir / "cases.xlsx";
  REQUIRE(Run(wangge + "export --layer cases --db '" + db + "' --out '" + xlsx +
              "' 2>/dev/null") == 0);
  std::string sheet;
  REQUIRE(Run("unzip -p '" + xlsx + "' xl/worksheets/sheet1.xml", &sheet) == 0);
  size_t rows = 0;
  for (size_t at = sheet.find("<row "); at != std::string::npos;
       at = sheet.find("<row ", at + 1)) {
    ++rows;
  }
  CHECK(rows == 3);
  CHECK(Run(wangge + "export --layer cases --db '" + db + "' --out '" +
            (dir / "cases.txt") + "' 2>/dev/null") == 2);
}
