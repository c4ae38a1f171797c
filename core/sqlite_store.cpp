// The Store on SQLite (with core/sqlite_wal_vfs.cpp, the only files that
// include sqlite3.h).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/parallel.h"
#include "core/sqlite_wal_vfs.h"
#include "core/store.h"
#include "core/workflow.h"
#include "spatial/shape_codec.h"

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
    // 2: accounts, tokens, cases and their append-only events.
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  scope TEXT NOT NULL DEFAULT '',
  person TEXT NOT NULL DEFAULT '',
  display_name TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  expires_at TEXT NOT NULL
);
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  category TEXT NOT NULL,
  description TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  lon REAL NOT NULL,
  lat REAL NOT NULL,
  accuracy_m REAL NOT NULL,
  reported_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  reporter INTEGER NOT NULL REFERENCES users(id),
  idempotency_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  cell TEXT NOT NULL,
  village TEXT NOT NULL,
  branch TEXT NOT NULL,
  office TEXT NOT NULL,
  outside INTEGER NOT NULL,
  boundary_version INTEGER NOT NULL,
  accept_by TEXT NOT NULL,
  handle_by TEXT NOT NULL,
  level TEXT NOT NULL,
  assignment TEXT NOT NULL,
  UNIQUE (reporter, idempotency_key)
);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_cell ON cases(cell);
CREATE TABLE case_events (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  seq INTEGER NOT NULL,
  actor INTEGER NOT NULL,
  at TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (case_id, seq)
);
)sql",
    // 3: photo attachments; the bytes are files named by sha256.
    R"sql(
CREATE TABLE attachments (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  sha256 TEXT NOT NULL,
  mime TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  orientation INTEGER NOT NULL DEFAULT 1,
  lon REAL,
  lat REAL,
  uploaded_by INTEGER NOT NULL REFERENCES users(id),
  uploaded_at TEXT NOT NULL,
  UNIQUE (case_id, sha256)
);
)sql",
    // workflow: the case row's workflow state, derived from its events;
    // events name their action, carry details and are hash-chained. The
    // hashes of existing events are computed right after this script, in
    // the same transaction (BackfillEventHashes).
    R"sql(-- workflow
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN assignee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN rework_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN evaluation TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN co_offices TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN extension_hours REAL NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN duplicate_of INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_events ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE case_events ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
ALTER TABLE case_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE case_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
UPDATE case_events SET action = 'report', details = (SELECT
  json_object('accept_by', c.accept_by, 'handle_by', c.handle_by, 'level',
  c.level) FROM cases c WHERE c.id = case_events.case_id) WHERE seq = 1;
UPDATE cases SET version = (SELECT COUNT(*) FROM case_events e WHERE
  e.case_id = cases.id);
CREATE INDEX cases_category_received ON cases(category, received_at);
)sql",
    // 5: case numbers per day from a counter, not a count of the day's rows.
    R"sql(
CREATE TABLE case_counters (
  day TEXT PRIMARY KEY,
  n INTEGER NOT NULL
);
INSERT INTO case_counters SELECT substr(received_at, 1, 10), COUNT(*)
  FROM cases GROUP BY 1;
)sql",
    // 6: the duplicate search at intake (category, recent, within a box)
    // answered from the index alone; only the matches' rows are read.
    R"sql(
CREATE INDEX cases_category_received_at ON cases(category, received_at, lon,
  lat);
DROP INDEX cases_category_received;
)sql",
    // 7: the duplicate search reads only the cases near the report: an index
    // on (category, the 1/500-degree square holding the point, received_at).
    // The square's expression must match kNearKey character for character.
    R"sql(
CREATE INDEX cases_near ON cases(category, (CAST(lat * 500 AS INTEGER) *
  1000000 + CAST(lon * 500 AS INTEGER)), received_at);
DROP INDEX cases_category_received_at;
)sql",
    // 8: the duplicate search keeps recent cases in memory
    // (core/duplicates.h); the index only cost every intake its upkeep.
    R"sql(
DROP INDEX cases_near;
)sql",
    // 9: patrols of the cells (core/patrols.h).
    R"sql(
CREATE TABLE patrols (
  id INTEGER PRIMARY KEY,
  cell TEXT NOT NULL,
  patroller INTEGER NOT NULL REFERENCES users(id),
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  lon REAL,
  lat REAL,
  idempotency_key TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (patroller, idempotency_key)
);
CREATE INDEX patrols_cell_started ON patrols(cell, started_at);
CREATE INDEX patrols_started ON patrols(started_at);
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

// Geometry blob of a shape: 'Z', then the packed shape of
// spatial/shape_codec.h: varint parts { varint rings { varint n { zigzag
// varint dx, dy } } }, each vertex as its difference in nanodegrees
// from the vertex before (the first from 0, 0): neighbouring vertices are
// close, so a vertex takes about 6 bytes instead of 16. Older databases hold
// 'S' u32 parts { u32 rings { u32 n { i64 x, i64 y } } }, still read. A
// point is 'P' i64 x, i64 y. Little-endian host order (x86-64).
template <class T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string EncodeShape(const Shape& s) {
  std::string out = "Z";
  spatial::AppendPackedShape(s, out);
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
  // A count of items that take at least one byte each: a damaged blob
  // cannot ask for more than it holds.
  bool Count(uint64_t& n) {
    uint32_t n32;
    if (!Get(n32)) return false;
    n = n32;
    return n <= size_t(end_ - p_);
  }
  // The bytes not read yet.
  std::string_view Rest() const { return {p_, size_t(end_ - p_)}; }

 private:
  const char* p_;
  const char* end_;
};

// `tag` is 'Z' or 'S' (see EncodeShape).
bool DecodeShape(char tag, Reader& r, Shape& s) {
  if (tag == 'Z') return spatial::UnpackShape(r.Rest(), s);
  uint64_t n = 0;
  if (!r.Count(n)) return false;
  s.parts.resize(n);
  for (auto& part : s.parts) {
    if (!r.Count(n)) return false;
    part.rings.resize(n);
    for (auto& ring : part.rings) {
      if (!r.Count(n)) return false;
      ring.resize(n);
      for (Pt& p : ring) {
        if (!r.Get(p.x) || !r.Get(p.y)) return false;
      }
    }
  }
  return true;
}

using AttributeList = std::vector<std::pair<std::string, std::string>>;

bool ReadFlatAttributes(std::string_view text, AttributeList& out);

