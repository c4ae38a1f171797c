// wangge serve and wangge user: the server and its accounts.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/code.h"
#include "base/memory.h"
#include "base/utf8.h"
#include "core/accounts.h"
#include "core/case_writer.h"
#include "core/store.h"
#include "core/town.h"
#include "core/workflow.h"
#include "server/api.h"
#include "server/http_server.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kServeUsage =
    "Usage: wangge serve --db FILE [--listen HOST:PORT] [--threads N]\n"
    "                    [--public-url URL]\n"
    "       wangge serve --demo [--data DIR] [--listen HOST:PORT]\n"
    "  Serves the JSON API (/api/v1/), /healthz and /metrics.\n"
    "  --listen   Default: 127.0.0.1:8080 (port 0: any free port)\n"
    "  --threads  worker threads, one per request being served (idle\n"
    "             connections hold none). Default: 64\n"
    "  --public-url  where clients reach the server, e.g. behind a proxy:\n"
    "             https://wangge.example.gov.cn (Open311 discovery names it;\n"
    "             default: http:// and the request's Host header)\n"
    "  --demo     uses wangge-demo.db, creating it from DIR (default\n"
    "             data/taiyao, the synthetic sample town) with demo logins\n";

constexpr const char* kDemoDb = "wangge-demo.db";
// How often a running server looks for a newly imported boundary version.
constexpr auto kReloadCheck = std::chrono::seconds(5);
constexpr const char* kDemoPassword = "wangge-demo";

constexpr const char* kUserUsage =
    "Usage: wangge user add --db FILE --username U --role R [--scope S]\n"
    "                       [--person ID] [--name NAME] --password-stdin\n"
    "       wangge user passwd --db FILE --username U --password-stdin\n"
    "       wangge user disable --db FILE --username U\n"
    "       wangge user list --db FILE\n"
    "       wangge user token --db FILE --username U [--days N]\n"
    "  token prints a new API key for U (Bearer token, Open311 api_key),\n"
    "  valid N days (Default: 365), for scripts and Open311 clients.\n"
    "  Roles: grid_leader, branch, office, dispatcher, leader, gis, admin.\n"
    "  Scope: a branch code (branch), an office code (office), else empty.\n"
    "  Name: shown on pages and in case histories. Default: the name\n"
    "  people.json gives the --person.\n"
    "  The password is read from the first line of standard input.\n";

int Fail1(const char* what, const Error& e) {
  std::cerr << "wangge " << what << ": " << e.message << "\n";
  return 1;
}

std::string ReadPassword() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Creates the demo database with demo logins for the sample town.
Result<void> MakeDemo(const std::string& data) {
  auto input = core::ReadTownFolder(data);
  if (!input) return std::unexpected(input.error());
  auto store = core::Store::Create(kDemoDb);
  if (!store) return std::unexpected(store.error());
  input->actor = "wangge serve --demo";
  if (auto v = (*store)->AddVersion(*input); !v) {
    return std::unexpected(v.error());
  }
  if (auto n = core::CreatePeopleAccounts(**store, kDemoPassword); !n) {
    return std::unexpected(n.error());
  }
  auto hash = core::HashPassword(kDemoPassword);
  if (!hash) return std::unexpected(hash.error());
  auto admin = (*store)->AddUser({.username = "admin",
                                  .role = "admin",
                                  .display_name = "示例管理员",
                                  .password_hash = *hash});
  if (!admin) return std::unexpected(admin.error());
  return {};
}

}  // namespace

