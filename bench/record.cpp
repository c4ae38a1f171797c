#include "bench/record.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace wangge::bench {

Figure Summarise(std::string name, std::vector<double> values,
                 std::string unit) {
  std::sort(values.begin(), values.end());
  return {std::move(name), values[values.size() / 2], values.front(),
          values.back(), std::move(unit)};
}

std::string Thousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// "median (min–max)" with a precision suited to the magnitude.
std::string Range(const Figure& f) {
  const char* fmt = f.median >= 100 ? "%.0f" : f.median >= 10 ? "%.1f" : "%.2f";
  return Format(fmt, f.median) + " (" + Format(fmt, f.min) + "–" +
         Format(fmt, f.max) + ")";
}

std::string RecordsToJson(const std::vector<Record>& records) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const Record& r : records) {
    nlohmann::ordered_json j;
    j["benchmark"] = r.benchmark;
    j["size"] = r.size;
    j["method"] = r.method;
    j["threads"] = r.threads;
    j["points"] = r.points;
    for (const Figure& f : r.figures) {
      j["figures"][f.name] = {{"median", f.median},
                              {"min", f.min},
                              {"max", f.max},
                              {"unit", f.unit}};
    }
    if (!r.note.empty()) j["note"] = r.note;
    all.push_back(j);
  }
  return all.dump(2) + "\n";
}

}  // namespace wangge::bench
