#pragma once
// Args: the flags and positional arguments of one subcommand.
// `--name value` and `--name=value` are flags; `--flag` alone is a switch;
// "-" is a positional. Unknown flags are an error the caller reports as usage.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wangge::tools {

struct Args {
  std::map<std::string, std::string> flags;
  std::set<std::string> switches;
  std::vector<std::string> positional;
  std::string error;  // non-empty when parsing failed

  std::optional<std::string> Flag(const std::string& name) const {
    auto it = flags.find(name);
    if (it == flags.end()) return std::nullopt;
    return it->second;
  }
  bool Has(const std::string& name) const { return switches.count(name) > 0; }
};

// Parses argv[first..argc). `valued` lists flags that take a value,
// `bare` those that do not.
inline Args ParseArgs(int argc, char** argv, int first,
                      const std::set<std::string>& valued,
                      const std::set<std::string>& bare = {}) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a.starts_with("--")) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      if (bare.count(name) && !inline_value) {
        args.switches.insert(name);
      } else if (valued.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argc) {
            args.error = "--" + name + " needs a value";
            return args;
          }
          value = argv[++i];
        }
        args.flags[name] = value;
      } else {
        args.error = "unknown option --" + name;
        return args;
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

}  // namespace wangge::tools