int RunServe(int argc, char** argv) {
  Args args = ParseArgs(argc, argv, 2,
                        {"db", "listen", "threads", "data", "public-url"},
                        {"help", "demo", "trivial"});
  if (args.Has("help")) {
    std::cout << kServeUsage;
    return 0;
  }
  bool demo = args.Has("demo");
  // --trivial (for wangge bench intake): the HTTP layer alone, no database.
  bool trivial = args.Has("trivial");
  if (!args.error.empty() || !args.positional.empty() ||
      (!trivial && demo == args.Flag("db").has_value())) {
    if (!args.error.empty())
      std::cerr << "wangge serve: " << args.error << "\n";
    std::cerr << kServeUsage;
    return 2;
  }
  server::ServeOptions options;
  options.threads = 64;
  std::string listen = args.Flag("listen").value_or("127.0.0.1:8080");
  auto colon = listen.rfind(':');
  char* end = nullptr;
  long port = colon == std::string::npos
                  ? -1
                  : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || *end || port < 0 || port > 65535) {
    std::cerr << "wangge serve: --listen takes HOST:PORT, e.g. "
                 "127.0.0.1:8080, got '"
              << listen << "'\n";
    return 2;
  }
  options.host = listen.substr(0, colon);
  options.port = int(port);
  if (auto t = args.Flag("threads")) {
    long n = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end || n < 1 || n > 256) {
      std::cerr << "wangge serve: --threads takes 1..256\n";
      return 2;
    }
    options.threads = int(n);
  }
  if (trivial) {
    options.on_listening = [&](int p) {
      std::cerr << "wangge serving nothing (trivial handler) on http://"
                << options.host << ":" << p << "/\n";
    };
    auto served = server::ServeTrivial(options);
    if (!served) return Fail1("serve", served.error());
    return 0;
  }
  std::string db = args.Flag("db").value_or(kDemoDb);
  if (demo && !std::filesystem::exists(kDemoDb)) {
    std::string data = args.Flag("data").value_or("data/taiyao");
    std::cerr << "creating " << kDemoDb << " from " << data << " ...\n";
    if (auto ok = MakeDemo(data); !ok) return Fail1("serve", ok.error());
  }
  // A first start at county scale builds the boundary index for seconds
  // before it listens: say so at once.
  std::cerr << "wangge: loading " << db << " ...\n";
  auto api = server::Api::Open(
      {.db_path = db, .public_url = args.Flag("public-url").value_or("")});
  if (!api) return Fail1("serve", api.error());
  TuneAllocatorForServer();
  std::cerr << (*api)->town()->index_note << "\n";
  if (!(*api)->case_writer()->raised_priority()) {
    std::cerr << "intake's group-commit writer keeps the default priority: "
                 "nice "
              << core::CaseWriter::kWriterNice
              << " needs CAP_SYS_NICE (root, or systemd's "
                 "AmbientCapabilities=CAP_SYS_NICE) or LimitNICE=30; intake "
                 "may carry fewer reports a second without it\n";
  }
  // Without an index file the locator's grids are built while the server
  // answers through the R-trees, then the index goes to its file (at
  // 300,000 cells: seconds, and half a gigabyte); stopping waits for it.
  std::jthread index_writer;
  if (!(*api)->town()->index_file_due.empty()) {
    index_writer = std::jthread([town = (*api)->town()] {
      auto start = std::chrono::steady_clock::now();
      auto grids = town->locator->BuildGrids();
      // The shapes the grids were built from (hundreds of MiB at 300,000
      // cells) are freed in small blocks that malloc keeps: give them back.
      ReleaseFreeMemory();
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (!grids) {
        std::cerr << grids.error().message
                  << "; locating through the R-trees, no index file written\n";
        return;
      }
      std::cerr << "boundary grids built in " << ms.count()
                << " ms; locating through them\n";
      auto saved = core::WriteIndexFile(*town);
      std::cerr << (saved ? "boundary index written to " + town->index_file_due
                          : saved.error().message) +
                       "\n";
    });
  }
  options.on_listening = [&](int p) {
    std::cerr << "wangge serving " << db << " (boundary version "
              << (*api)->boundary_version() << ") on http://" << options.host
              << ":" << p << "/  — /healthz, /metrics, /api/v1/\n";
    if (demo) {
      std::cerr << "demo logins (示例账号), password " << kDemoPassword
                << ": admin; dispatcher p0021; grid leaders p0035, p0036 ...; "
                   "see `wangge user list --db "
                << kDemoDb << "`\n";
    }
  };
  // The deadline ticker: marks overdue cases and escalates them, every
  // minute, on its own connection, with the API's town (not a second copy:
  // at 300,000 cells one is most of the server's memory). Every few seconds
  // it also looks for a boundary version imported beside the server and
  // swaps it in (for a moment two towns are in memory).
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;
  std::thread ticker([&] {
    auto store = core::Store::Open(db);
    if (!store) {
      std::cerr << "wangge serve: deadline ticker off: "
                << store.error().message << "\n";
      return;
    }
    auto next_tick = std::chrono::steady_clock::now();
    std::string reload_error;
    std::unique_lock lock(tick_mu);
    while (!stopping) {
      lock.unlock();
      auto reloaded = (*api)->ReloadIfNewer(**store);
      if (!reloaded) {
        if (reloaded.error().message != reload_error) {  // said once
          reload_error = reloaded.error().message;
          std::cerr << "wangge serve: boundary version "
                    << (*api)->boundary_version()
                    << " kept; the newer one does not load: " << reload_error
                    << "\n";
        }
      } else if (*reloaded) {
        reload_error.clear();
        const core::Town& town = **reloaded;
        std::cerr << "已切换 now serving boundary version " << town.version
                  << " (" << town.index_note << ")\n";
        if (!town.index_file_due.empty()) {
          auto saved = core::WriteIndexFile(town);
          std::cerr << (saved
                            ? "boundary index written to " + town.index_file_due
                            : saved.error().message) +
                           "\n";
        }
      }
      if (std::chrono::steady_clock::now() >= next_tick) {
        next_tick += std::chrono::minutes(1);
        auto now = std::chrono::floor<std::chrono::seconds>(
            std::chrono::system_clock::now());
        auto tick = core::Tick(**store, *(*api)->town(), now);
        if (!tick) {
          std::cerr << "wangge serve: deadline ticker: " << tick.error().message
                    << "\n";
        } else if (tick->overdue) {
          std::cerr << "deadline ticker: " << tick->overdue
                    << " cases overdue, " << tick->escalated << " escalated\n";
        }
      }
      lock.lock();
      tick_cv.wait_for(lock, kReloadCheck, [&] { return stopping; });
    }
  });
  auto served = server::Serve(**api, options);
  {
    std::lock_guard lock(tick_mu);
    stopping = true;
  }
  tick_cv.notify_all();
  ticker.join();
  if (index_writer.joinable()) index_writer.join();
  if (!served) return Fail1("serve", served.error());
  std::cerr << "wangge: stopped\n";
  return 0;
}

