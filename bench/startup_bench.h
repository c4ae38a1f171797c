#pragma once
// The `startup` benchmark: a town database holding `cols x rows` synthetic
// cells, put there the way a real town gets them (a Shapefile through
// `wangge import`, see MakeSyntheticTown), then the real `wangge serve
// --db DB --listen 127.0.0.1:0` started as a child process, `runs` times:
// the time from fork() until GET /healthz answers 200, and the server's
// resident memory (VmRSS in /proc/PID/status) then, its peak (VmHWM), and
// both again once the server has gone idle (no CPU used for a second;
// background work such as the deadline ticker loading the town finished).
//
// Fails when the server does not answer 200 within 120 s of its start, or
// the setup fails. Everything lives in a temporary folder that is deleted
// at the end (WANGGE_BENCH_KEEP=1 keeps it); the server is always stopped.
//
//   StartupOptions options{.wangge = "/usr/local/bin/wangge",
//                          .town = {.data = "data/taiyao", .quick = true}};
//   auto report = RunStartupBench(options, std::cerr);

#include <ostream>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/import_bench.h"
#include "bench/record.h"

namespace wangge::bench {

struct StartupOptions {
  std::string wangge;     // path of the wangge executable
  TownBenchOptions town;  // the town it serves
};

using StartupReport = Report;

Result<StartupReport> RunStartupBench(const StartupOptions& options,
                                      std::ostream& progress);

}  // namespace wangge::bench
