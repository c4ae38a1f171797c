#include "bench/startup_bench.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/child_process.h"
#include "bench/import_bench.h"

namespace wangge::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A field of /proc/PID/status in bytes (e.g. "VmRSS"), -1 if unreadable.
int64_t StatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream rest(line.substr(field.size() + 1));
      int64_t kib = -1;
      rest >> kib;
      return kib < 0 ? -1 : kib * 1024;
    }
  }
  return -1;
}

constexpr double kMiB = 1024.0 * 1024.0;

struct RunResult {
  double healthy_s = 0;
  double grids_s = 0;  // until Locate goes through the grids
  double cpu_s = 0;    // the server's CPU time until then
  double rss_mib = 0, peak_mib = 0;
  double settled_rss_mib = 0, settled_peak_mib = 0;
};

Result<RunResult> StartOnce(const StartupOptions& o, const std::string& db,
                            const std::string& log) {
  auto server = ChildProcess::Start(
      {o.wangge, "serve", "--db", db, "--listen", "127.0.0.1:0"}, log,
      {.poll = milliseconds(2), .timeout = std::chrono::seconds(120)});
  if (!server) return std::unexpected(server.error());
  ChildProcess& s = **server;
  RunResult r;
  auto deadline = s.spawned() + std::chrono::seconds(120);
  std::string last;
  while (true) {
    auto status = HttpGetStatus(s.port(), "/healthz");
    if (status && *status == 200) break;
    last =
        status ? "status " + std::to_string(*status) : status.error().message;
    if (Clock::now() > deadline) {
      return Fail(ErrorCode::kUnavailable,
                  "wangge serve did not answer /healthz with 200 within "
                  "120 s (last: " +
                      last + "): " + Slurp(log));
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  r.healthy_s = Seconds(Clock::now() - s.spawned());
  r.cpu_s = double(CpuTicks(s.pid())) / double(sysconf(_SC_CLK_TCK));
  r.rss_mib = double(StatusBytes(s.pid(), "VmRSS")) / kMiB;
  r.peak_mib = double(StatusBytes(s.pid(), "VmHWM")) / kMiB;
  // A first start answers through the R-trees until its grids are built; the
  // log says when (a start from the index file has them at once).
  while (true) {
    std::string text = Slurp(log);
    if (text.find("boundary grids built in") != std::string::npos) {
      r.grids_s = Seconds(Clock::now() - s.spawned());
      break;
    }
    if (text.find("boundary index read from") != std::string::npos) {
      r.grids_s = r.healthy_s;
      break;
    }
    if (Clock::now() > deadline) {
      return Fail(
          ErrorCode::kUnavailable,
          "wangge serve never said its boundary grids were built: " + text);
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  // Idle: less than 2 ticks of CPU in each of two 500 ms windows, at most
  // 60 s.
  int64_t ticks = CpuTicks(s.pid());
  int quiet = 0;
  for (int i = 0; i < 120 && quiet < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(500));
    int64_t now = CpuTicks(s.pid());
    quiet = (now - ticks < 2) ? quiet + 1 : 0;
    ticks = now;
  }
  r.settled_rss_mib = double(StatusBytes(s.pid(), "VmRSS")) / kMiB;
  r.settled_peak_mib = double(StatusBytes(s.pid(), "VmHWM")) / kMiB;
  s.Stop();
  return r;
}

}  // namespace

Result<StartupReport> RunStartupBench(const StartupOptions& given,
                                      std::ostream& progress) {
  StartupOptions o = given;
  o.town = given.town.Effective();
  auto dir = TempDir::Make("wangge-startup");
  if (!dir) return std::unexpected(dir.error());
  if (std::getenv("WANGGE_BENCH_KEEP")) {
    progress << "startup: in " << dir->path() << "\n";
  }
  auto town = MakeSyntheticTown(dir->path(), o.town.data, o.town.cols,
                                o.town.rows, progress);
  if (!town) return std::unexpected(town.error());
  std::string db = town->base_db;
  progress << "startup: importing " << Thousands(town->cells) << " cells into "
           << db << "\n";
  auto start = Clock::now();
  auto version = ImportCells(db, town->cells_shp);
  if (!version) return std::unexpected(version.error());
  progress << "startup: imported as boundary version " << *version << " in "
           << Format("%.1f", Seconds(Clock::now() - start)) << " s\n";

  // Each run starts the server twice: without the boundary index file (it
  // loads every shape, builds the index and writes the file) and then with
  // the file the first start wrote.
  struct Method {
    std::string name, what;
    std::vector<double> healthy, grids, cpu, rss, peak, settled, settled_peak;
  };
  Method methods[] = {
      {.name = "wangge, first start",
       .what = "no index file: loads the shapes, answers "
               "through the R-trees while it builds the "
               "grids, then writes the file"},
      {.name = "wangge", .what = "reads the index file the first start wrote"}};
  std::string index_file = db + "-index";
  double index_mib = 0;
  for (int run = 0; run < o.town.runs; ++run) {
    std::remove(index_file.c_str());
    for (int m = 0; m < 2; ++m) {
      Method& method = methods[m];
      auto r = StartOnce(o, db,
                         dir->path() + "/serve" + std::to_string(run + 1) +
                             (m == 0 ? "-first" : "") + ".log");
      if (!r) return std::unexpected(r.error());
      progress << "startup run " << run + 1 << "/" << o.town.runs << ", "
               << method.name << ": healthy in " << Format("%.3f", r->healthy_s)
               << " s (CPU " << Format("%.2f", r->cpu_s) << " s), grids in "
               << Format("%.3f", r->grids_s) << " s, RSS "
               << Format("%.0f", r->rss_mib) << " MiB (peak "
               << Format("%.0f", r->peak_mib) << "), idle RSS "
               << Format("%.0f", r->settled_rss_mib) << " MiB (peak "
               << Format("%.0f", r->settled_peak_mib) << ")\n";
      method.healthy.push_back(r->healthy_s);
      method.grids.push_back(r->grids_s);
      method.cpu.push_back(r->cpu_s);
      method.rss.push_back(r->rss_mib);
      method.peak.push_back(r->peak_mib);
      method.settled.push_back(r->settled_rss_mib);
      method.settled_peak.push_back(r->settled_peak_mib);
      if (m == 0) {
        std::error_code ec;
        auto bytes = std::filesystem::file_size(index_file, ec);
        if (ec) {
          return Fail(ErrorCode::kInternal,
                      "wangge serve wrote no index file " + index_file + ": " +
                          Slurp(dir->path() + "/serve" +
                                std::to_string(run + 1) + "-first.log"));
        }
        index_mib = double(bytes) / kMiB;
      }
    }
  }

  StartupReport report;
  Table table;
  table.Row({"cells", "vertices", "method", "healthy s", "CPU s",
             "grids ready s", "RSS MiB", "peak MiB", "idle RSS MiB",
             "idle peak MiB"});
  double vertices = double(town->vertices);
  for (Method& m : methods) {
    Record rec{.benchmark = "startup", .size = town->cells, .method = m.name};
    rec.figures = {
        Summarise("healthy_s", m.healthy, "s"),
        Summarise("cpu_s_to_healthy", m.cpu, "s"),
        Summarise("rss_at_healthy", m.rss, "MiB"),
        Summarise("peak_rss_at_healthy", m.peak, "MiB"),
        Summarise("rss_idle", m.settled, "MiB"),
        Summarise("peak_rss_idle", m.settled_peak, "MiB"),
        Summarise("vertices", {vertices, vertices, vertices}, "count"),
        Summarise("index_file", {index_mib, index_mib, index_mib}, "MiB"),
        Summarise("grids_ready_s", m.grids, "s")};
    rec.note = "wangge serve --db DB, " + m.what +
               ": fork to /healthz 200 (wall, and the server's CPU); "
               "VmRSS/VmHWM then and once idle; grids ready: fork to the "
               "log line saying Locate goes through the grids";
    table.Row({Thousands(town->cells), Thousands(town->vertices), m.name,
               Range(rec.figures[0]), Range(rec.figures[1]),
               Range(rec.figures[8]), Range(rec.figures[2]),
               Range(rec.figures[3]), Range(rec.figures[4]),
               Range(rec.figures[5])});
    report.records.push_back(std::move(rec));
  }
  report.table =
      table.Render() + "index file: " + Format("%.0f", index_mib) + " MiB\n";
  return report;
}

}  // namespace wangge::bench
