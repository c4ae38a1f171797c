// wangge init, import, versions, diff: the town's database.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/code.h"
#include "base/utf8.h"
#include "core/accounts.h"
#include "core/boundary_import.h"
#include "core/store.h"
#include "core/town.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/import_flags.h"

namespace wangge::tools {
namespace {

// `text` as one word of a shell command to copy: quoted when it needs it.
std::string ShellWord(const std::string& text) {
  if (!text.empty() &&
      text.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
          "0123456789-_./=:") == std::string::npos) {
    return text;
  }
  std::string out = "'";
  for (char ch : text)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

int Usage(const char* command, const std::string& error, const char* usage) {
  if (!error.empty())
    std::cerr << "wangge " << command << ": " << error << "\n";
  std::cerr << usage;
  return 2;
}

int Failed(const char* command, const Error& error) {
  std::cerr << "wangge " << command << ": " << error.message << "\n";
  return 1;
}

std::optional<int64_t> ParseVersion(const std::string& s) {
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 1) return std::nullopt;
  return v;
}

nlohmann::ordered_json DiffJson(const core::BoundaryDiff& diff) {
  nlohmann::ordered_json j;
  j["from"] = diff.from;
  j["to"] = diff.to;
  j["cells"] = nlohmann::ordered_json::array();
  for (const auto& c : diff.changes) {
    nlohmann::ordered_json row;
    row["code"] = c.code;
    row["change"] = c.change;
    row["area_before_m2"] = std::round(c.area_before_m2 * 10) / 10;
    row["area_after_m2"] = std::round(c.area_after_m2 * 10) / 10;
    row["area_change_m2"] =
        std::round((c.area_after_m2 - c.area_before_m2) * 10) / 10;
    if (!c.attributes.empty()) row["attributes"] = c.attributes;
    j["cells"].push_back(row);
  }
  return j;
}

void PrintDiff(const core::BoundaryDiff& diff) {
  std::printf("版本 version %lld → %lld: %zu cells changed\n",
              (long long)diff.from, (long long)diff.to, diff.changes.size());
  for (const auto& c : diff.changes) {
    std::printf("  %-16s %-10s %12.1f m² → %12.1f m² (%+.1f)", c.code.c_str(),
                c.change.c_str(), c.area_before_m2, c.area_after_m2,
                c.area_after_m2 - c.area_before_m2);
    for (const auto& a : c.attributes) std::printf(" %s", a.c_str());
    std::printf("\n");
  }
}

constexpr const char* kInitUsage =
    "Usage: wangge init --db FILE --data DIR\n"
    "  Creates the database FILE from the town folder DIR (layers and\n"
    "  configuration) as boundary version 1. Never overwrites FILE.\n";

constexpr const char* kImportUsage =
    "Usage: wangge import --db FILE --layer villages|cells|zones|households|"
    "shopfronts SOURCE\n"
    "         [--actor NAME] [--dry-run] [--report json]\n";

constexpr const char* kImportUsageTail =
    "  Reads, repairs and checks SOURCE against the stored town; if nothing\n"
    "  is wrong, stores it as a new boundary version (all or nothing) and\n"
    "  lists the cells it changes. --dry-run checks without storing.\n";

constexpr const char* kVersionsUsage =
    "Usage: wangge versions --db FILE [--json]\n"
    "  Lists the boundary versions: number, time, source file, who, layers.\n";

constexpr const char* kDiffUsage =
    "Usage: wangge diff --db FILE --from N --to M [--json]\n"
    "  Lists cells added, removed and changed between two versions, with\n"
    "  their areas in m².\n";

}  // namespace

