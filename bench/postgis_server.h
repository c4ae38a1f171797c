#pragma once
// PostgisServer: a throwaway PostgreSQL + PostGIS server for benchmarks.
//
// Start() runs initdb in a fresh temporary directory, starts the server on
// a Unix socket in that directory (no TCP), and creates the postgis
// extension; the destructor stops the server and deletes the directory.
// PostgreSQL refuses to run as root, so when the effective user is root the
// server programs run as the `postgres` system user (runuser), which then
// owns the directory. Every step has a time limit. A watchdog process
// stops the server and deletes the directory if this process dies without
// doing so (a crash, a kill, Ctrl-C). libpq headers stay in bench/*.cpp.
//
// A Connection is for one thread at a time.
//
//   auto server = PostgisServer::Start(std::cerr);
//   auto bytes = (*server)->Load(cells);       // table + GiST index
//   auto conn = (*server)->Connect();
//   int32_t cell = (*conn)->Locate({110.24, 34.52});  // -1: outside

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/lon_lat.h"
#include "base/result.h"
#include "spatial/feature.h"

namespace wangge::bench {

class PostgisServer {
 public:
  // Fails with kUnavailable (saying what to install) when the PostgreSQL
  // server programs or the PostGIS extension are missing, and with
  // kInternal when a step fails (its log is quoted).
  static Result<std::unique_ptr<PostgisServer>> Start(std::ostream& progress);
  ~PostgisServer();  // stops the server, deletes its directory

  // Replaces the table `cells` (id = index into `cells`, geometry in WGS84
  // degrees), builds a GiST index, analyzes it. Returns the bytes of table
  // plus index (pg_total_relation_size).
  Result<int64_t> Load(const std::vector<spatial::Feature>& cells);

  class Connection {
   public:
    virtual ~Connection() = default;
    // The lowest id whose geometry covers `p` (ST_Covers ... ORDER BY id
    // LIMIT 1), or -1; -2 when the query failed.
    virtual int32_t Locate(LonLat p) = 0;
  };
  Result<std::unique_ptr<Connection>> Connect();

 private:
  PostgisServer() = default;
  Result<void> Run(const std::string& command, int timeout_s);
  std::string ConnInfo() const;

  std::string bin_;      // PostgreSQL's bin directory
  std::string dir_;      // temporary directory (socket, data, log)
  std::string as_user_;  // "runuser -u postgres -- " when root, else ""
  bool started_ = false;
  int watchdog_fd_ = -1;  // closing it (or dying) wakes the watchdog
  int watchdog_pid_ = -1;
  void* admin_ = nullptr;  // PGconn* used for setup
};

}  // namespace wangge::bench
