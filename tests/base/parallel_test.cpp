#include "base/parallel.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

using wangge::ParallelRanges;

TEST_CASE("ParallelRanges: every index once, in contiguous shares") {
  for (size_t n : {size_t(0), size_t(1), size_t(99), size_t(100), size_t(1001),
                   size_t(65537)}) {
    CAPTURE(n);
    std::vector<std::atomic<int>> seen(n);
    std::mutex mu;
    std::vector<std::pair<size_t, size_t>> shares;
    std::set<std::thread::id> threads;
    ParallelRanges(n, 100, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) seen[i]++;
      std::lock_guard<std::mutex> lock(mu);
      shares.emplace_back(begin, end);
      threads.insert(std::this_thread::get_id());
    });
    for (size_t i = 0; i < n; ++i) REQUIRE(seen[i] == 1);
    // Below the threshold the caller's thread takes it all at once.
    if (n < 100) {
      REQUIRE(shares.size() == 1);
      CHECK(shares[0] == std::pair<size_t, size_t>{0, n});
      CHECK(*threads.begin() == std::this_thread::get_id());
    } else {
      size_t cores = std::thread::hardware_concurrency();
      CHECK(shares.size() == std::clamp<size_t>(cores, 1, 8));
      CHECK(threads.size() == shares.size());
    }
  }
}