// The entries of a configuration list (a list, or {"<name>": [...]});
// none when the file cannot be read.
nlohmann::json ConfigList(core::Store& store, const std::string& file) {
  auto text = store.ConfigFile(file);
  if (!text) return nlohmann::json::array();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  std::string list = file.substr(0, file.find('.'));
  if (j.is_object() && j.contains(list)) j = j[list];
  return j.is_array() ? j : nlohmann::json::array();
}

// What is wrong with a new account, or "": a name that differs from an
// existing one only in case, a scope that is not a branch (branch) or an
// office (office) of the town, a scope for other roles, an unknown person.
std::string CheckNewUser(core::Store& store, const std::string& username,
                         const std::string& role, const std::string& scope,
                         const std::string& person) {
  auto users = store.Users();
  if (!users) return users.error().message;
  for (const core::User& u : *users) {
    if (u.username != username &&
        AsciiLower(u.username) == AsciiLower(username)) {
      return "--username " + username + " differs from the existing " +
             u.username + " only in case; choose another name";
    }
  }
  // Codes of a configuration list (a list, or {"<name>": [...]}).
  auto codes = [&](const std::string& file, const char* key) {
    std::set<std::string> out;
    for (const auto& e : ConfigList(store, file)) {
      if (e.is_object() && e.contains(key) && e[key].is_string()) {
        out.insert(e[key].get<std::string>());
      }
    }
    return out;
  };
  if (role == "branch" || role == "office") {
    const char* file = role == "branch" ? "branches.json" : "offices.json";
    if (!codes(file, "code").count(scope)) {
      return "--scope must be a code in " + std::string(file) + " for role " +
             role + ", got '" + scope + "'";
    }
  } else if (!scope.empty()) {
    return "--scope is for roles branch and office only";
  }
  if (!person.empty() && !codes("people.json", "id").count(person)) {
    return "--person " + person + " is not in people.json";
  }
  return "";
}