// A feature's stored attributes into `out`, in key order, each key once
// (the last given wins, as the JSON parser's map had it); false when they
// are unreadable.
bool ReadAttributes(std::string_view text, AttributeList& out) {
  out.clear();
  if (!ReadFlatAttributes(text, out)) {
    try {
      auto parsed =
          nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
      out.assign(parsed.begin(), parsed.end());
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }
  auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (std::adjacent_find(out.begin(), out.end(),
                         [](const auto& a, const auto& b) {
                           return !(a.first < b.first);
                         }) == out.end()) {
    return true;  // as dump() writes them
  }
  std::stable_sort(out.begin(), out.end(), by_key);
  AttributeList kept;
  for (auto& item : out) {
    if (!kept.empty() && kept.back().first == item.first) kept.pop_back();
    kept.push_back(std::move(item));
  }
  out = std::move(kept);
  return true;
}

// One stored feature row, its columns copied out of the statement (code,
// name, attributes, geometry back to back in an arena) so that several
// threads can decode the rows of a large layer.
struct RawFeature {
  size_t at;
  uint32_t code, name, attributes, geometry;  // lengths
};

// What one row decodes to: the polygon or the point feature its geometry's
// tag says (a row of the other kind than its layer's is left out, as it
// always was), or which part is unreadable.
enum class RowKind : uint8_t { kPolygon, kPoint, kBadAttributes, kBadGeometry };

// Decodes a row into `table` if it is a polygon, or into `point`. A packed
// shape ('Z') is checked and copied as it is, never unpacked; an old 'S'
// one is unpacked into `spare` and packed.
RowKind DecodeRow(const char* arena, const RawFeature& raw,
                  AttributeList& attributes,
                  spatial::FeatureTable::Builder& table, PointFeature& point,
                  Shape& spare) {
  const char* p = arena + raw.at;
  std::string_view code(p, raw.code);
  std::string_view name(p + raw.code, raw.name);
  if (!ReadAttributes({p + raw.code + raw.name, raw.attributes}, attributes)) {
    return RowKind::kBadAttributes;
  }
  Reader r(p + raw.code + raw.name + raw.attributes, int(raw.geometry));
  char tag = 0;
  if (!r.Get(tag)) return RowKind::kBadGeometry;
  if (tag == 'Z' || tag == 'S') {
    std::string repacked;
    std::string_view packed = r.Rest();
    if (tag == 'S') {
      if (!DecodeShape(tag, r, spare)) return RowKind::kBadGeometry;
      spatial::AppendPackedShape(spare, repacked);
      packed = repacked;
    }
    spatial::Box bounds;
    size_t size = spatial::ScanPackedShape(packed, bounds);
    if (size == 0) return RowKind::kBadGeometry;
    table.Add(code, name, attributes, packed, size, bounds);
    return RowKind::kPolygon;
  }
  if (tag == 'P') {
    point = PointFeature{.code = std::string(code),
                         .name = std::string(name),
                         .attributes = {attributes.begin(), attributes.end()}};
    if (!r.Get(point.at.x) || !r.Get(point.at.y)) {
      return RowKind::kBadGeometry;
    }
    return RowKind::kPoint;
  }
  return RowKind::kBadGeometry;
}

// Decodes a layer's rows on a thread of its own while the caller steps the
// statement (at 300,000 cells, measured with the rows copied out first and
// decoded after: stepping and copying 0.60 s, decoding 0.51 s on two
// threads); the caller decodes too once it has stepped the last row.
// Batches keep the rows in order.
class RowDecoder {
 public:
  struct Batch {
    std::string arena;  // the rows' columns back to back, until decoded
    std::vector<RawFeature> raws;
    spatial::FeatureTable::Builder table;  // a polygon layer's
    std::vector<PointFeature> points;      // a point layer's
    // The first unreadable row's part (attributes or geometry) and code.
    std::optional<RowKind> bad;
    std::string bad_code;
  };

  RowDecoder(bool polygons, bool threaded) : polygons_(polygons) {
    if (threaded) {
      worker_ = std::thread([this] {
        while (Batch* b = Claim(/*wait=*/true)) Decode(*b);
      });
    }
  }
  // Stops the worker: after Finish, or when a row could not be added (an
  // exception on its way out must not meet another one here).
  ~RowDecoder() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  // Copies the current row's code, name, attributes and geometry.
  void Add(sqlite3_stmt* q) {
    RawFeature raw{.at = current_.arena.size()};
    uint32_t* lengths[] = {&raw.code, &raw.name, &raw.attributes,
                           &raw.geometry};
    for (int column = 1; column <= 4; ++column) {
      // The pointer first, then its length (SQLite's advice).
      const void* bytes =
          column == 4
              ? sqlite3_column_blob(q, 4)
              : static_cast<const void*>(sqlite3_column_text(q, column));
      int size = sqlite3_column_bytes(q, column);
      if (size > 0) {
        current_.arena.append(static_cast<const char*>(bytes), size_t(size));
      }
      *lengths[column - 1] = uint32_t(std::max(size, 0));
    }
    current_.raws.push_back(raw);
    if (current_.raws.size() == kBatchRows) Hand();
  }

  // Decodes what is left, with the worker, and waits for it.
  std::deque<Batch>& Finish() {
    if (!current_.raws.empty()) Hand();
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    while (Batch* b = Claim(/*wait=*/false)) Decode(*b);
    if (worker_.joinable()) worker_.join();
    return batches_;
  }

 private:
  static constexpr size_t kBatchRows = 1024;

  void Hand() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_.push_back(std::move(current_));  // no element moves
      ++ready_;
      current_ = Batch();
      if (!spare_arenas_.empty()) {
        current_.arena = std::move(spare_arenas_.back());
        spare_arenas_.pop_back();
      }
    }
    cv_.notify_one();
  }

  Batch* Claim(bool wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (wait) cv_.wait(lock, [&] { return next_ < ready_ || done_; });
    return next_ < ready_ ? &batches_[next_++] : nullptr;
  }

  void Decode(Batch& b) {
    AttributeList attributes;
    Shape spare;
    PointFeature point;
    if (polygons_) b.table.Reserve(b.raws.size(), b.arena.size());
    for (const RawFeature& raw : b.raws) {
      RowKind kind =
          DecodeRow(b.arena.data(), raw, attributes, b.table, point, spare);
      if (kind == RowKind::kPoint && !polygons_) {
        b.points.push_back(std::move(point));
      } else if ((kind == RowKind::kBadAttributes ||
                  kind == RowKind::kBadGeometry) &&
                 !b.bad) {
        b.bad = kind;
        b.bad_code.assign(b.arena.data() + raw.at, raw.code);
      }
    }
    // Kept for the next batches: a first start at 300,000 cells spent much
    // of its time faulting in fresh memory for them.
    b.raws = std::vector<RawFeature>();
    b.arena.clear();
    std::lock_guard<std::mutex> lock(mu_);
    spare_arenas_.push_back(std::move(b.arena));
  }

  const bool polygons_;
  Batch current_;  // filled by the caller
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> batches_;  // guarded by mu_ while rows are added
  std::vector<std::string> spare_arenas_;  // guarded by mu_
  size_t ready_ = 0, next_ = 0;
  bool done_ = false;
  std::thread worker_;
};

// A feature's attributes as stored: nlohmann's dump() of a map of strings,
// {"key":"value",...} without spaces. Reads that form alone, with the
// escapes dump() writes for quotes, backslashes and \b \f \n \r \t; false
// for anything else (\u escapes, spaces, other values), which the caller
// then hands to the full JSON parser (about 6% of a first start's samples
// at 300,000 cells, by perf).
bool ReadFlatAttributes(std::string_view text, AttributeList& out) {
  size_t i = 0;
  auto string = [&](std::string& s) {
    if (i >= text.size() || text[i] != '"') return false;
    for (++i; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        ++i;
        return true;
      }
      if (uint8_t(c) < 0x20) return false;
      if (c != '\\') {
        s += c;
        continue;
      }
      constexpr std::string_view kEscaped = "\"\\/bfnrt";
      constexpr std::string_view kMeaning = "\"\\/\b\f\n\r\t";
      size_t k = ++i < text.size() ? kEscaped.find(text[i]) : kEscaped.npos;
      if (k == kEscaped.npos) return false;
      s += kMeaning[k];
    }
    return false;
  };
  if (text.size() < 2 || text.front() != '{') return false;
  ++i;
  if (text[i] == '}') return i + 1 == text.size();
  while (true) {
    std::string key, value;
    if (!string(key) || i >= text.size() || text[i++] != ':' ||
        !string(value) || i >= text.size()) {
      return false;
    }
    out.emplace_back(std::move(key), std::move(value));
    char c = text[i++];
    if (c == '}') return i == text.size();
    if (c != ',') return false;
  }
}

