// The only translation unit that includes sqlite3.h.
#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/store.h"

namespace wangge::core {
namespace {

using spatial::Feature;
using spatial::PointFeature;
using spatial::Pt;
using spatial::Shape;

// Numbered migrations; append only. schema_version holds the last applied.
constexpr const char* kMigrations[] = {
    // 1: boundary versions, their layers and features; configuration files.
    R"sql(
CREATE TABLE boundary_versions (
  number INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE version_layers (
  version INTEGER NOT NULL REFERENCES boundary_versions(number),
  layer TEXT NOT NULL,
  PRIMARY KEY (version, layer)
);
CREATE TABLE features (
  version INTEGER NOT NULL,
  layer TEXT NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  attributes TEXT NOT NULL,
  geometry BLOB NOT NULL,
  PRIMARY KEY (version, layer, code),
  FOREIGN KEY (version, layer) REFERENCES version_layers(version, layer)
);
CREATE TABLE config_files (
  name TEXT PRIMARY KEY,
  content TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
)sql",
};

std::string NowUtc() {
  auto now = std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now());
  auto day = std::chrono::floor<std::chrono::days>(now);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(now - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()),
                int(hms.hours().count()), int(hms.minutes().count()),
                int(hms.seconds().count()));
  return buf;
}

// Geometry blob: 'S' u32 parts { u32 rings { u32 n { i64 x, i64 y } } } for
// shapes, 'P' i64 x, i64 y for points. Little-endian host order (x86-64).
template <class T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string EncodeShape(const Shape& s) {
  std::string out = "S";
  Put<uint32_t>(out, s.parts.size());
  for (const auto& part : s.parts) {
    Put<uint32_t>(out, part.rings.size());
    for (const auto& ring : part.rings) {
      Put<uint32_t>(out, ring.size());
      for (const Pt& p : ring) {
        Put<int64_t>(out, p.x);
        Put<int64_t>(out, p.y);
      }
    }
  }
  return out;
}

std::string EncodePoint(Pt p) {
  std::string out = "P";
  Put<int64_t>(out, p.x);
  Put<int64_t>(out, p.y);
  return out;
}

class Reader {
 public:
  Reader(const void* data, size_t size)
      : p_(static_cast<const char*>(data)), end_(p_ + size) {}
  template <class T>
  bool Get(T& v) {
    if (size_t(end_ - p_) < sizeof v) return false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

bool DecodeShape(Reader& r, Shape& s) {
  uint32_t parts;
  if (!r.Get(parts)) return false;
  s.parts.resize(parts);
  for (auto& part : s.parts) {
    uint32_t rings;
    if (!r.Get(rings)) return false;
    part.rings.resize(rings);
    for (auto& ring : part.rings) {
      uint32_t n;
      if (!r.Get(n)) return false;
      ring.resize(n);
      for (Pt& p : ring) {
        if (!r.Get(p.x) || !r.Get(p.y)) return false;
      }
    }
  }
  return true;
}

// A prepared statement, finalised on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  Statement& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int col) {
    auto* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)) {}
  ~SqliteStore() override { sqlite3_close(db_); }

