#pragma once
// What every benchmark reports: records of figures (median, min, max of the
// runs), as JSON for scripts and as a markdown table for people.
//
//   Record r{.benchmark = "intake", .size = 64, .method = "wangge"};
//   r.figures.push_back(Summarise("reports_per_s", {9100, 9800, 9500}, "1/s"));
//   std::cout << RecordsToJson({r});

#include <cstdint>
#include <string>
#include <vector>

namespace wangge::bench {

// One measured quantity of a record: the median of the runs and their range.
struct Figure {
  std::string name;  // e.g. "ns_per_query"
  double median = 0;
  double min = 0;
  double max = 0;
  std::string unit;  // e.g. "ns", "s", "bytes"
};

// One (benchmark, size, method, threads) row.
struct Record {
  std::string benchmark;  // "locate", "intake", ...
  int64_t size = 0;       // cells, connections, ...
  std::string method;     // "wangge", "geos-prepared", "postgis", ...
  int threads = 1;
  int64_t points = 0;  // queries timed per run
  std::vector<Figure> figures;
  std::string note;
};

// What each benchmark returns: one record per figure set, and its table.
struct Report {
  std::vector<Record> records;
  std::string table;  // the human-readable table
};

// REQUIRES: `values` is not empty.
Figure Summarise(std::string name, std::vector<double> values,
                 std::string unit);
// The records as a JSON array, one object per record, figures keyed by name
// with median/min/max/unit.
std::string RecordsToJson(const std::vector<Record>& records);

// 1234567 -> "1,234,567".
std::string Thousands(int64_t v);
// snprintf into a string.
std::string Format(const char* fmt, double v);
// "median (min–max)" with a precision suited to the magnitude.
std::string Range(const Figure& f);

// A markdown table; the first row is the header. Widths count UTF-8
// characters, so Chinese text lines up in a terminal only roughly.
class Table {
 public:
  void Row(std::vector<std::string> cells) {
    rows_.push_back(std::move(cells));
  }
  std::string Render() const {
    std::vector<size_t> width;
    for (const auto& row : rows_) {
      width.resize(std::max(width.size(), row.size()));
      for (size_t i = 0; i < row.size(); ++i) {
        width[i] = std::max(width[i], Display(row[i]));
      }
    }
    std::string out;
    for (size_t r = 0; r < rows_.size(); ++r) {
      out += "|";
      for (size_t i = 0; i < rows_[r].size(); ++i) {
        out += " " + rows_[r][i] +
               std::string(width[i] - Display(rows_[r][i]), ' ') + " |";
      }
      out += "\n";
      if (r == 0) {
        out += "|";
        for (size_t w : width) out += std::string(w + 2, '-') + "|";
        out += "\n";
      }
    }
    return out;
  }

 private:
  // Display width: UTF-8 continuation bytes take no column.
  static size_t Display(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace wangge::bench