int RunUser(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << kUserUsage;
    return 2;
  }
  std::string action = argv[2];
  Args args =
      ParseArgs(argc, argv, 3,
                {"db", "username", "role", "scope", "person", "name", "days"},
                {"help", "password-stdin"});
  if (args.Has("help") || action == "--help") {
    std::cout << kUserUsage;
    return 0;
  }
  bool needs_user = action != "list";
  if (!args.error.empty() || !args.Flag("db") || !args.positional.empty() ||
      (needs_user && !args.Flag("username")) ||
      (action != "add" && action != "passwd" && action != "disable" &&
       action != "list" && action != "token")) {
    if (!args.error.empty()) std::cerr << "wangge user: " << args.error << "\n";
    std::cerr << kUserUsage;
    return 2;
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) return Fail1("user", store.error());
  if (action == "list") {
    auto users = (*store)->Users();
    if (!users) return Fail1("user", users.error());
    for (const auto& u : *users) {
      std::cout << u.username << "\t" << u.role << "\t"
                << (u.scope.empty() ? "-" : u.scope) << "\t"
                << (u.disabled ? "disabled" : "active") << "\t"
                << u.display_name << "\n";
    }
    return 0;
  }
  if ((action == "add" || action == "passwd") && !args.Has("password-stdin")) {
    std::cerr << "wangge user: give the password on standard input with "
                 "--password-stdin (never on the command line)\n"
              << kUserUsage;
    return 2;
  }
  if (action == "add") {
    const std::string username = *args.Flag("username");
    // The server answers longer names at login without looking them up.
    if (username.empty() || username.size() > 256 || !IsUtf8(username) ||
        std::any_of(username.begin(), username.end(), [](char ch) {
          auto u = static_cast<unsigned char>(ch);
          return u <= 0x20 || u == 0x7f;
        })) {
      std::cerr << "wangge user: 用户名无效 / --username must be 1-256 bytes "
                   "of UTF-8 text without spaces or control characters\n";
      return 2;
    }
    std::string role = args.Flag("role").value_or("");
    if (!core::IsRole(role)) {
      std::cerr << "wangge user: --role must be one of " << core::RoleList()
                << "\n";
      return 2;
    }
    if (auto bad = CheckNewUser(**store, username, role,
                                args.Flag("scope").value_or(""),
                                args.Flag("person").value_or(""));
        !bad.empty()) {
      std::cerr << "wangge user: " << bad << "\n";
      return 2;
    }
    std::string password = ReadPassword();
    if (auto why = core::PasswordProblem(password, username); !why.empty()) {
      std::cerr << "wangge user: " << why << "\n";
      return 2;
    }
    auto hash = core::HashPassword(password);
    if (!hash) return Fail1("user", hash.error());
    std::string person = args.Flag("person").value_or("");
    // Shown on pages and in the case history: the person's, unless given.
    std::string name = args.Flag("name").value_or("");
    for (const auto& p : ConfigList(**store, "people.json")) {
      if (!name.empty() || person.empty()) break;
      if (p.is_object() && p.value("id", nlohmann::json()) == person &&
          p.value("name", nlohmann::json()).is_string()) {
        name = p["name"].get<std::string>();
      }
    }
    auto id = (*store)->AddUser({.username = *args.Flag("username"),
                                 .role = role,
                                 .scope = args.Flag("scope").value_or(""),
                                 .person = person,
                                 .display_name = name,
                                 .password_hash = *hash});
    if (!id) return Fail1("user", id.error());
    std::cerr << "added " << *args.Flag("username") << "\n";
    return 0;
  }
  auto user = (*store)->FindUser(*args.Flag("username"));
  if (!user) {
    std::cerr << "wangge user: no user " << *args.Flag("username")
              << "; see wangge user list\n";
    return 1;
  }
  if (action == "token") {
    long long days = 365;
    if (auto d = args.Flag("days")) {
      char* end = nullptr;
      days = std::strtoll(d->c_str(), &end, 10);
      if (d->empty() || *end || days < 1 || days > 3650) {
        std::cerr << "wangge user: --days takes 1..3650\n";
        return 2;
      }
    }
    if (user->disabled) {
      std::cerr << "wangge user: " << user->username
                << " is disabled; set a password first (wangge user passwd)\n";
      return 1;
    }
    std::string token = core::NewToken();
    auto expires = std::chrono::floor<std::chrono::seconds>(
                       std::chrono::system_clock::now()) +
                   std::chrono::days(days);
    if (auto ok = (*store)->AddToken(core::Digest(token), user->id,
                                     core::FormatUtc(expires));
        !ok) {
      return Fail1("user", ok.error());
    }
    std::cout << token << "\n";
    std::cerr << "token for " << user->username << " valid until "
              << core::FormatUtc(expires) << "\n";
    return 0;
  }
  if (action == "passwd") {
    std::string password = ReadPassword();
    if (auto why = core::PasswordProblem(password, user->username);
        !why.empty()) {
      std::cerr << "wangge user: " << why << "\n";
      return 2;
    }
    auto hash = core::HashPassword(password);
    if (!hash) return Fail1("user", hash.error());
    user->password_hash = *hash;
    user->disabled = false;
  } else {
    if (user->role == "admin" && !user->disabled) {
      auto users = (*store)->Users();
      if (!users) return Fail1("user", users.error());
      if (std::none_of(users->begin(), users->end(), [&](const core::User& u) {
            return u.role == "admin" && !u.disabled && u.id != user->id;
          })) {
        std::cerr << "wangge user: " << user->username
                  << " is the last enabled admin (最后一个管理员); add another "
                     "admin first, or nobody can manage accounts over HTTP\n";
        return 1;
      }
    }
    user->disabled = true;
  }
  if (auto ok = (*store)->UpdateUser(*user); !ok)
    return Fail1("user", ok.error());
  std::cerr << action << ": " << user->username << " done\n";
  return 0;
}

}  // namespace wangge::tools