  Result<void> Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return Fail(ErrorCode::kUnavailable, path_ + ": " + why);
    }
    return {};
  }

  Error DbError(const std::string& what) {
    return Error{ErrorCode::kUnavailable,
                 path_ + ": " + what + ": " + sqlite3_errmsg(db_)};
  }

  Result<void> Configure() {
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"}) {
      if (auto ok = Exec(pragma); !ok) return ok;
    }
    return {};
  }

  Result<void> Migrate() {
    // Refuse somebody else's database rather than add our tables to it.
    Statement tables(db_,
                     "SELECT COUNT(*), SUM(name = 'schema_version') FROM "
                     "sqlite_master WHERE type = 'table'");
    if (!tables.ok() || tables.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading the schema"));
    }
    if (tables.Int(0) > 0 && tables.Int(1) == 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  path_ +
                      " is a SQLite database but not a wangge one; give "
                      "the file made by wangge init");
    }
    if (auto ok = Exec("CREATE TABLE IF NOT EXISTS schema_version "
                       "(version INTEGER NOT NULL)");
        !ok) {
      return ok;
    }
    Statement read(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!read.ok() || read.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading the schema version"));
    }
    int64_t at = read.Int(0);
    int64_t known = int64_t(std::size(kMigrations));
    if (at > known) {
      return Fail(ErrorCode::kInvalidArgument,
                  path_ + " was written by a newer wangge (schema " +
                      std::to_string(at) + ", this one knows " +
                      std::to_string(known) + "); upgrade wangge");
    }
    for (int64_t m = at; m < known; ++m) {
      if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) return ok;
      auto applied = Exec(kMigrations[m]);
      if (applied) {
        Statement mark(db_, "INSERT INTO schema_version(version) VALUES (?)");
        mark.Bind(1, m + 1);
        if (mark.Step() != SQLITE_DONE) {
          applied = std::unexpected(DbError("recording migration"));
        }
      }
      if (!applied) {
        (void)Exec("ROLLBACK");
        return applied;
      }
      if (auto ok = Exec("COMMIT"); !ok) return ok;
    }
    return {};
  }

  Result<int64_t> AddVersion(const VersionInput& input) override {
    if (input.layers.empty() && input.config_files.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "nothing to store");
    }
    if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) {
      return std::unexpected(ok.error());
    }
    auto result = WriteVersion(input);
    if (!result) {
      (void)Exec("ROLLBACK");
      return result;
    }
    if (auto ok = Exec("COMMIT"); !ok) {
      (void)Exec("ROLLBACK");
      return std::unexpected(ok.error());
    }
    return result;
  }

  Result<int64_t> WriteVersion(const VersionInput& input) {
    std::string now = NowUtc();
    Statement version(db_,
                      "INSERT INTO boundary_versions(created_at, source, "
                      "actor, note) VALUES (?, ?, ?, ?)");
    version.Bind(1, now)
        .Bind(2, input.source)
        .Bind(3, input.actor)
        .Bind(4, input.note);
    if (version.Step() != SQLITE_DONE) {
      return std::unexpected(DbError("adding a boundary version"));
    }
    int64_t number = sqlite3_last_insert_rowid(db_);
    Statement layer(db_,
                    "INSERT INTO version_layers(version, layer) VALUES (?, ?)");
    Statement feature(db_,
                      "INSERT INTO features(version, layer, code, name, "
                      "attributes, geometry) VALUES (?, ?, ?, ?, ?, ?)");
    for (const LayerContents& contents : input.layers) {
      layer.Reset();
      layer.Bind(1, number).Bind(2, contents.layer);
      if (layer.Step() != SQLITE_DONE) {
        return std::unexpected(DbError("adding layer " + contents.layer));
      }
      auto insert = [&](const std::string& code, const std::string& name,
                        const std::map<std::string, std::string>& attributes,
                        const std::string& geometry) -> Result<void> {
        feature.Reset();
        feature.Bind(1, number)
            .Bind(2, contents.layer)
            .Bind(3, code)
            .Bind(4, name)
            .Bind(5, nlohmann::json(attributes).dump())
            .BindBlob(6, geometry);
        if (feature.Step() != SQLITE_DONE) {
          return std::unexpected(DbError(contents.layer + " feature " + code));
        }
        return {};
      };
      for (const Feature& f : contents.polygons) {
        if (auto ok =
                insert(f.code, f.name, f.attributes, EncodeShape(f.shape));
            !ok) {
          return std::unexpected(ok.error());
        }
      }
      for (const PointFeature& f : contents.points) {
        if (auto ok = insert(f.code, f.name, f.attributes, EncodePoint(f.at));
            !ok) {
          return std::unexpected(ok.error());
        }
      }
    }
    Statement config(db_,
                     "INSERT INTO config_files(name, content, updated_at) "
                     "VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                     "content = excluded.content, updated_at = "
                     "excluded.updated_at");
    for (const auto& [name, content] : input.config_files) {
      config.Reset();
      config.Bind(1, name).Bind(2, content).Bind(3, now);
      if (config.Step() != SQLITE_DONE) {
        return std::unexpected(DbError("storing " + name));
      }
    }
    return number;
  }

  Result<std::vector<BoundaryVersion>> Versions() override {
    Statement q(db_,
                "SELECT v.number, v.created_at, v.source, v.actor, v.note, "
                "group_concat(l.layer, ',') FROM boundary_versions v LEFT "
                "JOIN version_layers l ON l.version = v.number GROUP BY "
                "v.number ORDER BY v.number");
    if (!q.ok()) return std::unexpected(DbError("listing versions"));
    std::vector<BoundaryVersion> out;
    while (q.Step() == SQLITE_ROW) {
      BoundaryVersion v{q.Int(0),  q.Text(1), q.Text(2),
                        q.Text(3), q.Text(4), {}};
      std::string layers = q.Text(5);
      for (size_t start = 0; start < layers.size();) {
        size_t comma = layers.find(',', start);
        if (comma == std::string::npos) comma = layers.size();
        v.layers.push_back(layers.substr(start, comma - start));
        start = comma + 1;
      }
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<StoredTown> LoadLayers(std::optional<int64_t> version) override {
    StoredTown town;
    Statement newest(db_,
                     "SELECT COALESCE(MAX(number), 0) FROM boundary_versions");
    if (!newest.ok() || newest.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading versions"));
    }
    int64_t latest = newest.Int(0);
    if (latest == 0) {
      return Fail(ErrorCode::kNotFound,
                  path_ + " holds no boundary version; run wangge init");
    }
    town.version = version.value_or(latest);
    if (town.version < 1 || town.version > latest) {
      return Fail(ErrorCode::kNotFound,
                  "boundary version " + std::to_string(town.version) +
                      " does not exist; versions run 1.." +
                      std::to_string(latest),
                  "version");
    }
    Statement q(db_,
                "SELECT f.layer, f.code, f.name, f.attributes, f.geometry FROM "
                "features f JOIN (SELECT layer, MAX(version) AS version FROM "
                "version_layers WHERE version <= ? GROUP BY layer) l ON "
                "f.layer = l.layer AND f.version = l.version ORDER BY "
                "f.layer, f.code");
    if (!q.ok()) return std::unexpected(DbError("reading features"));
    q.Bind(1, town.version);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      std::string layer = q.Text(0);
      std::map<std::string, std::string> attributes;
      try {
        attributes = nlohmann::json::parse(q.Text(3))
                         .get<std::map<std::string, std::string>>();
      } catch (const std::exception& e) {
        return Fail(
            ErrorCode::kInternal,
            path_ + ": " + layer + " " + q.Text(1) + ": attributes unreadable");
      }
      Reader r(sqlite3_column_blob(q.get(), 4),
               sqlite3_column_bytes(q.get(), 4));
      char tag = 0;
      bool ok = r.Get(tag);
      if (ok && tag == 'S') {
        Feature f{
            .code = q.Text(1), .name = q.Text(2), .attributes = attributes};
        ok = DecodeShape(r, f.shape);
        if (layer == "villages") town.layers.villages.push_back(std::move(f));
        if (layer == "cells") town.layers.cells.push_back(std::move(f));
        if (layer == "zones") town.layers.zones.push_back(std::move(f));
      } else if (ok && tag == 'P') {
        PointFeature f{
            .code = q.Text(1), .name = q.Text(2), .attributes = attributes};
        ok = r.Get(f.at.x) && r.Get(f.at.y);
        if (layer == "households") town.households.push_back(std::move(f));
        if (layer == "shopfronts") town.shopfronts.push_back(std::move(f));
      } else {
        ok = false;
      }
      if (!ok) {
        return Fail(
            ErrorCode::kInternal,
            path_ + ": " + layer + " " + q.Text(1) + ": geometry unreadable");
      }
    }
    if (rc != SQLITE_DONE) return std::unexpected(DbError("reading features"));
    return town;
  }

  Result<std::string> ConfigFile(const std::string& name) override {
    Statement q(db_, "SELECT content FROM config_files WHERE name = ?");
    q.Bind(1, name);
    if (q.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound,
                  path_ + " has no configuration file " + name);
    }
    return q.Text(0);
  }

 private:
  sqlite3* db_;
  std::string path_;
};

Result<std::unique_ptr<Store>> OpenAt(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Fail(ErrorCode::kUnavailable, path + ": cannot open (" + why + ")");
  }
  auto store = std::make_unique<SqliteStore>(db, path);
  if (auto ok = store->Configure(); !ok) {
    return std::unexpected(
        Error{ErrorCode::kInvalidArgument,
              path + " is not a wangge database (" + ok.error().message + ")"});
  }
  if (auto ok = store->Migrate(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Create(const std::string& path) {
  if (std::filesystem::exists(path)) {
    return Fail(ErrorCode::kConflict,
                path +
                    " already exists; wangge init never overwrites a "
                    "database. Choose another file or move it away");
  }
  return OpenAt(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return Fail(ErrorCode::kNotFound,
                path + ": no such database; create it with wangge init");
  }
  return OpenAt(path, SQLITE_OPEN_READWRITE);
}

}  // namespace wangge::core
