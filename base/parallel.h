#pragma once
// ParallelRanges: runs body(begin, end) over [0, n) in contiguous shares,
// one thread each on all cores (at most 8), when n is at least
// `min_parallel`; otherwise body(0, n) on the caller's thread alone. Returns
// once every share is done. `body` runs on several threads at once: it must
// only write what its own share owns.
//
//   ParallelRanges(cells.size(), 4096, [&](size_t begin, size_t end) {
//     for (size_t i = begin; i < end; ++i) boxes[i] = BoundsOf(cells[i]);
//   });

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace wangge {

template <class Body>
void ParallelRanges(size_t n, size_t min_parallel, Body body) {
  size_t threads =
      n >= min_parallel
          ? std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8)
          : 1;
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back(body, n * t / threads, n * (t + 1) / threads);
  }
  body(size_t(0), n / threads);
  for (auto& th : pool) th.join();
}

}  // namespace wangge