// A prepared statement, finalised on destruction.
// Prepared statements kept per connection by their SQL text: preparing
// costs more than running most of wangge's statements. A statement in use
// is taken out of the cache, so nested use of the same SQL prepares a
// second one; at most kMaxIdle are kept (ListCases makes many shapes).
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() { Clear(); }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // A statement for `sql`, or nullptr if it does not compile. Found by its
  // text without copying it (the intake writer takes eight a report).
  sqlite3_stmt* Take(const char* sql) {
    auto it = idle_.find(std::string_view(sql));
    if (it != idle_.end() && !it->second.empty()) {
      sqlite3_stmt* stmt = it->second.back();
      it->second.pop_back();
      --idle_count_;
      return stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    return stmt;
  }
  // Resets `stmt` and keeps it for the next Take() of its SQL.
  void Give(sqlite3_stmt* stmt) {
    if (!stmt) return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (idle_count_ >= kMaxIdle) {
      sqlite3_finalize(stmt);
      return;
    }
    std::string_view sql = sqlite3_sql(stmt);
    auto it = idle_.find(sql);
    if (it == idle_.end()) {
      // Texts built per call (case lists by filter) come and go: forget
      // those with nothing kept before the map grows without bound.
      if (idle_.size() >= kMaxTexts) {
        std::erase_if(idle_, [](const auto& e) { return e.second.empty(); });
      }
      it = idle_.emplace(std::string(sql), std::vector<sqlite3_stmt*>()).first;
    }
    it->second.push_back(stmt);
    ++idle_count_;
  }
  // Finalizes every kept statement (before the connection closes).
  void Clear() {
    for (auto& [sql, stmts] : idle_) {
      for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
    }
    idle_.clear();
    idle_count_ = 0;
  }

 private:
  static constexpr size_t kMaxIdle = 128;
  static constexpr size_t kMaxTexts = 512;
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>()(text);
    }
  };
  sqlite3* db_;
  // Kept statements by their SQL text; entries stay when emptied, so that
  // taking and giving back allocate nothing.
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>, TextHash,
                     std::equal_to<>>
      idle_;
  size_t idle_count_ = 0;
};

