#include "base/histogram.h"

#include <doctest/doctest.h>

#include <string>

using wangge::Histogram;

TEST_CASE("Histogram: cumulative buckets, +Inf, sum and count") {
  Histogram h({0.001, 0.01});
  std::string empty = h.Text("x_seconds", "What x takes.");
  CHECK(empty ==
        "# HELP x_seconds What x takes.\n# TYPE x_seconds histogram\n"
        "x_seconds_bucket{le=\"0.001\"} 0\nx_seconds_bucket{le=\"0.01\"} 0\n"
        "x_seconds_bucket{le=\"+Inf\"} 0\nx_seconds_sum 0.000000\n"
        "x_seconds_count 0\n");
  h.Add(0.0005);
  h.Add(0.001);  // on a bound: counted under it
  h.Add(0.004);
  h.Add(3);  // past every bound
  CHECK(h.Text("x_seconds", "What x takes.") ==
        "# HELP x_seconds What x takes.\n# TYPE x_seconds histogram\n"
        "x_seconds_bucket{le=\"0.001\"} 2\nx_seconds_bucket{le=\"0.01\"} 3\n"
        "x_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 3.005500\n"
        "x_seconds_count 4\n");
}