int RunInit(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"db", "data"}, {"help"});
  if (args.Has("help")) {
    std::cout << kInitUsage;
    return 0;
  }
  if (!args.error.empty() || !args.Flag("db") || !args.Flag("data") ||
      !args.positional.empty()) {
    return Usage("init", args.error, kInitUsage);
  }
  // Read and check everything before creating the file.
  auto input = core::ReadTownFolder(*args.Flag("data"));
  if (!input) return Failed("init", input.error());
  const std::string db = *args.Flag("db");
  auto store = core::Store::Create(db);
  if (!store) return Failed("init", store.error());
  // The file did not exist before: a failure past this point removes it,
  // so that the next try is not told it exists already.
  auto failed = [&](const Error& e) {
    store->reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(db + suffix, ec);
    }
    return Failed("init", e);
  };
  input->actor = "wangge init";
  auto version = (*store)->AddVersion(*input);
  if (!version) return failed(version.error());
  // Accounts for the town's people, disabled until a password is set.
  auto accounts = core::CreatePeopleAccounts(**store, "");
  if (!accounts) return failed(accounts.error());
  std::cerr << "created " << *args.Flag("db") << " from " << *args.Flag("data")
            << " as boundary version " << *version << "\n"
            << "建立账号 " << accounts->created << " 个，设置密码后启用 / "
            << accounts->created
            << " accounts for people.json, disabled until `wangge user passwd`"
               " sets a password\n";
  for (const auto& other : accounts->other_roles) {
    std::string username = AsciiLower(other.person);
    std::cerr << "  " << other.person << " " << other.name << ": 账号 "
              << username << " 的角色为 " << other.account_role << "，角色 "
              << other.role << " 需另建账号 / the account has "
              << other.account_role << "; for " << other.role
              << ", add one: wangge user add --db "
              << ShellWord(*args.Flag("db")) << " --username " << username
              << "-" << other.role << " --role " << other.role
              << (other.scope.empty() ? "" : " --scope " + other.scope)
              << " --person " << other.person << " --password-stdin\n";
  }
  return 0;
}

int RunImport(int argc, char** argv) {
  auto valued = ImportFlagNames();
  valued.insert({"db", "actor", "report"});
  Args args = ParseArgs(argc, argv, 2, valued, {"help", "dry-run"});
  std::string usage =
      std::string(kImportUsage) + kImportFlagsUsage + kImportUsageTail;
  if (args.Has("help")) {
    std::cout << usage;
    return 0;
  }
  if (!args.error.empty()) return Usage("import", args.error, usage.c_str());
  if (!args.Flag("db"))
    return Usage("import", "--db is required", usage.c_str());
  spatial::ImportOptions options;
  if (std::string bad = ImportOptionsFromArgs(args, options); !bad.empty()) {
    return Usage("import", bad, usage.c_str());
  }
  std::string report = args.Flag("report").value_or("text");
  if (report != "text" && report != "json") {
    return Usage("import", "--report takes json (or text, the default)",
                 usage.c_str());
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Failed("import", store.error());
  std::string actor = args.Flag("actor").value_or(
      std::getenv("USER") ? std::getenv("USER") : "unknown");
  // Stored with the version and shown by every later `versions`: text, as
  // the terminal's UTF-8 gives it (a GBK name here made every start of the
  // server fail).
  if (!IsUtf8(actor) || actor.size() > 200 ||
      std::any_of(actor.begin(), actor.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20;
      })) {
    return Usage("import",
                 "--actor takes a name in UTF-8 text of at most 200 bytes, "
                 "without control characters (导入人姓名须为 UTF-8 文本)",
                 usage.c_str());
  }
  auto outcome =
      core::ImportLayer(**store, options, actor, args.Has("dry-run"));
  if (!outcome) {
    if (report == "json") {
      std::cout << spatial::ErrorJson(options.source, outcome.error()) << "\n";
    }
    return Failed("import", outcome.error());
  }
  bool accepted = outcome->report.accepted();
  if (report == "json") {
    auto j =
        nlohmann::ordered_json::parse(spatial::ReportJson(outcome->report));
    j["version"] = outcome->version ? nlohmann::ordered_json(*outcome->version)
                                    : nlohmann::ordered_json();
    j["dry_run"] = args.Has("dry-run");
    j["unchanged_from"] = outcome->unchanged
                              ? nlohmann::ordered_json(*outcome->unchanged)
                              : nlohmann::ordered_json();
    if (accepted) j["diff"] = DiffJson(outcome->diff);
    j["affected_open_cases"] = nlohmann::ordered_json::array();
    for (const auto& c : outcome->affected_cases) {
      j["affected_open_cases"].push_back({{"id", c.id},
                                          {"number", c.number},
                                          {"cell", c.cell},
                                          {"status", c.status}});
    }
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << spatial::FormatReport(outcome->report);
    if (accepted) PrintDiff(outcome->diff);
    if (!outcome->affected_cases.empty()) {
      std::cout << "在改动网格中的未结案件 open cases in changed cells "
                   "(they keep the boundary version they were routed with):\n";
      for (const auto& c : outcome->affected_cases) {
        std::cout << "  " << c.number << " " << c.cell << " " << c.status
                  << "\n";
      }
    }
    if (outcome->unchanged) {
      std::cout << "与当前边界版本 " << *outcome->unchanged
                << " 相同，未新建版本 / identical to boundary version "
                << *outcome->unchanged << ": nothing stored\n";
    } else if (outcome->version) {
      std::cout << "已导入 imported as boundary version " << *outcome->version
                << "; a running wangge serve on this database switches to it "
                   "within seconds (运行中的服务数秒内自动切换)\n";
    } else if (accepted) {
      std::cout << "--dry-run: 未写入 nothing stored\n";
    } else {
      std::cout << "未导入 nothing stored; fix the problems above and import "
                   "again\n";
    }
  }
  return accepted ? 0 : 1;
}