class Statement {
 public:
  Statement(StatementCache& cache, const char* sql)
      : cache_(&cache), stmt_(cache.Take(sql)) {}
  ~Statement() { cache_->Give(stmt_); }
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
  StatementCache* cache_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)), stmts_(db) {}
  ~SqliteStore() override {
    stmts_.Clear();  // else sqlite3_close() refuses to close
    sqlite3_close(db_);
  }

  Result<void> Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return Fail(ErrorCode::kUnavailable, path_ + ": " + why);
    }
    return {};
  }

  // Like Exec() for one statement without rows (BEGIN, SAVEPOINT, COMMIT),
  // but parsed once per connection: the case writer runs them per report.
  Result<void> Run(const char* sql) {
    Statement q(stmts_, sql);
    if (!q.ok() || q.Step() != SQLITE_DONE) {
      return Fail(ErrorCode::kUnavailable, path_ + ": " + sqlite3_errmsg(db_));
    }
    return {};
  }

  Error DbError(const std::string& what) {
    int code = sqlite3_errcode(db_) & 0xff;
    std::string advice =
        code == SQLITE_BUSY || code == SQLITE_LOCKED
            ? " — 数据库正忙 / another wangge process (an import, a "
              "backup) held the database for over 5 s; try again when it "
              "is done"
            : "";
    return Error{ErrorCode::kUnavailable,
                 path_ + ": " + what + ": " + sqlite3_errmsg(db_) + advice};
  }

  static constexpr const char* kMmapSize = "PRAGMA mmap_size=268435456";

  Result<void> Configure() {
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000",
          // Pages of the database file are read through a shared mapping,
          // not copied into each connection's cache by pread().
          kMmapSize}) {
      if (auto ok = Exec(pragma); !ok) return ok;
    }
    return {};
  }

  Result<void> Migrate() {
    // Refuse somebody else's database rather than add our tables to it.
    Statement tables(stmts_,
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
    tables.Reset();  // a running statement would lock the schema
    if (auto ok = Exec("CREATE TABLE IF NOT EXISTS schema_version "
                       "(version INTEGER NOT NULL)");
        !ok) {
      return ok;
    }
    Statement read(stmts_,
                   "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!read.ok() || read.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading the schema version"));
    }
    int64_t at = read.Int(0);
    read.Reset();
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
      if (applied &&
          std::string_view(kMigrations[m]).starts_with("-- workflow")) {
        applied = BackfillEventHashes();
      }
      if (applied) {
        Statement mark(stmts_,
                       "INSERT INTO schema_version(version) VALUES (?)");
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

  // Hashes the events of migrated databases, chaining each case's events.
  Result<void> BackfillEventHashes() {
    auto events = AllEvents();
    if (!events) return std::unexpected(events.error());
    Statement u(stmts_,
                "UPDATE case_events SET prev_hash = ?, hash = ? WHERE "
                "case_id = ? AND seq = ?");
    std::string prev;
    int64_t case_id = -1;
    for (CaseEvent& e : *events) {
      if (e.case_id != case_id) prev.clear();
      case_id = e.case_id;
      e.prev_hash = prev;
      e.hash = EventHash(e);
      u.Reset();
      u.Bind(1, e.prev_hash).Bind(2, e.hash).Bind(3, e.case_id).Bind(4, e.seq);
      if (u.Step() != SQLITE_DONE) {
        return std::unexpected(DbError("hashing events"));
      }
      prev = e.hash;
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
    Statement version(stmts_,
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
    Statement layer(stmts_,
                    "INSERT INTO version_layers(version, layer) VALUES (?, ?)");
    Statement feature(stmts_,
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
            .Bind(5, nlohmann::json(attributes)
                         .dump(-1, ' ', false,
                               nlohmann::json::error_handler_t::replace))
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
    Statement config(stmts_,
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
    Statement q(stmts_,
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

  Result<StoredTown> LoadVersion(std::optional<int64_t> version,
                                 bool polygons) override {
    StoredTown town;
    Statement newest(stmts_,
                     "SELECT COALESCE(MAX(number), 0) FROM boundary_versions");
    if (!newest.ok() || newest.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading versions"));
    }
    int64_t latest = newest.Int(0);
    newest.Reset();  // its read transaction would pin the mapped pages
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
    // Each layer as of `version`, then its features in code order straight
    // from the (version, layer, code) key: one query over all layers made
    // SQLite sort every row, geometry included, in a temporary B-tree.
    Statement layers(stmts_,
                     "SELECT layer, MAX(version) FROM version_layers WHERE "
                     "version <= ? GROUP BY layer ORDER BY layer");
    if (!layers.ok()) return std::unexpected(DbError("reading layers"));
    layers.Bind(1, town.version);
    std::vector<std::pair<std::string, int64_t>> stored;
    int rc;
    while ((rc = layers.Step()) == SQLITE_ROW) {
      stored.emplace_back(layers.Text(0), layers.Int(1));
    }
    if (rc != SQLITE_DONE) return std::unexpected(DbError("reading layers"));
    Statement about(stmts_,
                    "SELECT created_at, source, actor, note FROM "
                    "boundary_versions WHERE number = ?");
    if (!about.ok()) return std::unexpected(DbError("reading versions"));
    about.Bind(1, town.version);
    if (about.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading versions"));
    }
    nlohmann::json stamp = {town.version, about.Text(0), about.Text(1),
                            about.Text(2), about.Text(3)};
    about.Reset();
    for (const auto& [layer, from] : stored) stamp.push_back({layer, from});
    town.stamp =
        stamp.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Statement q(stmts_,
                "SELECT layer, code, name, attributes, geometry FROM features "
                "WHERE version = ? AND layer = ? ORDER BY code");
    if (!q.ok()) return std::unexpected(DbError("reading features"));
    Statement count(stmts_,
                    "SELECT COUNT(*) FROM features WHERE version = ? AND "
                    "layer = ?");
    if (!count.ok()) return std::unexpected(DbError("counting features"));
    for (const auto& [stored_layer, stored_version] : stored) {
      if (!polygons && stored_layer != "households" &&
          stored_layer != "shopfronts") {
        continue;
      }
      count.Reset();
      count.Bind(1, stored_version).Bind(2, stored_layer);
      if (count.Step() != SQLITE_ROW) {
        return std::unexpected(DbError("counting features"));
      }
      auto rows = size_t(count.Int(0));
      count.Reset();
      const std::string& layer = stored_layer;
      spatial::FeatureTable* table = layer == "villages" ? &town.tables.villages
                                     : layer == "cells"  ? &town.tables.cells
                                     : layer == "zones"  ? &town.tables.zones
                                                         : nullptr;
      std::vector<PointFeature>* point_list =
          layer == "households"   ? &town.households
          : layer == "shopfronts" ? &town.shopfronts
                                  : nullptr;
      q.Reset();
      q.Bind(1, stored_version).Bind(2, stored_layer);
      RowDecoder decoder(
          /*polygons=*/point_list == nullptr,
          /*threaded=*/rows >= 4096 && std::thread::hardware_concurrency() > 1);
      while ((rc = q.Step()) == SQLITE_ROW) decoder.Add(q.get());
      std::deque<RowDecoder::Batch>& batches = decoder.Finish();
      q.Reset();
      if (rc != SQLITE_DONE) {
        return std::unexpected(DbError("reading features"));
      }
      for (const RowDecoder::Batch& b : batches) {
        if (b.bad) {
          return Fail(
              ErrorCode::kInternal,
              path_ + ": " + layer + " " + b.bad_code +
                  (b.bad == RowKind::kBadAttributes ? ": attributes unreadable"
                                                    : ": geometry unreadable"));
        }
      }
      // A row whose geometry is of the other kind than its layer's is left
      // out, as it always was.
      if (table) {
        std::vector<spatial::FeatureTable::Builder> parts;
        for (RowDecoder::Batch& b : batches)
          parts.push_back(std::move(b.table));
        *table = spatial::FeatureTable::Join(std::move(parts));
      }
      if (point_list) {
        point_list->reserve(rows);
        for (RowDecoder::Batch& b : batches) {
          for (PointFeature& f : b.points) point_list->push_back(std::move(f));
        }
      }
    }
    q.Reset();
    layers.Reset();
    // The features' pages were read through the shared mapping and stay
    // resident while it lasts (200 MiB at 300,000 cells, while the caller
    // builds its index): unmap them; the mapping comes back on demand.
    if (auto ok = Exec("PRAGMA mmap_size=0"); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = Exec(kMmapSize); !ok) return std::unexpected(ok.error());
    return town;
  }

  static constexpr const char* kUserColumns =
      "id, username, role, scope, person, display_name, password_hash, "
      "disabled";

  static User ReadUser(Statement& q) {
    return User{q.Int(0),  q.Text(1), q.Text(2), q.Text(3),
                q.Text(4), q.Text(5), q.Text(6), q.Int(7) != 0};
  }

  Result<int64_t> AddUser(const User& u) override {
    Statement q(stmts_,
                "INSERT INTO users(username, role, scope, person, "
                "display_name, password_hash, disabled) VALUES "
                "(?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, u.username).Bind(2, u.role).Bind(3, u.scope).Bind(4, u.person);
    q.Bind(5, u.display_name)
        .Bind(6, u.password_hash)
        .Bind(7, int64_t(u.disabled));
    int rc = q.Step();
    if (rc == SQLITE_CONSTRAINT) {
      return Fail(ErrorCode::kConflict,
                  "user " + u.username +
                      " already exists; choose another "
                      "username or use wangge user passwd",
                  "username");
    }
    if (rc != SQLITE_DONE) return std::unexpected(DbError("adding a user"));
    return sqlite3_last_insert_rowid(db_);
  }

  Result<User> FindUserWhere(const char* where, auto bind) {
    std::string sql =
        std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where;
    Statement q(stmts_, sql.c_str());
    bind(q);
    if (q.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound, "no such user", "username");
    }
    return ReadUser(q);
  }

  Result<User> FindUser(const std::string& username) override {
    return FindUserWhere("username = ?",
                         [&](Statement& q) { q.Bind(1, username); });
  }

  Result<User> FindUserById(int64_t id) override {
    return FindUserWhere("id = ?", [&](Statement& q) { q.Bind(1, id); });
  }

  Result<std::vector<User>> Users() override {
    std::string sql =
        std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id";
    Statement q(stmts_, sql.c_str());
    std::vector<User> out;
    while (q.Step() == SQLITE_ROW) out.push_back(ReadUser(q));
    return out;
  }

  Result<void> UpdateUser(const User& u) override {
    Statement q(stmts_,
                "UPDATE users SET role = ?, scope = ?, password_hash = ?, "
                "disabled = ? WHERE id = ?");
    q.Bind(1, u.role).Bind(2, u.scope).Bind(3, u.password_hash);
    q.Bind(4, int64_t(u.disabled)).Bind(5, u.id);
    if (q.Step() != SQLITE_DONE) {
      return std::unexpected(DbError("updating user " + u.username));
    }
    if (u.disabled) {
      Statement t(stmts_, "DELETE FROM tokens WHERE user_id = ?");
      t.Bind(1, u.id);
      t.Step();
    }
    return {};
  }

  Result<void> AddToken(const std::string& hash, int64_t user,
                        const std::string& expires_at) override {
    Statement q(
        stmts_,
        "INSERT INTO tokens(hash, user_id, expires_at) VALUES (?, ?, ?)");
    q.Bind(1, hash).Bind(2, user).Bind(3, expires_at);
    if (q.Step() != SQLITE_DONE)
      return std::unexpected(DbError("adding a token"));
    return {};
  }

  Result<User> UserForToken(const std::string& hash,
                            const std::string& now) override {
    std::string sql = std::string("SELECT u.") +
                      "id, u.username, u.role, u.scope, u.person, "
                      "u.display_name, u.password_hash, u.disabled FROM "
                      "tokens t JOIN users u ON u.id = t.user_id WHERE "
                      "t.hash = ? AND t.expires_at > ? AND u.disabled = 0";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, hash).Bind(2, now);
    if (q.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound, "token unknown or expired");
    }
    return ReadUser(q);
  }

  Result<void> DeleteToken(const std::string& hash) override {
    Statement q(stmts_, "DELETE FROM tokens WHERE hash = ?");
    q.Bind(1, hash);
    if (q.Step() != SQLITE_DONE) return std::unexpected(DbError("logout"));
    return {};
  }

  static constexpr const char* kInsertColumns =
      "id, number, status, category, description, address, lon, lat, "
      "accuracy_m, reported_at, received_at, reporter, idempotency_key, "
      "request_hash, cell, village, branch, office, outside, "
      "boundary_version, accept_by, handle_by, level, assignment";
  // kInsertColumns and the workflow columns.
  static constexpr const char* kCaseColumns =
      "id, number, status, category, description, address, lon, lat, "
      "accuracy_m, reported_at, received_at, reporter, idempotency_key, "
      "request_hash, cell, village, branch, office, outside, "
      "boundary_version, accept_by, handle_by, level, assignment, version, "
      "assignee, rework_count, evaluation, co_offices, overdue, "
      "extension_hours, duplicate_of";

  static CaseRecord ReadCase(Statement& q) {
    CaseRecord c;
    c.id = q.Int(0);
    c.number = q.Text(1);
    c.status = q.Text(2);
    c.category = q.Text(3);
    c.description = q.Text(4);
    c.address = q.Text(5);
    c.lon = sqlite3_column_double(q.get(), 6);
    c.lat = sqlite3_column_double(q.get(), 7);
    c.accuracy_m = sqlite3_column_double(q.get(), 8);
    c.reported_at = q.Text(9);
    c.received_at = q.Text(10);
    c.reporter = q.Int(11);
    c.idempotency_key = q.Text(12);
    c.request_hash = q.Text(13);
    c.cell = q.Text(14);
    c.village = q.Text(15);
    c.branch = q.Text(16);
    c.office = q.Text(17);
    c.outside = q.Int(18) != 0;
    c.boundary_version = q.Int(19);
    c.accept_by = q.Text(20);
    c.handle_by = q.Text(21);
    c.level = q.Text(22);
    c.assignment = q.Text(23);
    c.version = q.Int(24);
    c.assignee = q.Int(25);
    c.rework_count = q.Int(26);
    c.evaluation = q.Text(27);
    c.co_offices = q.Text(28);
    c.overdue = q.Int(29) != 0;
    c.extension_hours = sqlite3_column_double(q.get(), 30);
    c.duplicate_of = q.Int(31);
    return c;
  }

  Result<CaseRecord> CaseByKey(int64_t reporter, const std::string& key) {
    std::string sql = std::string("SELECT ") + kCaseColumns +
                      " FROM cases WHERE reporter = ? AND idempotency_key = ?";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, reporter).Bind(2, key);
    if (q.Step() != SQLITE_ROW) return Fail(ErrorCode::kNotFound, "no case");
    return ReadCase(q);
  }

  Result<Inserted> InsertCase(const CaseRecord& c,
                              const CaseEvent& first) override {
    auto all = InsertCases({{c, first}});
    return all.front();
  }

  std::vector<Result<Inserted>> InsertCases(
      const std::vector<NewCase>& cases) override {
    std::vector<Result<Inserted>> out;
    if (auto ok = Run("BEGIN IMMEDIATE"); !ok) {
      out.assign(cases.size(), std::unexpected(ok.error()));
      return out;
    }
    // Read here, in the transaction, it costs no locking of its own (the
    // case writer wants it after every batch).
    auto version = DataVersion();
    // Each case in a savepoint: a refused one leaves the others in.
    for (const NewCase& n : cases) {
      if (auto ok = Run("SAVEPOINT one"); !ok) {
        out.push_back(std::unexpected(ok.error()));
        continue;
      }
      out.push_back(InsertOne(n.record, n.first));
      if (!out.back()) (void)Run("ROLLBACK TO one");
      (void)Run("RELEASE one");
    }
    if (auto ok = Run("COMMIT"); !ok) {
      (void)Exec("ROLLBACK");
      out.assign(cases.size(), std::unexpected(ok.error()));
    }
    for (auto& r : out) {
      if (r && version) r->data_version = *version;
    }
    return out;
  }

  // Inside a transaction.
  Result<Inserted> InsertOne(const CaseRecord& c, const CaseEvent& first) {
    auto done = [](Result<Inserted> r) { return r; };
    if (auto existing = CaseByKey(c.reporter, c.idempotency_key)) {
      return done(Inserted{*existing, true});
    }
    // Numbers count per day of receipt: TY-20261130-0007.
    std::string day = c.received_at.substr(0, 10);
    Statement count(stmts_,
                    "INSERT INTO case_counters(day, n) VALUES (?, 1) ON "
                    "CONFLICT(day) DO UPDATE SET n = n + 1 RETURNING n - 1");
    count.Bind(1, day);
    if (count.Step() != SQLITE_ROW)
      return done(std::unexpected(DbError("numbering")));
    char number[48];
    std::snprintf(number, sizeof number, "TY-%s%s%s-%04lld",
                  day.substr(0, 4).c_str(), day.substr(5, 2).c_str(),
                  day.substr(8, 2).c_str(), (long long)count.Int(0) + 1);
    static const std::string sql =
        std::string("INSERT INTO cases(") +
        std::string(kInsertColumns).substr(4) +
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?)";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, std::string(number)).Bind(2, c.status).Bind(3, c.category);
    q.Bind(4, c.description).Bind(5, c.address);
    sqlite3_bind_double(q.get(), 6, c.lon);
    sqlite3_bind_double(q.get(), 7, c.lat);
    sqlite3_bind_double(q.get(), 8, c.accuracy_m);
    q.Bind(9, c.reported_at).Bind(10, c.received_at).Bind(11, c.reporter);
    q.Bind(12, c.idempotency_key).Bind(13, c.request_hash).Bind(14, c.cell);
    q.Bind(15, c.village).Bind(16, c.branch).Bind(17, c.office);
    q.Bind(18, int64_t(c.outside)).Bind(19, c.boundary_version);
    q.Bind(20, c.accept_by).Bind(21, c.handle_by).Bind(22, c.level);
    q.Bind(23, c.assignment);
    if (q.Step() != SQLITE_DONE)
      return done(std::unexpected(DbError("storing a case")));
    int64_t id = sqlite3_last_insert_rowid(db_);
    CaseEvent event = first;
    event.case_id = id;
    event.seq = 1;
    event.prev_hash.clear();
    if (auto ok = InsertEvent(event); !ok) {
      return done(std::unexpected(ok.error()));
    }
    CaseRecord stored = c;
    stored.id = id;
    stored.number = number;
    stored.version = 1;
    return done(Inserted{stored, false});
  }

  Result<void> AutoCheckpoint(bool on) override {
    log_pages_ = 0;
    // Either replaces the hook of the other (SQLite's automatic checkpoint
    // is a commit hook of the same kind).
    if (auto ok = Exec(on ? "PRAGMA wal_autocheckpoint=1000"
                          : "PRAGMA wal_autocheckpoint=0");
        !ok || on) {
      return ok;
    }
    sqlite3_wal_hook(
        db_,
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<SqliteStore*>(self)->log_pages_ = pages;
          return SQLITE_OK;
        },
        this);
    return {};
  }

  int64_t LogPages() const override { return log_pages_; }

  Result<int64_t> CacheMiB(int64_t mib) override {
    if (mib < 1 || mib > 4096) {
      return Fail(ErrorCode::kInvalidArgument,
                  "a page cache of 1-4096 MiB, not " + std::to_string(mib));
    }
    // Negative: KiB rather than pages.
    std::string set = "PRAGMA cache_size=-" + std::to_string(mib * 1024);
    if (auto ok = Exec(set.c_str()); !ok) return std::unexpected(ok.error());
    Statement q(stmts_, "PRAGMA cache_size");
    if (!q.ok() || q.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading the cache size"));
    }
    return -q.Int(0) / 1024;  // as set: negative, in KiB
  }

  Result<int64_t> DataVersion() override {
    Statement q(stmts_, "PRAGMA data_version");
    if (!q.ok() || q.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading the data version"));
    }
    return q.Int(0);
  }

  Result<int64_t> Checkpoint() override {
    int log = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log, nullptr);
    if (rc == SQLITE_BUSY) return 0;
    if (rc != SQLITE_OK) return std::unexpected(DbError("checkpoint"));
    return std::max(log, 0);
  }

  Result<void> SyncDatabaseFile() override {
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
            SQLITE_OK ||
        !file || !file->pMethods) {
      return Fail(ErrorCode::kInternal, "no database file to sync");
    }
    if (int rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
        rc != SQLITE_OK) {
      return Fail(ErrorCode::kUnavailable,
                  "syncing the database file failed (SQLite error " +
                      std::to_string(rc) + "): is the disk full or failing?");
    }
    return {};
  }

  Result<CaseRecord> GetCase(int64_t id) override {
    std::string sql =
        std::string("SELECT ") + kCaseColumns + " FROM cases WHERE id = ?";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, id);
    if (q.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound,
                  "case " + std::to_string(id) + " does not exist", "id");
    }
    return ReadCase(q);
  }

  Result<std::vector<CaseRecord>> ListCases(const CaseFilter& f) override {
    std::vector<CaseRecord> out;
    auto ok = SelectCases(f, kCaseColumns,
                          [&](Statement& q) { out.push_back(ReadCase(q)); });
    if (!ok) return std::unexpected(ok.error());
    return out;
  }

  Result<std::vector<CaseBrief>> ListBriefs(const CaseFilter& f) override {
    std::vector<CaseBrief> out;
    auto ok =
        SelectCases(f, "id, number, status, lon, lat, category, received_at",
                    [&](Statement& q) {
                      out.push_back({.id = q.Int(0),
                                     .number = q.Text(1),
                                     .status = q.Text(2),
                                     .lon = sqlite3_column_double(q.get(), 3),
                                     .lat = sqlite3_column_double(q.get(), 4),
                                     .category = q.Text(5),
                                     .received_at = q.Text(6)});
                    });
    if (!ok) return std::unexpected(ok.error());
    return out;
  }

  Result<std::vector<CaseBrief>> Briefs(
      const std::vector<int64_t>& ids) override {
    // Up to 32 ids a statement: outside a transaction each statement takes
    // a read snapshot of its own.
    constexpr size_t kPerStatement = 32;
    static const std::string sql = [] {
      std::string s =
          "SELECT id, number, status, lon, lat FROM cases WHERE id IN (?1";
      for (size_t k = 2; k <= kPerStatement; ++k)
        s += ", ?" + std::to_string(k);
      return s + ")";
    }();
    std::unordered_map<int64_t, CaseBrief> found;
    for (size_t at = 0; at < ids.size(); at += kPerStatement) {
      Statement q(stmts_, sql.c_str());
      if (!q.ok()) return std::unexpected(DbError("reading cases"));
      for (size_t k = 0; k < kPerStatement; ++k) {
        q.Bind(int(k + 1), ids[std::min(at + k, ids.size() - 1)]);
      }
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) {
        int64_t id = q.Int(0);
        found[id] = {.id = id,
                     .number = q.Text(1),
                     .status = q.Text(2),
                     .lon = sqlite3_column_double(q.get(), 3),
                     .lat = sqlite3_column_double(q.get(), 4)};
      }
      if (rc != SQLITE_DONE) return std::unexpected(DbError("reading cases"));
    }
    std::vector<CaseBrief> out;
    for (int64_t id : ids) {
      auto it = found.find(id);
      if (it != found.end()) out.push_back(it->second);
    }
    return out;
  }

  // The cases `f` selects, newest first, as `columns`; `row` reads each.
  template <class Row>
  Result<void> SelectCases(const CaseFilter& f, const char* columns,
                           Row&& row) {
    // Only the conditions in use, so that SQLite can pick an index (an
    // "(?1 = '' OR status = ?1)" form defeats them); fixed fragments, values
    // always bound, never spliced.
    std::string where = "1";
    auto add = [&](bool on, const char* condition) {
      if (on) where += std::string(" AND ") + condition;
    };
    add(!f.status.empty(), "status = ?1");
    add(!f.category.empty(), "category = ?2");
    add(!f.village.empty(), "village = ?3");
    add(!f.cell.empty(), "cell = ?4");
    add(!f.branch.empty(), "branch = ?5");
    add(!f.office.empty(), "office = ?6");
    add(f.reach.has_value(),
        "((?7 > 0 AND (reporter = ?7 OR assignee = ?7)) OR "
        "(?8 <> '' AND instr(?8, ',' || cell || ',') > 0) OR "
        "(?21 <> '' AND (office = ?21 OR (json_valid(co_offices) AND EXISTS "
        "(SELECT 1 FROM json_each(co_offices) WHERE json_extract(value, "
        "'$.code') = ?21)) OR (json_valid(assignment) AND EXISTS (SELECT 1 "
        "FROM json_each(assignment, '$.offices') WHERE json_extract(value, "
        "'$.code') = ?21)))))");
    add(!f.text.empty(),
        "(instr(description, ?11) > 0 OR instr(address, ?11) > 0)");
    add(f.bbox.has_value(),
        "?12 = 1 AND lon >= ?13 AND lat >= ?14 AND lon <= ?15 AND lat <= ?16");
    add(!f.received_from.empty(), "received_at >= ?17");
    add(!f.received_to.empty(), "received_at < ?18");
    add(!f.overdue_at.empty(),
        "handle_by < ?19 AND status NOT IN ('closed', 'rejected')");
    std::string sql = std::string("SELECT ") + columns + " FROM cases WHERE " +
                      where +
                      " AND ?20 = 20 ORDER BY id DESC LIMIT ?9 OFFSET ?10";
    Statement q(stmts_, sql.c_str());
    if (!q.ok()) return std::unexpected(DbError("listing cases"));
    std::string cells;
    if (f.reach && !f.reach->cells.empty()) {
      cells = ",";
      for (const auto& c : f.reach->cells) cells += c + ",";
    }
    q.Bind(1, f.status).Bind(2, f.category).Bind(3, f.village).Bind(4, f.cell);
    q.Bind(5, f.branch).Bind(6, f.office);
    q.Bind(7, f.reach ? f.reach->user : int64_t(0));
    q.Bind(8, cells).Bind(9, f.limit).Bind(10, f.offset).Bind(11, f.text);
    q.Bind(12, int64_t(f.bbox.has_value()));
    for (int k = 0; k < 4; ++k) {
      sqlite3_bind_double(q.get(), 13 + k, f.bbox ? (*f.bbox)[k] : 0.0);
    }
    q.Bind(17, f.received_from).Bind(18, f.received_to).Bind(19, f.overdue_at);
    q.Bind(20, int64_t(20));  // makes every index 1..21 a valid parameter
    q.Bind(21, f.reach ? f.reach->office : std::string());
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) row(q);
    if (rc != SQLITE_DONE) return std::unexpected(DbError("listing cases"));
    return {};
  }

  Result<std::vector<CaseEvent>> Events(int64_t case_id) override {
    return ReadEvents("WHERE case_id = ? ORDER BY seq", case_id);
  }

  Result<std::vector<CaseEvent>> AllEvents() override {
    return ReadEvents("WHERE ? >= 0 ORDER BY case_id, seq", 0);
  }

  Result<std::vector<CaseEvent>> ReadEvents(const std::string& where,
                                            int64_t arg) {
    std::string sql =
        "SELECT case_id, seq, actor, at, from_status, to_status, note, "
        "action, details, prev_hash, hash FROM case_events " +
        where;
    Statement q(stmts_, sql.c_str());
    if (!q.ok()) return std::unexpected(DbError("reading events"));
    q.Bind(1, arg);
    std::vector<CaseEvent> out;
    while (q.Step() == SQLITE_ROW) {
      out.push_back({q.Int(0), q.Int(1), q.Int(2), q.Text(3), q.Text(4),
                     q.Text(5), q.Text(6), q.Text(7), q.Text(8), q.Text(9),
                     q.Text(10)});
    }
    return out;
  }

  // Inserts `e` with its hash over its content and e.prev_hash.
  Result<void> InsertEvent(CaseEvent& e) {
    e.hash = EventHash(e);
    Statement q(stmts_,
                "INSERT INTO case_events(case_id, seq, actor, at, from_status, "
                "to_status, note, action, details, prev_hash, hash) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, e.case_id).Bind(2, e.seq).Bind(3, e.actor).Bind(4, e.at);
    q.Bind(5, e.from).Bind(6, e.to).Bind(7, e.note).Bind(8, e.action);
    q.Bind(9, e.details).Bind(10, e.prev_hash).Bind(11, e.hash);
    if (q.Step() != SQLITE_DONE) {
      return std::unexpected(DbError("storing an event"));
    }
    return {};
  }

  Result<CaseRecord> AppendEvents(const CaseRecord& updated,
                                  int64_t expected_version,
                                  std::vector<CaseEvent> events) override {
    if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) {
      return std::unexpected(ok.error());
    }
    auto result = WriteEvents(updated, expected_version, events);
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

  Result<CaseRecord> WriteEvents(const CaseRecord& updated,
                                 int64_t expected_version,
                                 std::vector<CaseEvent>& events) {
    Statement last(stmts_,
                   "SELECT c.version, COALESCE((SELECT hash FROM case_events "
                   "WHERE case_id = c.id ORDER BY seq DESC LIMIT 1), '') "
                   "FROM cases c WHERE c.id = ?");
    last.Bind(1, updated.id);
    if (last.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound,
                  "case " + std::to_string(updated.id) + " does not exist",
                  "id");
    }
    int64_t version = last.Int(0);
    if (version != expected_version) {
      return Fail(ErrorCode::kConflict,
                  "case " + updated.number +
                      " was changed by someone else meanwhile (version " +
                      std::to_string(expected_version) + ", now " +
                      std::to_string(version) + "); reload it and decide again",
                  "version");
    }
    std::string prev = last.Text(1);
    for (CaseEvent& e : events) {
      e.case_id = updated.id;
      e.seq = ++version;
      e.prev_hash = prev;
      if (auto ok = InsertEvent(e); !ok) return std::unexpected(ok.error());
      prev = e.hash;
    }
    Statement u(stmts_,
                "UPDATE cases SET status = ?, accept_by = ?, handle_by = ?, "
                "level = ?, version = ?, assignee = ?, rework_count = ?, "
                "evaluation = ?, co_offices = ?, overdue = ?, "
                "extension_hours = ?, duplicate_of = ? WHERE id = ?");
    u.Bind(1, updated.status).Bind(2, updated.accept_by);
    u.Bind(3, updated.handle_by).Bind(4, updated.level).Bind(5, version);
    u.Bind(6, updated.assignee).Bind(7, updated.rework_count);
    u.Bind(8, updated.evaluation).Bind(9, updated.co_offices);
    u.Bind(10, int64_t(updated.overdue));
    sqlite3_bind_double(u.get(), 11, updated.extension_hours);
    u.Bind(12, updated.duplicate_of).Bind(13, updated.id);
    if (u.Step() != SQLITE_DONE) {
      return std::unexpected(DbError("updating case " + updated.number));
    }
    CaseRecord stored = updated;
    stored.version = version;
    return stored;
  }

  Result<std::map<std::string, int64_t>> CountCasesByStatus() override {
    Statement q(stmts_, "SELECT status, COUNT(*) FROM cases GROUP BY status");
    std::map<std::string, int64_t> out;
    while (q.Step() == SQLITE_ROW) out[q.Text(0)] = q.Int(1);
    return out;
  }

  static constexpr const char* kAttachmentColumns =
      "id, case_id, sha256, mime, bytes, width, height, orientation, lon, "
      "lat, uploaded_by, uploaded_at";

  static Attachment ReadAttachment(Statement& q) {
    auto opt_int = [&](int col) -> std::optional<int64_t> {
      if (sqlite3_column_type(q.get(), col) == SQLITE_NULL) return std::nullopt;
      return q.Int(col);
    };
    auto opt_real = [&](int col) -> std::optional<double> {
      if (sqlite3_column_type(q.get(), col) == SQLITE_NULL) return std::nullopt;
      return sqlite3_column_double(q.get(), col);
    };
    Attachment a;
    a.id = q.Int(0);
    a.case_id = q.Int(1);
    a.sha256 = q.Text(2);
    a.mime = q.Text(3);
    a.bytes = q.Int(4);
    a.width = opt_int(5);
    a.height = opt_int(6);
    a.orientation = q.Int(7);
    a.lon = opt_real(8);
    a.lat = opt_real(9);
    a.uploaded_by = q.Int(10);
    a.uploaded_at = q.Text(11);
    return a;
  }

  Result<AddedAttachment> AddAttachment(const Attachment& a) override {
    // One statement: the UNIQUE (case_id, sha256) makes a repeat a no-op.
    std::string sql = std::string("INSERT INTO attachments(") +
                      std::string(kAttachmentColumns).substr(4) +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON "
                      "CONFLICT (case_id, sha256) DO NOTHING";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, a.case_id).Bind(2, a.sha256).Bind(3, a.mime).Bind(4, a.bytes);
    auto bind_int = [&](int i, std::optional<int64_t> v) {
      if (v) q.Bind(i, *v);  // unbound parameters are NULL
    };
    auto bind_real = [&](int i, std::optional<double> v) {
      if (v) sqlite3_bind_double(q.get(), i, *v);
    };
    bind_int(5, a.width);
    bind_int(6, a.height);
    q.Bind(7, a.orientation);
    bind_real(8, a.lon);
    bind_real(9, a.lat);
    q.Bind(10, a.uploaded_by).Bind(11, a.uploaded_at);
    int rc = q.Step();
    if (rc == SQLITE_CONSTRAINT) {
      return Fail(ErrorCode::kNotFound,
                  "case " + std::to_string(a.case_id) + " does not exist",
                  "id");
    }
    if (rc != SQLITE_DONE) {
      return std::unexpected(DbError("storing an attachment"));
    }
    bool added = sqlite3_changes(db_) > 0;
    std::string read = std::string("SELECT ") + kAttachmentColumns +
                       " FROM attachments WHERE case_id = ? AND sha256 = ?";
    Statement r(stmts_, read.c_str());
    r.Bind(1, a.case_id).Bind(2, a.sha256);
    if (r.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading back an attachment"));
    }
    return AddedAttachment{ReadAttachment(r), !added};
  }

  static constexpr const char* kPatrolColumns =
      "id, cell, patroller, started_at, ended_at, note, lon, lat, "
      "idempotency_key, recorded_at";

  static PatrolRecord ReadPatrol(Statement& q) {
    auto opt_real = [&](int col) -> std::optional<double> {
      if (sqlite3_column_type(q.get(), col) == SQLITE_NULL) return std::nullopt;
      return sqlite3_column_double(q.get(), col);
    };
    return PatrolRecord{.id = q.Int(0),
                        .cell = q.Text(1),
                        .patroller = q.Int(2),
                        .started_at = q.Text(3),
                        .ended_at = q.Text(4),
                        .note = q.Text(5),
                        .lon = opt_real(6),
                        .lat = opt_real(7),
                        .idempotency_key = q.Text(8),
                        .recorded_at = q.Text(9)};
  }

  Result<AddedPatrol> AddPatrol(const PatrolRecord& p) override {
    // One statement: the UNIQUE (patroller, key) makes a repeat a no-op.
    std::string sql = std::string("INSERT INTO patrols(") +
                      std::string(kPatrolColumns).substr(4) +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                      "(patroller, idempotency_key) DO NOTHING";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, p.cell).Bind(2, p.patroller).Bind(3, p.started_at);
    q.Bind(4, p.ended_at).Bind(5, p.note);
    if (p.lon && p.lat) {
      sqlite3_bind_double(q.get(), 6, *p.lon);
      sqlite3_bind_double(q.get(), 7, *p.lat);
    }
    q.Bind(8, p.idempotency_key).Bind(9, p.recorded_at);
    if (int rc = q.Step(); rc != SQLITE_DONE) {
      return std::unexpected(DbError("storing a patrol"));
    }
    bool added = sqlite3_changes(db_) > 0;
    std::string read = std::string("SELECT ") + kPatrolColumns +
                       " FROM patrols WHERE patroller = ? AND "
                       "idempotency_key = ?";
    Statement r(stmts_, read.c_str());
    r.Bind(1, p.patroller).Bind(2, p.idempotency_key);
    if (r.Step() != SQLITE_ROW) {
      return std::unexpected(DbError("reading back a patrol"));
    }
    return AddedPatrol{ReadPatrol(r), !added};
  }

  Result<std::vector<PatrolRecord>> ListPatrols(
      const PatrolFilter& f) override {
    std::string sql =
        std::string("SELECT ") + kPatrolColumns + " FROM patrols WHERE 1";
    if (!f.cells.empty()) {
      sql += " AND cell IN (";
      for (size_t i = 0; i < f.cells.size(); ++i) sql += i ? ", ?" : "?";
      sql += ")";
    }
    if (f.patroller) sql += " AND patroller = ?";
    if (!f.from.empty()) sql += " AND started_at >= ?";
    if (!f.to.empty()) sql += " AND started_at < ?";
    sql += " ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?";
    Statement q(stmts_, sql.c_str());
    int i = 0;
    for (const auto& cell : f.cells) q.Bind(++i, cell);
    if (f.patroller) q.Bind(++i, f.patroller);
    if (!f.from.empty()) q.Bind(++i, f.from);
    if (!f.to.empty()) q.Bind(++i, f.to);
    q.Bind(i + 1, f.limit).Bind(i + 2, f.offset);
    std::vector<PatrolRecord> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadPatrol(q));
    if (rc != SQLITE_DONE) return std::unexpected(DbError("listing patrols"));
    return out;
  }

  Result<std::map<std::string, std::string>> LastPatrols(
      const std::string& before) override {
    Statement q(stmts_,
                "SELECT cell, MAX(started_at) FROM patrols WHERE started_at < "
                "? GROUP BY cell");
    q.Bind(1, before);
    std::map<std::string, std::string> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out[q.Text(0)] = q.Text(1);
    if (rc != SQLITE_DONE) {
      return std::unexpected(DbError("reading the last patrols"));
    }
    return out;
  }

  Result<std::vector<Attachment>> Attachments(int64_t case_id) override {
    std::string sql = std::string("SELECT ") + kAttachmentColumns +
                      " FROM attachments WHERE case_id = ? ORDER BY id";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, case_id);
    std::vector<Attachment> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadAttachment(q));
    if (rc != SQLITE_DONE) {
      return std::unexpected(DbError("listing attachments"));
    }
    return out;
  }

  Result<Attachment> GetAttachment(int64_t id) override {
    std::string sql = std::string("SELECT ") + kAttachmentColumns +
                      " FROM attachments WHERE id = ?";
    Statement q(stmts_, sql.c_str());
    q.Bind(1, id);
    if (q.Step() != SQLITE_ROW) {
      return Fail(ErrorCode::kNotFound,
                  "attachment " + std::to_string(id) + " does not exist", "id");
    }
    return ReadAttachment(q);
  }

  Result<std::string> ConfigFile(const std::string& name) override {
    Statement q(stmts_, "SELECT content FROM config_files WHERE name = ?");
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
  StatementCache stmts_;
  int64_t log_pages_ = 0;  // from the commit hook, with AutoCheckpoint(false)
};

