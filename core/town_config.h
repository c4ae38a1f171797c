#pragma once
// TownConfig: everything about one town that its office may change without a
// new build — offices, branches, people, the category tree with time limits,
// routing rules and the working calendar — loaded from JSON/CSV files in the
// town's data folder and checked against each other and the boundary layers.
//
// Files (data/taiyao/ is the sample):
//   town.json        code, name, working_hours ["08:30-12:00", ...]
//   offices.json     [{code, name, name_en}]
//   branches.json    [{code, name, village ("" = town organs), secretary}]
//                    (list files may be {"branches": [...], notes...})
//   people.json      [{id, name, phone, roles: [...], office?, branch?}]
//   categories.json  [{code (2 digits), name, children: [{code (5 digits),
//                     name, office, co_offices?, kind: event|component,
//                     urgency: normal|urgent|critical, start_level?,
//                     accept: {value, unit}, handle: {value, unit},
//                     duplicate_radius_m, requires_photo?,
//                     escalation?: {steps?, at_least?, max?}}]}]
//   routing.json     {triage_office, levels, overrides: [{categories,
//                     villages?, zones?, zone_themes?, office, reason}]}
//   calendar.csv     date,kind,name (holiday | workday)
// Cells carry `branch`, `member` (支委包片) and `leader` (网格长); zones carry
// `member` (responsible Party member) and `theme`.
//
// Every error names the file, the entry and the field, and says what to fix:
//   categories.json: 04001 names office "环保办", which is not in offices.json
//
//   auto layers = spatial::ReadLayersDir(dir);
//   auto town = LoadTownConfig(dir, *layers);

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "spatial/feature.h"
#include "spatial/feature_table.h"

namespace wangge::core {

struct Office {
  std::string code;
  std::string name;
  std::string name_en;
};

struct Person {
  std::string id;
  std::string name;
  std::string phone;
  std::vector<std::string> roles;
  std::string office;  // for office staff
  std::string branch;  // for committee members and secretaries
};

struct Branch {
  std::string code;
  std::string name;
  std::string village;  // "" for the town organs' and the school's branches
  std::string secretary;
};

// Stored and sent: values fixed.
enum class CategoryKind { kEvent = 1, kComponent = 2 };

// Escalation chain 网格 → 村 → 镇 → 县; stored: values fixed.
enum class Level { kGrid = 1, kVillage = 2, kTown = 3, kCounty = 4 };
const char* LevelName(Level level);    // "grid", "village", ...
const char* LevelNameZh(Level level);  // "网格", "村", ...

// What the deadline ticker does when a case of the category misses a
// deadline: raise its level by `steps`, to at least `at_least`, never above
// `max` (a case already at `max` is only marked overdue).
struct Escalation {
  int steps = 1;
  Level at_least = Level::kGrid;
  Level max = Level::kCounty;
};

struct Category {
  std::string code;  // 5 digits: 大类 2 + 小类 3
  std::string name;
  std::string parent_code;  // 2 digits
  std::string parent_name;
  std::string office;
  std::vector<std::string> co_offices;
  CategoryKind kind = CategoryKind::kEvent;
  std::string urgency = "normal";  // normal | urgent | critical
  Level start_level = Level::kGrid;
  TimeLimit accept;
  TimeLimit handle;
  double duplicate_radius_m = 250;
  bool requires_photo = false;
  Escalation escalation;
};

struct Override {
  std::vector<std::string> categories;   // codes or 2-digit 大类 prefixes
  std::vector<std::string> villages;     // any of these villages ...
  std::vector<std::string> zones;        // ... or zones ...
  std::vector<std::string> zone_themes;  // ... or zones with these themes
  std::string office;
  std::string reason;
};

struct RoutingRules {
  std::string triage_office;
  std::vector<Override> overrides;
};

struct CellInfo {
  std::string code;
  std::string name;
  std::string village;
  std::string branch;
  std::string member;  // committee member owning the cell (支委包片)
  std::string leader;  // grid leader (网格长)
};

// The cells by code in one sorted array: a 300,000-cell town loads them
// with one allocation instead of a tree node each. Read like the std::map
// it replaced.
class CellTable {
 public:
  using value_type = std::pair<std::string, CellInfo>;  // code, cell
  using const_iterator = std::vector<value_type>::const_iterator;

  CellTable() = default;
  // Cells by code in any order; of cells given with one code, the last
  // stays.
  explicit CellTable(std::vector<value_type> cells);

  const_iterator begin() const { return cells_.begin(); }
  const_iterator end() const { return cells_.end(); }
  size_t size() const { return cells_.size(); }
  bool empty() const { return cells_.empty(); }
  // The cell with `code`, or end().
  const_iterator find(std::string_view code) const;
  size_t count(std::string_view code) const { return find(code) != end(); }
  // Throws std::out_of_range when no cell has `code`, as std::map::at.
  const CellInfo& at(std::string_view code) const;

 private:
  std::vector<value_type> cells_;  // ascending by code
};

struct ZoneInfo {
  std::string code;
  std::string name;
  std::string theme;
  std::string member;
};

struct TownConfig {
  std::string code;
  std::string name;
  std::map<std::string, std::string> villages;  // code -> name
  std::map<std::string, Office> offices;
  std::map<std::string, Branch> branches;
  std::map<std::string, Person> people;
  std::map<std::string, Category> categories;          // by 5-digit code
  std::map<std::string, std::string> category_groups;  // 2-digit -> name
  CellTable cells;
  std::map<std::string, ZoneInfo> zones;
  RoutingRules rules;
  WorkCalendar calendar;

  const Person* FindPerson(const std::string& id) const;
};

// Returns the text of configuration file `name` (e.g. "offices.json"), or
// kNotFound naming it.
using ConfigReader = std::function<Result<std::string>(const std::string&)>;

// The configuration files a town needs, in load order.
const std::vector<std::string>& ConfigFileNames();

// A configuration file of a town folder as UTF-8: text that is not UTF-8
// but reads as GB18030/GBK (Excel's "CSV (逗号分隔)" and Notepad's ANSI on
// Chinese Windows) is converted; other bytes are left for the checks to
// refuse. A folder or a missing file is an error naming it.
Result<std::string> ReadConfigText(const std::filesystem::path& path);

// Which checks LoadTownConfig makes. A rule added after a town was stored
// must not keep its server from starting after an upgrade: kStored skips
// those rules (login-safe person ids, office and branch codes, known roles,
// a person's branch, time limits of at most a year, a duplicate radius of at
// most 5 km, a UTF-8 non-empty calendar without mistyped years or weekday
// workdays, a working day of at least 4 hours, override zone themes that a
// zone has, no key twice in a JSON object or one slip from a known key, a
// cell's leader, member and branch agreeing); kNewCells applies only the cell
// rules (an imported cells layer); kNew (a town folder) applies all.
enum class ConfigChecks { kNew, kNewCells, kStored };

// Loads and cross-checks the configuration files against `layers`.
Result<TownConfig> LoadTownConfig(const ConfigReader& read,
                                  const spatial::Layers& layers,
                                  ConfigChecks checks);
// The same against the cells of a packed table (a start from the boundary
// index file) instead of layers.cells, which is ignored: no cell is
// unpacked into a Feature.
Result<TownConfig> LoadTownConfig(const ConfigReader& read,
                                  const spatial::Layers& layers,
                                  const spatial::FeatureTable& cells,
                                  ConfigChecks checks);
// The same with the files read from folder `dir`.
Result<TownConfig> LoadTownConfig(const std::string& dir,
                                  const spatial::Layers& layers);

}  // namespace wangge::core
