#include "bench/postgis_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wangge::bench {
namespace fs = std::filesystem;
namespace {

std::string ReadTail(const std::string& path, size_t max_chars = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > max_chars)
    text = "..." + text.substr(text.size() - max_chars);
  return text;
}

// PostgreSQL's bin directory holding initdb and pg_ctl; the newest version
// wins.
std::string FindBin() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl") &&
        bin.string() > best) {
      best = bin.string();
    }
  }
  return best;
}

void AppendHex(std::string& out, const void* data, size_t n) {
  static const char* kDigits = "0123456789ABCDEF";
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
}

template <class T>
void AppendHexValue(std::string& out, T value) {
  AppendHex(out, &value, sizeof value);  // little-endian machine, byte order 1
}

// Hex EWKB (SRID 4326) of a shape, as COPY text accepts for geometry.
std::string HexEwkb(const spatial::Shape& shape) {
  std::string out;
  auto polygon = [&](const spatial::Polygon& part, bool with_srid) {
    AppendHexValue<uint8_t>(out, 1);
    AppendHexValue<uint32_t>(out, with_srid ? 0x20000003u : 3u);
    if (with_srid) AppendHexValue<uint32_t>(out, 4326);
    AppendHexValue<uint32_t>(out, uint32_t(part.rings.size()));
    for (const spatial::Ring& ring : part.rings) {
      AppendHexValue<uint32_t>(out, uint32_t(ring.size() + 1));
      for (size_t i = 0; i <= ring.size(); ++i) {
        LonLat p = spatial::ToLonLat(ring[i % ring.size()]);
        AppendHexValue<double>(out, p.lon);
        AppendHexValue<double>(out, p.lat);
      }
    }
  };
  if (shape.parts.size() == 1) {
    polygon(shape.parts[0], true);
    return out;
  }
  AppendHexValue<uint8_t>(out, 1);
  AppendHexValue<uint32_t>(out, 0x20000006u);
  AppendHexValue<uint32_t>(out, 4326);
  AppendHexValue<uint32_t>(out, uint32_t(shape.parts.size()));
  for (const spatial::Polygon& part : shape.parts) polygon(part, false);
  return out;
}

Result<void> Exec(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  ExecStatusType status = PQresultStatus(res);
  std::string error = PQresultErrorMessage(res);
  PQclear(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Fail(ErrorCode::kInternal, "PostGIS: " + sql + ": " + error);
  }
  return {};
}

class ConnectionImpl : public PostgisServer::Connection {
 public:
  explicit ConnectionImpl(PGconn* conn) : conn_(conn) {}
  ~ConnectionImpl() override { PQfinish(conn_); }

  int32_t Locate(LonLat p) override {
    char lon[32], lat[32];
    std::snprintf(lon, sizeof lon, "%.9f", p.lon);
    std::snprintf(lat, sizeof lat, "%.9f", p.lat);
    const char* values[2] = {lon, lat};
    PGresult* res =
        PQexecPrepared(conn_, "locate", 2, values, nullptr, nullptr, 0);
    int32_t found = -2;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
      found = PQntuples(res) == 0 ? -1 : std::atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return found;
  }

 private:
  PGconn* conn_;
};

}  // namespace

Result<void> PostgisServer::Run(const std::string& command, int timeout_s) {
  std::string log = dir_ + "/commands.log";
  std::string full = "timeout " + std::to_string(timeout_s) + " " + as_user_ +
                     command + " >>" + log + " 2>&1";
  int raw = std::system(full.c_str());
  if (raw != 0) {
    return Fail(ErrorCode::kInternal,
                "PostGIS server: `" + command + "` failed (status " +
                    std::to_string(WIFEXITED(raw) ? WEXITSTATUS(raw) : -1) +
                    "):\n" + ReadTail(log) + ReadTail(dir_ + "/server.log"));
  }
  return {};
}

std::string PostgisServer::ConnInfo() const {
  return "host=" + dir_ + " port=5432 dbname=postgres user=bench " +
         "connect_timeout=10";
}