Result<std::unique_ptr<Store>> OpenAt(const std::string& path, int flags) {
  // Memory statistics take a global mutex on every allocation; wangge
  // never reads them. Must precede SQLite's initialisation (else ignored).
  static const int kNoMemStatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // A savepoint's journal (one per case in an intake batch, 40-70 KiB) in
  // memory up to 4 MiB, not in a temporary file past SQLite's 64 KiB.
  static const int kStatementJournal =
      sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
  (void)kNoMemStatus;
  (void)kStatementJournal;
  sqlite3* db = nullptr;
  // A Store is used by one thread at a time: no per-connection mutex.
  flags |= SQLITE_OPEN_NOMUTEX;
  // Each commit's log frames in one write (core/sqlite_wal_vfs.h).
  if (sqlite3_open_v2(path.c_str(), &db, flags, WalBufferVfs()) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Fail(ErrorCode::kUnavailable, path + ": cannot open (" + why + ")");
  }
  auto store = std::make_unique<SqliteStore>(db, path);
  if (auto ok = store->Configure(); !ok) {
    int code = sqlite3_errcode(db) & 0xff;
    if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN ||
        code == SQLITE_PERM) {
      return Fail(ErrorCode::kUnavailable,
                  path +
                      ": 无写权限 / cannot be written by this user: the file "
                      "and its folder must be writable (SQLite's write-ahead "
                      "log puts -wal and -shm files beside it); check their "
                      "owner and mode, e.g. chown them to the user running "
                      "wangge (" +
                      ok.error().message + ")");
    }
    return std::unexpected(
        Error{ErrorCode::kInvalidArgument,
              path + " is not a wangge database (" + ok.error().message + ")"});
  }
  if (auto ok = store->Migrate(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace

Result<StoredTown> Store::LoadLayers(std::optional<int64_t> version) {
  auto town = LoadVersion(version, /*polygons=*/true);
  if (!town) return town;
  for (auto [from, to] :
       {std::pair{&town->tables.villages, &town->layers.villages},
        std::pair{&town->tables.cells, &town->layers.cells},
        std::pair{&town->tables.zones, &town->layers.zones}}) {
    to->resize(from->size());
    ParallelRanges(from->size(), 4096, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) (*to)[i] = from->feature(i);
    });
    *from = spatial::FeatureTable();
  }
  return town;
}

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