int RunVersions(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"db"}, {"help", "json"});
  if (args.Has("help")) {
    std::cout << kVersionsUsage;
    return 0;
  }
  if (!args.error.empty() || !args.Flag("db") || !args.positional.empty()) {
    return Usage("versions", args.error, kVersionsUsage);
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Failed("versions", store.error());
  auto versions = (*store)->Versions();
  if (!versions) return Failed("versions", versions.error());
  if (args.Has("json")) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& v : *versions) {
      j.push_back({{"version", v.number},
                   {"created_at", v.created_at},
                   {"source", v.source},
                   {"actor", v.actor},
                   {"note", v.note},
                   {"layers", v.layers}});
    }
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  std::printf("%-8s %-20s %-24s %-16s %s\n", "version", "created_at (UTC)",
              "source", "actor", "layers");
  for (const auto& v : *versions) {
    std::string layers;
    for (const auto& l : v.layers) layers += (layers.empty() ? "" : ",") + l;
    std::printf("%-8lld %-20s %-24s %-16s %s\n", (long long)v.number,
                v.created_at.c_str(), v.source.c_str(), v.actor.c_str(),
                layers.c_str());
  }
  return 0;
}

int RunDiff(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2, {"db", "from", "to"}, {"help", "json"});
  if (args.Has("help")) {
    std::cout << kDiffUsage;
    return 0;
  }
  if (!args.error.empty() || !args.Flag("db") || !args.Flag("from") ||
      !args.Flag("to") || !args.positional.empty()) {
    return Usage("diff", args.error, kDiffUsage);
  }
  auto from = ParseVersion(*args.Flag("from"));
  auto to = ParseVersion(*args.Flag("to"));
  if (!from || !to) {
    return Usage("diff", "--from and --to take version numbers (1, 2, ...)",
                 kDiffUsage);
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Failed("diff", store.error());
  auto diff = core::DiffVersions(**store, *from, *to);
  if (!diff) return Failed("diff", diff.error());
  if (args.Has("json")) {
    std::cout << DiffJson(*diff).dump(2, ' ', false,
                                      nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    PrintDiff(*diff);
  }
  return 0;
}

}  // namespace wangge::tools