Result<std::unique_ptr<PostgisServer>> PostgisServer::Start(
    std::ostream& progress) {
  std::unique_ptr<PostgisServer> server(new PostgisServer());
  server->bin_ = FindBin();
  if (server->bin_.empty()) {
    return Fail(ErrorCode::kUnavailable,
                "PostgreSQL server programs not found under "
                "/usr/lib/postgresql; install postgresql-15-postgis-3 "
                "(tools/install-deps.sh)");
  }
  if (!fs::exists("/usr/share/postgresql/" +
                  fs::path(server->bin_).parent_path().filename().string() +
                  "/extension/postgis.control")) {
    return Fail(ErrorCode::kUnavailable,
                "the PostGIS extension is not installed; install "
                "postgresql-15-postgis-3 (tools/install-deps.sh)");
  }
  char templ[] = "/tmp/wangge-pg-XXXXXX";
  if (!mkdtemp(templ)) {
    return Fail(ErrorCode::kInternal, "cannot create a temporary directory");
  }
  server->dir_ = templ;
  if (geteuid() == 0) {
    struct passwd* pw = getpwnam("postgres");
    if (!pw) {
      return Fail(ErrorCode::kUnavailable,
                  "running as root but there is no `postgres` user to run "
                  "the server as; install postgresql-15");
    }
    if (chown(templ, pw->pw_uid, pw->pw_gid) != 0) {
      return Fail(ErrorCode::kInternal,
                  std::string("cannot hand ") + templ + " to postgres");
    }
    server->as_user_ = "runuser -u postgres -- ";
  }
  const std::string& d = server->dir_;
  // The watchdog waits for the end of this process (its pipe closes), then
  // stops the server and deletes the directory if they are still there.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kInternal, "cannot create the watchdog's pipe");
  }
  std::string stop = "timeout 60 " + server->as_user_ + server->bin_ +
                     "/pg_ctl -D " + d + "/data -m immediate -w stop";
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the whole process group
    close(fds[1]);
    char byte;
    while (read(fds[0], &byte, 1) != 0) {
    }
    if (access((d + "/data/postmaster.pid").c_str(), F_OK) == 0) {
      (void)!std::system((stop + " >/dev/null 2>&1").c_str());
    }
    (void)!std::system(("rm -rf '" + d + "'").c_str());
    _exit(0);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return Fail(ErrorCode::kInternal, "cannot start the watchdog process");
  }
  server->watchdog_fd_ = fds[1];
  server->watchdog_pid_ = pid;
  progress << "postgis: initdb in " << d << "\n";
  auto init = server->Run(server->bin_ + "/initdb -D " + d +
                              "/data -U bench --auth=trust -E UTF8 "
                              "--locale=C.UTF-8 --no-sync",
                          120);
  if (!init) return std::unexpected(init.error());
  auto start = server->Run(
      server->bin_ + "/pg_ctl -D " + d + "/data -l " + d +
          "/server.log -w -t 60 -o \"-k " + d +
          " -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
          "-c full_page_writes=off -c shared_buffers=512MB "
          "-c maintenance_work_mem=1GB -c max_wal_size=4GB "
          "-c statement_timeout=600s\" start",
      90);
  if (!start) return std::unexpected(start.error());
  server->started_ = true;
  PGconn* admin = PQconnectdb(server->ConnInfo().c_str());
  server->admin_ = admin;
  PQsetNoticeProcessor(
      admin, [](void*, const char*) {}, nullptr);
  if (PQstatus(admin) != CONNECTION_OK) {
    return Fail(ErrorCode::kInternal, std::string("PostGIS: cannot connect: ") +
                                          PQerrorMessage(admin));
  }
  auto ext = Exec(admin, "CREATE EXTENSION postgis");
  if (!ext) return std::unexpected(ext.error());
  return server;
}

PostgisServer::~PostgisServer() {
  if (admin_) PQfinish(static_cast<PGconn*>(admin_));
  if (started_) {
    (void)Run(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w -t 60 stop", 90);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  if (watchdog_fd_ >= 0) close(watchdog_fd_);
  if (watchdog_pid_ > 0) waitpid(watchdog_pid_, nullptr, 0);
}

Result<int64_t> PostgisServer::Load(
    const std::vector<spatial::Feature>& cells) {
  auto* conn = static_cast<PGconn*>(admin_);
  for (const char* sql :
       {"DROP TABLE IF EXISTS cells",
        "CREATE UNLOGGED TABLE cells (id integer, geom geometry(Geometry, "
        "4326))",
        "COPY cells (id, geom) FROM STDIN"}) {
    PGresult* res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    std::string error = PQresultErrorMessage(res);
    PQclear(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_COPY_IN) {
      return Fail(ErrorCode::kInternal,
                  std::string("PostGIS: ") + sql + ": " + error);
    }
  }
  std::string chunk;
  for (size_t i = 0; i < cells.size(); ++i) {
    chunk += std::to_string(i);
    chunk += '\t';
    chunk += HexEwkb(cells[i].shape);
    chunk += '\n';
    if (chunk.size() > (1 << 20) || i + 1 == cells.size()) {
      if (PQputCopyData(conn, chunk.data(), int(chunk.size())) != 1) {
        return Fail(ErrorCode::kInternal,
                    std::string("PostGIS: COPY: ") + PQerrorMessage(conn));
      }
      chunk.clear();
    }
  }
  if (PQputCopyEnd(conn, nullptr) != 1) {
    return Fail(ErrorCode::kInternal,
                std::string("PostGIS: COPY end: ") + PQerrorMessage(conn));
  }
  PGresult* res = PQgetResult(conn);
  ExecStatusType status = PQresultStatus(res);
  std::string error = PQresultErrorMessage(res);
  PQclear(res);
  while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
  if (status != PGRES_COMMAND_OK) {
    return Fail(ErrorCode::kInternal, "PostGIS: COPY: " + error);
  }
  for (const char* sql : {"CREATE INDEX cells_geom ON cells USING GIST (geom)",
                          "ANALYZE cells"}) {
    auto done = Exec(conn, sql);
    if (!done) return std::unexpected(done.error());
  }
  res = PQexec(conn, "SELECT pg_total_relation_size('cells')");
  int64_t bytes = -1;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
    bytes = std::atoll(PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  return bytes;
}

Result<std::unique_ptr<PostgisServer::Connection>> PostgisServer::Connect() {
  PGconn* conn = PQconnectdb(ConnInfo().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    return Fail(ErrorCode::kInternal, "PostGIS: cannot connect: " + error);
  }
  PGresult* res =
      PQprepare(conn, "locate",
                "SELECT id FROM cells WHERE ST_Covers(geom, "
                "ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)) "
                "ORDER BY id LIMIT 1",
                2, nullptr);
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string error = PQresultErrorMessage(res);
  PQclear(res);
  if (!ok) {
    PQfinish(conn);
    return Fail(ErrorCode::kInternal, "PostGIS: prepare: " + error);
  }
  return std::unique_ptr<Connection>(new ConnectionImpl(conn));
}

}  // namespace wangge::bench
