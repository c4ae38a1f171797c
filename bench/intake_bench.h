#pragma once
// The `intake` benchmark: `wangge serve` on loopback on a fresh database of
// the sample town, driven by wrk with a Lua script that POSTs realistic
// reports (points inside the town's cells, real categories, Chinese text)
// each with its own Idempotency-Key, for `seconds` at `connections`
// connections. In the same run, the same load against `wangge serve
// --trivial` (cpp-httplib with a handler that does nothing) gives the HTTP
// library's ceiling, for the ratio.
//
// After each wangge run the database is opened and its cases counted:
// every report wrk saw acknowledged (2xx) must be stored, and at most one
// per connection more (those in flight when wrk stopped). Anything else is
// counted in `lost` and is a bug.
//
// Needs `wrk` on the PATH and the wangge executable; it installs nothing.
//
//   IntakeOptions options{.wangge = "/usr/local/bin/wangge",
//                         .data = "data/taiyao", .quick = true};
//   auto report = RunIntakeBench(options, std::cerr);

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/record.h"

namespace wangge::bench {

struct IntakeOptions {
  std::string wangge;  // path of the wangge executable
  std::string data;    // the sample town folder
  bool quick = false;  // 8 connections, 2 s, one run
  int connections = 64;
  int seconds = 10;
  int runs = 3;
};

struct IntakeReport : Report {
  int64_t lost = 0;  // acknowledged reports missing from the database
};

Result<IntakeReport> RunIntakeBench(const IntakeOptions& options,
                                    std::ostream& progress);

}  // namespace wangge::bench
