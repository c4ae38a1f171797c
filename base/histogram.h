#pragma once
// Histogram: how many durations fell under each of fixed upper bounds,
// written in Prometheus' text format for /metrics. Add is safe from many
// threads at once (relaxed atomics, no lock); Text may see an Add half done
// (its count and not yet its sum), which a scrape tolerates.
//
//   Histogram h({0.001, 0.01, 0.1});  // seconds; one more bucket: the rest
//   h.Add(0.004);
//   out += h.Text("wangge_x_seconds", "What x measures.");

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wangge {

class Histogram {
 public:
  // `bounds`: ascending upper bounds, in seconds.
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)),
        counts_(new std::atomic<int64_t>[bounds_.size() + 1]()) {}

  void Add(double seconds) {
    size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(int64_t(seconds * 1e6), std::memory_order_relaxed);
  }

  // The HELP and TYPE lines, the cumulative buckets, the sum and the count.
  std::string Text(std::string_view name, std::string_view help) const {
    std::string n(name);
    std::string out = "# HELP " + n + " " + std::string(help) + "\n# TYPE " +
                      n + " histogram\n";
    int64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      char le[32];
      if (i < bounds_.size()) {
        std::snprintf(le, sizeof le, "%g", bounds_[i]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      out +=
          n + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f",
                  double(sum_us_.load(std::memory_order_relaxed)) / 1e6);
    out += n + "_sum " + sum + "\n";
    out += n + "_count " + std::to_string(cumulative) + "\n";
    return out;
  }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> counts_;
  std::atomic<int64_t> sum_us_{0};
};

}  // namespace wangge
