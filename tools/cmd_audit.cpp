// wangge audit verify: recomputes every case's event hash chain and checks
// the case row against the projection of its events.
#include <iostream>
#include <map>

#include "core/store.h"
#include "core/workflow.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace wangge::tools {
namespace {

constexpr const char* kUsage =
    "Usage: wangge audit verify --db FILE\n"
    "  Recomputes the hash chain of every case's events (each event's hash\n"
    "  covers its content and the previous event's hash) and compares each\n"
    "  case row with what its events say. Prints every case that does not\n"
    "  match and where; exit status 1 if any, 0 if all hold.\n";

}  // namespace

int RunAudit(int argc, char** argv) {
  if (argc >= 3 &&
      (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (argc < 3 || std::string(argv[2]) != "verify") {
    std::cerr << kUsage;
    return 2;
  }
  Args args = ParseArgs(argc, argv, 3, {"db"}, {"help"});
  if (args.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!args.error.empty() || !args.Flag("db") || !args.positional.empty()) {
    if (!args.error.empty())
      std::cerr << "wangge audit: " << args.error << "\n";
    std::cerr << kUsage;
    return 2;
  }
  auto store = core::Store::Open(*args.Flag("db"));
  if (!store) {
    std::cerr << "wangge audit: " << store.error().message << "\n";
    return 1;
  }
  auto events = (*store)->AllEvents();
  if (!events) {
    std::cerr << "wangge audit: " << events.error().message << "\n";
    return 1;
  }
  std::map<int64_t, std::vector<core::CaseEvent>> by_case;
  for (auto& e : *events) by_case[e.case_id].push_back(std::move(e));
  int broken = 0;
  int64_t checked = 0;
  for (const auto& [id, chain] : by_case) {
    ++checked;
    auto row = (*store)->GetCase(id);
    std::string name = row ? row->number : "#" + std::to_string(id);
    if (auto bad = core::VerifyChain(chain)) {
      ++broken;
      std::cout << "case " << name << " (id " << id << "): event " << bad->seq
                << " " << bad->why << "\n";
      continue;
    }
    if (!row) {
      ++broken;
      std::cout << "case " << name << ": events without a case row\n";
      continue;
    }
    std::string field;
    if (!core::SameWorkflowFields(core::Project(*row, chain), *row, &field)) {
      ++broken;
      std::cout << "case " << name << " (id " << id << "): the case row's "
                << field << " differs from what its events say\n";
    }
  }
  if (broken) {
    std::cerr << "wangge audit: " << broken << " of " << checked
              << " cases do not match their event chain; the rows were "
                 "changed outside wangge\n";
    return 1;
  }
  std::cerr << "wangge audit: " << checked << " cases, " << events->size()
            << " events: every chain holds\n";
  return 0;
}

}  // namespace wangge::tools
