#include "core/town_config.h"

#include <doctest/doctest.h>
#include <iconv.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "spatial/layer_reader.h"
#include "tests/core/town_fixture.h"
#include "tests/temp_dir.h"

using namespace wangge;
using namespace wangge::core;
using namespace wangge::testing;

namespace {

// `utf8` as Chinese Windows' ANSI (GBK) saves it.
std::string ToGbk(const std::string& utf8) {
  iconv_t cd = iconv_open("GBK", "UTF-8");
  REQUIRE(cd != iconv_t(-1));
  std::string out(utf8.size() * 2 + 4, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* to = out.data();
  size_t to_left = out.size();
  REQUIRE(iconv(cd, &in, &in_left, &to, &to_left) != size_t(-1));
  iconv_close(cd);
  out.resize(out.size() - to_left);
  return out;
}

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Copies the sample town, replaces `from` by `to` in `file` (which must
// contain it) and loads the copy.
Result<TownConfig> LoadEdited(const std::string& file, const std::string& from,
                              const std::string& to,
                              ConfigChecks checks = ConfigChecks::kNew) {
  TempDir dir;
  for (const auto& entry : std::filesystem::directory_iterator(kTownDir)) {
    std::filesystem::copy(entry.path(), dir.path() / entry.path().filename());
  }
  std::string text = Read(dir.path() / file);
  auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, file << " has no " << from);
  text.replace(at, from.size(), to);
  dir.Write(file, text);
  auto layers = spatial::ReadLayersDir(dir.path().string());
  REQUIRE(layers);
  if (checks == ConfigChecks::kNew) {
    return LoadTownConfig(dir.path().string(), *layers);
  }
  std::filesystem::path root = dir.path();
  return LoadTownConfig(
      [&](const std::string& name) -> Result<std::string> {
        return Read(root / name);
      },
      *layers, checks);
}

void ExpectError(const Result<TownConfig>& r, const std::string& part) {
  REQUIRE_FALSE(r);
  CHECK_MESSAGE(r.error().message.find(part) != std::string::npos,
                r.error().message);
}

}  // namespace

TEST_CASE("LoadTownConfig: the sample town loads completely") {
  const TownConfig& town = Town().config;
  CHECK(town.code == "610522102");
  CHECK(town.name == "太要镇");
  CHECK(town.villages.size() == 4);
  CHECK(town.branches.size() == 18);
  CHECK(town.cells.size() == 225);
  CHECK(town.zones.size() == 36);
  CHECK(town.category_groups.size() == 8);
  CHECK(town.categories.size() >= 20);
  CHECK(town.offices.count("ZZZX"));
  CHECK(town.rules.triage_office == "ZZZX");
  CHECK(town.rules.overrides.size() == 2);
  CHECK(town.calendar.covered_years().count(2026));
}

TEST_CASE(
    "LoadTownConfig: each kind of configuration error names file, entry and "
    "field") {
  SUBCASE("a category names an unknown office") {
    ExpectError(LoadEdited("categories.json", "\"office\": \"HBB\"",
                           "\"office\": \"环保办\""),
                "categories.json: 04001 names office \"环保办\", which is not "
                "in offices.json");
  }
  SUBCASE("an escalation rule with an unknown level") {
    ExpectError(LoadEdited("categories.json", "\"code\": \"01002\",",
                           "\"code\": \"01002\", "
                           "\"escalation\": {\"max\": \"province\"},"),
                "categories.json: 01002: escalation.max \"province\" must be "
                "grid, village, town or county");
  }
  SUBCASE("an escalation rule of too many steps") {
    ExpectError(LoadEdited("categories.json", "\"code\": \"01002\",",
                           "\"code\": \"01002\", "
                           "\"escalation\": {\"steps\": 7},"),
                "categories.json: 01002: escalation.steps must be a whole "
                "number from 0 to 3");
  }
  SUBCASE("an escalation rule whose floor is above its ceiling") {
    ExpectError(
        LoadEdited("categories.json", "\"code\": \"01002\",",
                   "\"code\": \"01002\", \"escalation\": {\"at_least\": "
                   "\"county\", \"max\": \"town\"},"),
        "categories.json: 01002: escalation.at_least is above escalation.max");
  }
  SUBCASE("broken JSON") {
    ExpectError(
        LoadEdited("offices.json", "\"code\": \"SFS\",", "\"code\": \"SFS\""),
        "offices.json: JSON 格式错误 / not valid JSON at line 9, column 10");
  }
  SUBCASE("overrides that are not a list (it aborted the program)") {
    ExpectError(LoadEdited("routing.json", "\"overrides\": [",
                           "\"overrides\": \"none\", \"x\": ["),
                "routing.json: `overrides` must be a list");
  }
  SUBCASE("a value of the wrong type (it aborted the program)") {
    ExpectError(LoadEdited("categories.json", "\"requires_photo\": true",
                           "\"requires_photo\": \"yes\""),
                "categories.json: 取值类型不对 / a value has the wrong type");
  }
  SUBCASE("a time limit past a year (deadlines in year -14967)") {
    ExpectError(LoadEdited("categories.json", "\"handle\": {",
                           "\"handle\": {\"value\": 1e9, \"unit\": "
                           "\"working_hours\"}, \"x\": {"),
                "`handle.value` must be at most a year: 2000 working_hours");
  }
  SUBCASE("ids that differ only in case log in as one name") {
    ExpectError(
        LoadEdited("people.json", "\"id\": \"P0002\"", "\"id\": \"p0001\""),
        "people.json, p0001: id used twice");
  }
  SUBCASE("an id that cannot be a login name") {
    ExpectError(
        LoadEdited("people.json", "\"id\": \"P0002\"", "\"id\": \"P0002 \""),
        "people.json, entry 2: id \"P0002 \" holds a space; an id is 1-64");
  }
  SUBCASE("a misspelt role") {
    ExpectError(LoadEdited("people.json", "\"office\"\n", "\"offce\"\n"),
                "role \"offce\" is not one of grid_leader");
  }
  SUBCASE("a person in an unknown branch") {
    ExpectError(LoadEdited("people.json", "\"branch\": \"610522102002-01\"",
                           "\"branch\": \"610522102002-99\""),
                "branch \"610522102002-99\" is not in branches.json");
  }
  SUBCASE("a calendar that is empty, or neither UTF-8 nor GBK") {
    std::string all = Read(std::filesystem::path(kTownDir) / "calendar.csv");
    ExpectError(LoadEdited("calendar.csv", all, "\r\n"),
                "calendar.csv: 文件为空 / is empty");
    ExpectError(LoadEdited("calendar.csv", "元旦", "\xFF\xFE"),
                "calendar.csv: 既不是 UTF-8 也不是 GBK / is neither UTF-8 nor "
                "GBK text");
  }
  SUBCASE("files saved as GBK by Chinese Excel or Notepad read as UTF-8") {
    std::string all = Read(std::filesystem::path(kTownDir) / "calendar.csv");
    auto calendar = LoadEdited(
        "calendar.csv", all,
        ToGbk("日期,类型,名称\r\n2026/10/1,休,国庆节\r\n2026/10/10,班,"
              "国庆调休\r\n"));
    REQUIRE_MESSAGE(calendar, calendar.error().message);
    using namespace std::chrono;
    CHECK_FALSE(calendar->calendar.IsWorkingDay(year(2026) / October / 1));
    CHECK(calendar->calendar.IsWorkingDay(year(2026) / October / 10));
    std::string people = Read(std::filesystem::path(kTownDir) / "people.json");
    auto gbk = LoadEdited("people.json", people, ToGbk(people));
    REQUIRE_MESSAGE(gbk, gbk.error().message);
    const Person* head = gbk->FindPerson("P0001");
    REQUIRE(head);
    CHECK(head->name == "示例综治中心主任");
  }
  SUBCASE("a calendar saved with CR line ends (Excel's CSV Macintosh) reads") {
    std::string all = Read(std::filesystem::path(kTownDir) / "calendar.csv");
    std::string cr = all;
    std::replace(cr.begin(), cr.end(), '\n', '\r');
    auto r = LoadEdited("calendar.csv", all, cr);
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(r->calendar.covered_years().count(2026));
  }
  SUBCASE("an unknown time unit") {
    ExpectError(LoadEdited("categories.json", "\"unit\": \"working_days\"",
                           "\"unit\": \"weeks\""),
                "is not one of working_hours");
  }
  SUBCASE("a 小类 code outside its 大类") {
    ExpectError(LoadEdited("categories.json", "\"code\": \"01001\"",
                           "\"code\": \"02009\""),
                "categories.json: 02009: 小类 code must be 5 digits starting "
                "with its 大类 code 01");
  }
  SUBCASE("a missing field") {
    ExpectError(LoadEdited("categories.json", "\"kind\": \"component\",", ""),
                "categories.json: 05002: `kind` is missing");
  }
  SUBCASE("a cell names an unknown branch") {
    ExpectError(LoadEdited("cells.geojson", "\"branch\":\"610522102002-01\"",
                           "\"branch\":\"nope\""),
                "cells.geojson, 610522102002001: branch \"nope\" is not in "
                "branches.json");
  }
  SUBCASE("a cell names an unknown grid leader") {
    ExpectError(LoadEdited("cells.geojson", "\"leader\":\"P", "\"leader\":\"X"),
                "is not in people.json");
  }
  SUBCASE("a cell's people and branch must be who routing says they are") {
    ExpectError(LoadEdited("cells.geojson", "\"leader\":\"P0035\"",
                           "\"leader\":\"P0001\""),
                "cells.geojson, 610522102002001: leader \"P0001\" is not a "
                "grid_leader");
    ExpectError(
        LoadEdited("cells.geojson", "\"leader\":\"P0035\",\"member\":\"P0023\"",
                   "\"leader\":\"P0035\",\"member\":\"P0026\""),
        "member \"P0026\" is not in branch 610522102002-01");
    ExpectError(
        LoadEdited("cells.geojson",
                   "\"branch\":\"610522102002-01\",\"leader\":\"P0035\"",
                   "\"branch\":\"610522102003-01\",\"leader\":\"P0035\""),
        "branch \"610522102003-01\" belongs to village 610522102003, not to "
        "610522102002");
  }
  SUBCASE("an override names an unknown village") {
    ExpectError(
        LoadEdited("routing.json", "\"610522102002\"", "\"610522102999\""),
        "routing.json, override 1: village \"610522102999\" is not in "
        "villages.geojson");
  }
  SUBCASE("the triage office is unknown") {
    ExpectError(LoadEdited("routing.json", "\"triage_office\": \"ZZZX\"",
                           "\"triage_office\": \"ZZ\""),
                "routing.json: triage_office names office \"ZZ\"");
  }
  SUBCASE("a person names an unknown office") {
    ExpectError(LoadEdited("people.json", "\"office\": \"ZZZX\"",
                           "\"office\": \"综治\""),
                "office \"综治\" is not in offices.json");
  }
  SUBCASE("bad working hours") {
    ExpectError(LoadEdited("town.json", "\"08:30-12:00\"", "\"8.30 to 12\""),
                "town.json: working_hours entry \"8.30 to 12\"");
  }
  SUBCASE("a bad calendar line") {
    ExpectError(
        LoadEdited("calendar.csv", "2026-10-01,holiday", "2026-10-01,holliday"),
        "calendar.csv, line");
  }
  SUBCASE("office and branch codes as spreadsheets leave them") {
    ExpectError(
        LoadEdited("offices.json", "\"code\": \"SFS\"", "\"code\": \"SFS \""),
        "offices.json, entry 2: 编码 / code \"SFS \" holds a space");
    ExpectError(LoadEdited("branches.json", "\"code\": \"610522102002-01\"",
                           "\"code\": \"610522102002-01\\n\""),
                "branches.json, entry 1: 编码 / code \"610522102002-01\n\" "
                "holds a control character");
  }
  SUBCASE("an override's zone theme no zone has") {
    ExpectError(LoadEdited("routing.json", "\"肉牛养殖场\"", "\"肉牛养殖厂\""),
                "zone theme \"肉牛养殖厂\" 不是任何示范区的主题 / is the theme "
                "of no zone in zones.geojson (themes there: ");
  }
  SUBCASE("a working day of minutes") {
    std::string town = Read(std::filesystem::path(kTownDir) / "town.json");
    auto from = town.find("\"working_hours\"");
    REQUIRE(from != std::string::npos);
    auto to = town.find(']', from);
    ExpectError(
        LoadEdited("town.json", town.substr(from, to + 1 - from),
                   "\"working_hours\": [\"08:00-08:01\"]"),
        "town.json: working_hours 每天工作时间不足 4 小时 / add up to 1 "
        "minutes a day");
  }
  SUBCASE("a key twice in one object") {
    ExpectError(LoadEdited("offices.json", "\"code\": \"SFS\",",
                           "\"code\": \"SFS\", \"code\": \"SFS\","),
                "offices.json: 键 \"code\" 在同一对象中出现两次");
  }
  SUBCASE("a duplicate radius of 50 km") {
    ExpectError(LoadEdited("categories.json", "\"duplicate_radius_m\": 250,",
                           "\"duplicate_radius_m\": 50000,"),
                "duplicate_radius_m 查重半径过大 / is over 5000 metres");
  }
  SUBCASE("a duplicated office code") {
    ExpectError(
        LoadEdited("offices.json", "\"code\": \"SFS\"", "\"code\": \"ZZZX\""),
        "offices.json, ZZZX: code used twice");
  }
}

TEST_CASE(
    "LoadTownConfig: rules newer than a stored town do not keep its server "
    "from starting") {
  // As stored before these rules: accepted when loaded from a database.
  for (ConfigChecks stored : {ConfigChecks::kStored, ConfigChecks::kNewCells}) {
    auto limit = LoadEdited("categories.json", "\"handle\": {",
                            "\"handle\": {\"value\": 1e9, \"unit\": "
                            "\"working_hours\"}, \"x\": {",
                            stored);
    CHECK_MESSAGE(limit, limit.error().message);
  }
  CHECK(LoadEdited("cells.geojson", "\"leader\":\"P0035\"",
                   "\"leader\":\"P0001\"", ConfigChecks::kStored));
  CHECK(LoadEdited("categories.json", "\"duplicate_radius_m\": 250,",
                   "\"duplicate_radius_m\": 50000,", ConfigChecks::kStored));
  CHECK(LoadEdited("routing.json", "\"肉牛养殖场\"", "\"肉牛养殖厂\"",
                   ConfigChecks::kStored));
  CHECK(LoadEdited("offices.json", "\"code\": \"SFS\",",
                   "\"code\": \"SFS\", \"code\": \"SFS\",",
                   ConfigChecks::kStored));
  // An imported cells layer is new data: its rules apply.
  ExpectError(LoadEdited("cells.geojson", "\"leader\":\"P0035\"",
                         "\"leader\":\"P0001\"", ConfigChecks::kNewCells),
              "is not a grid_leader");
}

TEST_CASE(
    "LoadTownConfig: a key one slip from a known one is refused in a new "
    "folder; notes are not") {
  // Each value was silently dropped: the person had no role, the category
  // no photo rule, the town the default hours.
  struct Slip {
    const char* file;
    const char* from;
    const char* to;
    const char* message;
    bool required = false;  // the slip also leaves a required key missing
  };
  for (const Slip& slip : {
           Slip{"people.json", "\"roles\":", "\"role\":",
                "people.json, entry 1: 键名 \"role\" 有误，应为 \"roles\"？/ "
                "wangge reads no key \"role\": did you mean \"roles\"?"},
           Slip{"categories.json", "\"requires_photo\":",
                "\"requires_photos\":", "did you mean \"requires_photo\"?"},
           Slip{"categories.json",
                "\"duplicate_radius_m\":", "\"duplicate-radius\":",
                "did you mean \"duplicate_radius_m\"?"},
           Slip{"categories.json", "\"handle\": {", "\"handle\": {\"uint\": 1,",
                "handle: 键名 \"uint\" 有误，应为 \"unit\""},
           Slip{"town.json", "\"working_hours\":", "\"Working Hours\":",
                "town.json: 键名 \"Working Hours\" 有误，应为 "
                "\"working_hours\"",
                true},
           Slip{"routing.json", "\"triage_office\":", "\"triage_ofice\":",
                "did you mean \"triage_office\"?", true},
           Slip{"routing.json",
                "\"reason\":", "\"raeson\":", "did you mean \"reason\"?", true},
           Slip{"branches.json", "\"secretary\":", "\"secretry\":",
                "did you mean \"secretary\"?"},
           Slip{"offices.json",
                "\"name_en\":", "\"nameEn\":", "did you mean \"name_en\"?"},
       }) {
    CAPTURE(std::string(slip.to));
    ExpectError(LoadEdited(slip.file, slip.from, slip.to), slip.message);
    if (slip.required) continue;
    // A town stored before the rule still loads.
    auto stored =
        LoadEdited(slip.file, slip.from, slip.to, ConfigChecks::kStored);
    CHECK_MESSAGE(stored, stored.error().message);
  }
  // Keys nothing like a known one are notes: kept out of the way.
  auto notes = LoadEdited("people.json", "\"roles\":",
                          "\"备注\": \"村医\", \"name_zh\": \"x\", "
                          "\"gender\": \"女\", \"roles\":");
  CHECK_MESSAGE(notes, notes.error().message);
}

TEST_CASE("LoadTownConfig: a missing file says which") {
  TempDir dir;
  for (const auto& entry : std::filesystem::directory_iterator(kTownDir)) {
    if (entry.path().filename() != "routing.json") {
      std::filesystem::copy(entry.path(), dir.path() / entry.path().filename());
    }
  }
  auto layers = spatial::ReadLayersDir(dir.path().string());
  REQUIRE(layers);
  ExpectError(LoadTownConfig(dir.path().string(), *layers),
              "routing.json: 缺少 / missing");
}

TEST_CASE("CellTable: cells in any order, found by code, the last of a code") {
  auto cell = [](std::string code, std::string branch) {
    return CellTable::value_type{
        code, CellInfo{.code = code, .branch = std::move(branch)}};
  };
  CellTable cells({cell("610522102003007", "a"), cell("610522102001001", "b"),
                   cell("610522102003007", "c"), cell("610522102002001", "d"),
                   cell("610522102003007", "e")});
  REQUIRE(cells.size() == 3);
  std::vector<std::string> order;
  for (const auto& [code, info] : cells) order.push_back(code + info.branch);
  CHECK(order == std::vector<std::string>{"610522102001001b",
                                          "610522102002001d",
                                          "610522102003007e"});
  CHECK(cells.at("610522102002001").branch == "d");
  CHECK(cells.count("610522102003007") == 1);
  CHECK(cells.find("610522102003") == cells.end());
  CHECK(cells.find("610522102009001") == cells.end());
  CHECK_THROWS_AS(cells.at("610522102009001"), std::out_of_range);
  CHECK(CellTable().empty());
  CHECK(CellTable().find("x") == CellTable().end());
}

TEST_CASE(
    "LoadTownConfig: cells from a packed table load, and fail, as from "
    "features") {
  auto read = [](const std::string& name) {
    return ReadConfigText(std::filesystem::path(kTownDir) / name);
  };
  auto layers = spatial::ReadLayersDir(kTownDir);
  REQUIRE(layers);
  auto load = [&](const spatial::Layers& l) {
    spatial::Layers without_cells = l;
    without_cells.cells.clear();
    return std::pair{LoadTownConfig(read, l, ConfigChecks::kStored),
                     LoadTownConfig(read, without_cells,
                                    spatial::FeatureTable::Pack(l.cells),
                                    ConfigChecks::kStored)};
  };
  auto [features, table] = load(*layers);
  REQUIRE(features);
  REQUIRE(table);
  REQUIRE(table->cells.size() == 225);
  REQUIRE(features->cells.size() == 225);
  for (const auto& [code, cell] : features->cells) {
    const CellInfo& other = table->cells.at(code);
    CHECK(other.code == code);
    CHECK(other.name == cell.name);
    CHECK(other.village == cell.village);
    CHECK(other.branch == cell.branch);
    CHECK(other.member == cell.member);
    CHECK(other.leader == cell.leader);
  }

  layers->cells[100].attributes["branch"] = "610522102999";
  auto [bad_features, bad_table] = load(*layers);
  ExpectError(bad_features, "cells.geojson, " + layers->cells[100].code +
                                ": branch \"610522102999\" is not in "
                                "branches.json");
  REQUIRE_FALSE(bad_table);
  CHECK(bad_table.error().message == bad_features.error().message);
}
