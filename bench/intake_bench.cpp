#include "bench/intake_bench.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/child_process.h"
#include "core/store.h"
#include "core/town.h"

namespace wangge::bench {
namespace {

namespace fs = std::filesystem;

// Points inside the town's cells (and a few just outside), each with a
// category, as Lua table rows.
Result<std::string> LuaPoints(const std::string& db) {
  auto town = core::LoadTown(core::TownSource{.db = db});
  if (!town) return std::unexpected(town.error());
  std::vector<std::string> categories;
  for (const auto& [code, cat] : town->config.categories) {
    categories.push_back(code);
  }
  const spatial::FeatureTable& cells = town->locator->cells().table();
  spatial::Box box = cells.bounds(0);
  for (size_t i = 0; i < cells.size(); ++i) {
    const spatial::Box& b = cells.bounds(i);
    box.min.x = std::min(box.min.x, b.min.x);
    box.min.y = std::min(box.min.y, b.min.y);
    box.max.x = std::max(box.max.x, b.max.x);
    box.max.y = std::max(box.max.y, b.max.y);
  }
  LonLat lo = spatial::ToLonLat(box.min), hi = spatial::ToLonLat(box.max);
  std::mt19937_64 rng(20261130);
  std::uniform_real_distribution<double> lon(lo.lon, hi.lon),
      lat(lo.lat, hi.lat);
  std::string rows;
  int made = 0, outside = 0;
  for (int tries = 0; made < 1000 && tries < 100000; ++tries) {
    LonLat p{lon(rng), lat(rng)};
    auto placed = town->locator->Locate(p);
    if (!placed) continue;
    if (!placed->inside && outside++ >= 10) continue;  // about 1% outside
    char row[128];
    std::snprintf(row, sizeof row, "{%.7f,%.7f,\"%s\"},\n", p.lon, p.lat,
                  categories[size_t(made) % categories.size()].c_str());
    rows += row;
    ++made;
  }
  return rows;
}

constexpr const char* kScript = R"lua(
-- Realistic reports, each with its own Idempotency-Key.
local texts = {"村口有人焚烧秸秆", "邻里因宅基地边界发生争吵", "路灯不亮，夜间行人不便",
  "垃圾堆放在渠边，气味大", "广告牌松动，有坠落危险", "下水道堵塞，污水外溢"}
local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("tid", next_thread)
end
function init(args)
  math.randomseed(tid * 7919)
end
local counter = 0
function request()
  counter = counter + 1
  local p = points[math.random(#points)]
  -- Within about 100 m of a point known to be inside a cell.
  local lon = p[1] + (math.random() - 0.5) * 0.002
  local lat = p[2] + (math.random() - 0.5) * 0.002
  local body = string.format(
    '{"category":"%s","description":"%s（第%d条）","lon":%.7f,"lat":%.7f,"accuracy_m":15}',
    p[3], texts[(counter % #texts) + 1], counter, lon, lat)
  return wrk.format("POST", "/api/v1/reports", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter}, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %d %d %d %.1f %.1f %.1f\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
)lua";

struct RunResult {
  double per_s = 0, p50_ms = 0, p99_ms = 0;
  // As the server measured them (its wangge_http_response_seconds): from
  // a request's arrival in the kernel to its response handed back, each
  // request once. wrk's own figures are corrected for coordinated omission
  // (README, Intake): a stall weighs once per mean request interval it
  // lasted.
  double server_p50_ms = 0, server_p99_ms = 0;
  double cpu_us = 0;  // the server's CPU time per acknowledged report
  int64_t acknowledged = 0, errors = 0;
};

// The cumulative buckets of the server's response-time histogram: (upper
// bound in ms, count), +Inf last.
using Buckets = std::vector<std::pair<double, int64_t>>;

Result<Buckets> ScrapeResponses(const std::string& dir, int port) {
  std::string out = dir + "/metrics.out";
  fs::remove(out);  // Shell appends
  if (auto ok = Shell("curl -sS --max-time 10 http://127.0.0.1:" +
                          std::to_string(port) + "/metrics",
                      out);
      !ok) {
    return std::unexpected(ok.error());
  }
  Buckets buckets;
  std::istringstream text(Slurp(out));
  const std::string prefix = "wangge_http_response_seconds_bucket{le=\"";
  for (std::string line; std::getline(text, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string le = line.substr(prefix.size(),
                                 line.find('"', prefix.size()) - prefix.size());
    double ms = le == "+Inf" ? HUGE_VAL : std::atof(le.c_str()) * 1000;
    buckets.emplace_back(ms, std::atoll(line.c_str() + line.rfind(' ') + 1));
  }
  if (buckets.empty() || buckets.back().first != HUGE_VAL) {
    return Fail(ErrorCode::kInternal,
                "no wangge_http_response_seconds histogram in " + out);
  }
  return buckets;
}

// The `q` quantile of what `after` counted beyond `before`, interpolated
// within its bucket (the last finite bound if it falls in +Inf).
double Quantile(const Buckets& before, const Buckets& after, double q) {
  if (before.size() != after.size()) return 0;
  int64_t total = after.back().second - before.back().second;
  if (total <= 0) return 0;
  double want = q * double(total), low = 0;
  int64_t below = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    int64_t n = after[i].second - before[i].second;
    if (double(n) >= want && n > below) {
      if (after[i].first == HUGE_VAL) return low;
      return low + (after[i].first - low) * (want - double(below)) /
                       double(n - below);
    }
    if (after[i].first != HUGE_VAL) low = after[i].first;
    below = n;
  }
  return low;
}

Result<RunResult> Drive(const std::string& dir, const std::string& script,
                        int port, const IntakeOptions& o) {
  std::string out = dir + "/wrk.out";
  fs::remove(out);
  auto before = ScrapeResponses(dir, port);
  if (!before) return std::unexpected(before.error());
  std::string cmd =
      "wrk -t2 -c" + std::to_string(o.connections) + " -d" +
      std::to_string(o.seconds) + "s --timeout 10s -s " + Quote(script) +
      " http://127.0.0.1:" + std::to_string(port) + "/api/v1/reports";
  if (auto ok = Shell(cmd, out); !ok) return std::unexpected(ok.error());
  auto after = ScrapeResponses(dir, port);
  if (!after) return std::unexpected(after.error());
  std::string text = Slurp(out);
  auto at = text.find("WRK_RESULT ");
  long long requests, status, conn, rd, wr, timeout;
  double p50, p99, duration_us;
  if (at == std::string::npos ||
      std::sscanf(text.c_str() + at,
                  "WRK_RESULT %lld %lld %lld %lld %lld %lld %lf %lf %lf",
                  &requests, &status, &conn, &rd, &wr, &timeout, &p50, &p99,
                  &duration_us) != 9) {
    return Fail(ErrorCode::kInternal, "cannot read wrk's output: " + text);
  }
  RunResult r;
  r.acknowledged = requests - status;
  r.errors = status + conn + rd + wr + timeout;
  r.per_s = double(r.acknowledged) / (duration_us / 1e6);
  r.p50_ms = p50 / 1000;
  r.p99_ms = p99 / 1000;
  r.server_p50_ms = Quantile(*before, *after, 0.50);
  r.server_p99_ms = Quantile(*before, *after, 0.99);
  return r;
}

}  // namespace

Result<IntakeReport> RunIntakeBench(const IntakeOptions& given,
                                    std::ostream& progress) {
  IntakeOptions o = given;
  if (o.quick) {
    o.connections = 8;
    o.seconds = 2;
    o.runs = 1;
  }
  if (std::system("command -v wrk >/dev/null 2>&1") != 0) {
    return Fail(ErrorCode::kUnavailable,
                "wrk is not installed: run `bash tools/install-deps.sh` "
                "(Debian package wrk)");
  }
  char pattern[] = "/tmp/wangge-intake-XXXXXX";
  if (!mkdtemp(pattern)) {
    return Fail(ErrorCode::kInternal, "cannot make a temporary directory");
  }
  std::string dir = pattern;
  // WANGGE_BENCH_KEEP=1 keeps the folder (databases, logs, script).
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (std::getenv("WANGGE_BENCH_KEEP")) return;
      fs::remove_all(dir);
    }
  } cleanup{dir};
  if (std::getenv("WANGGE_BENCH_KEEP"))
    progress << "intake: in " << dir << "\n";
  std::string bin = Quote(o.wangge), log = dir + "/setup.log";
  std::string db0 = dir + "/town.db";
  progress << "intake: a fresh database of " << o.data << "\n";
  if (auto ok = Shell(
          bin + " init --db " + Quote(db0) + " --data " + Quote(o.data), log);
      !ok) {
    return std::unexpected(ok.error());
  }
  std::ofstream(dir + "/pw") << "bench-password-1\n";
  if (auto ok = Shell(bin + " user add --db " + Quote(db0) +
                          " --username bench --role dispatcher "
                          "--password-stdin <" +
                          Quote(dir + "/pw"),
                      log);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = Shell(bin + " user token --db " + Quote(db0) +
                          " --username bench --days 1 2>/dev/null >" +
                          Quote(dir + "/token"),
                      log);
      !ok) {
    return std::unexpected(ok.error());
  }
  std::string token = Slurp(dir + "/token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  auto points = LuaPoints(db0);
  if (!points) return std::unexpected(points.error());

  IntakeReport report;
  std::vector<RunResult> wangge_runs, trivial_runs;
  for (int run = 0; run < o.runs; ++run) {
    for (bool trivial : {false, true}) {
      std::string db = dir + "/run" + std::to_string(run) + ".db";
      fs::copy_file(db0, db, fs::copy_options::overwrite_existing);
      std::string script = dir + "/report.lua";
      std::ofstream(script) << "token = \"" << token << "\"\nrun = \"r" << run
                            << (trivial ? "t" : "w") << "\"\npoints = {\n"
                            << *points << "}\n"
                            << kScript;
      std::vector<std::string> argv = {
          o.wangge,      "serve",     "--listen",
          "127.0.0.1:0", "--threads", std::to_string(o.connections + 16)};
      if (trivial) {
        argv.push_back("--trivial");
      } else {
        argv.push_back("--db");
        argv.push_back(db);
      }
      auto server = ChildProcess::Start(argv, dir + "/serve.log");
      if (!server) return std::unexpected(server.error());
      int64_t ticks = CpuTicks((*server)->pid());
      auto result = Drive(dir, script, (*server)->port(), o);
      ticks = CpuTicks((*server)->pid()) - ticks;
      (*server)->Stop();
      if (!result) return std::unexpected(result.error());
      result->cpu_us = double(ticks) / double(sysconf(_SC_CLK_TCK)) * 1e6 /
                       double(std::max<int64_t>(1, result->acknowledged));
      progress << "intake run " << run + 1 << "/" << o.runs << " "
               << (trivial ? "httplib-trivial" : "wangge") << ": "
               << Format("%.0f", result->per_s) << " reports/s, p50 "
               << Format("%.2f", result->p50_ms) << " ms, p99 "
               << Format("%.2f", result->p99_ms) << " ms (server's own p99 "
               << Format("%.2f", result->server_p99_ms) << " ms), server CPU "
               << Format("%.0f", result->cpu_us) << " µs a report, "
               << result->errors << " errors\n";
      if (!trivial) {
        auto store = core::Store::Open(db);
        if (!store) return std::unexpected(store.error());
        auto counts = (*store)->CountCasesByStatus();
        if (!counts) return std::unexpected(counts.error());
        int64_t stored = 0;
        for (const auto& [status, n] : *counts) stored += n;
        if (stored < result->acknowledged ||
            stored > result->acknowledged + o.connections) {
          progress << "intake: " << result->acknowledged << " acknowledged but "
                   << stored << " stored\n";
          report.lost += std::max<int64_t>(1, result->acknowledged - stored);
        }
        report.lost += result->errors;
        wangge_runs.push_back(*result);
      } else {
        trivial_runs.push_back(*result);
      }
      if (!std::getenv("WANGGE_BENCH_KEEP")) fs::remove(db);
    }
  }
  Table table;
  table.Row({"method", "connections", "reports/s", "p50 ms", "p99 ms",
             "server p50 ms", "server p99 ms", "server CPU µs/report",
             "vs httplib ceiling"});
  double ceiling = 0;
  for (bool trivial : {true, false}) {
    const auto& runs = trivial ? trivial_runs : wangge_runs;
    std::vector<double> per_s, p50, p99, cpu, server_p50, server_p99;
    for (const auto& r : runs) {
      per_s.push_back(r.per_s);
      cpu.push_back(r.cpu_us);
      p50.push_back(r.p50_ms);
      p99.push_back(r.p99_ms);
      server_p50.push_back(r.server_p50_ms);
      server_p99.push_back(r.server_p99_ms);
    }
    Record rec{.benchmark = "intake",
               .size = o.connections,
               .method = trivial ? "httplib-trivial" : "wangge",
               .threads = 2};
    rec.figures = {Summarise("reports_per_s", per_s, "1/s"),
                   Summarise("p50_latency", p50, "ms"),
                   Summarise("p99_latency", p99, "ms"),
                   Summarise("server_cpu_per_report", cpu, "us"),
                   Summarise("server_p50_latency", server_p50, "ms"),
                   Summarise("server_p99_latency", server_p99, "ms")};
    rec.note = trivial ? "cpp-httplib, a handler that does nothing"
                       : "durable (synchronous=FULL) reports, " +
                             std::to_string(o.seconds) + " s per run";
    if (trivial) ceiling = rec.figures[0].median;
    table.Row(
        {rec.method, std::to_string(o.connections), Range(rec.figures[0]),
         Range(rec.figures[1]), Range(rec.figures[2]), Range(rec.figures[4]),
         Range(rec.figures[5]), Range(rec.figures[3]),
         trivial ? "1" : Format("%.2f", rec.figures[0].median / ceiling)});
    report.records.push_back(std::move(rec));
  }
  report.table = table.Render();
  return report;
}

}  // namespace wangge::bench
