#pragma once
// Store: the town's durable state — boundary versions with their layers, and
// the configuration files — behind one interface. SQLite today
// (core/sqlite_store.cpp, WAL, foreign keys on, synchronous=FULL, numbered
// migrations); PostgreSQL later behind the same interface.
//
// Boundary versions: every accepted import is a new version (number, time,
// source file, who, layers). A version holds the complete contents of each
// layer it provides; the layers "at version N" are, per layer, those of the
// newest version <= N that provides it. Version 1 comes from `wangge init`
// and provides every layer. Adding a version is all-or-nothing: any failure
// leaves the database as it was.
//
// A Store is used from one thread at a time; open one per thread.
//
//   auto store = Store::Create("town.db");           // kConflict if it exists
//   auto v = (*store)->AddVersion(input);            // -> 1
//   auto town = (*store)->LoadLayers(std::nullopt);  // the newest version

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "spatial/feature.h"
#include "spatial/feature_table.h"

namespace wangge::core {

// The contents of one layer in a version: polygons for villages, cells and
// zones; points for households and shopfronts.
struct LayerContents {
  std::string
      layer;  // "villages", "cells", "zones", "households", "shopfronts"
  std::vector<spatial::Feature> polygons;
  std::vector<spatial::PointFeature> points;
};

struct VersionInput {
  std::string source;  // file the boundaries came from
  std::string actor;   // who imported them
  std::string note;
  std::vector<LayerContents> layers;
  // Configuration files (name -> text) to store or replace, e.g. on init.
  std::map<std::string, std::string> config_files;
};

struct BoundaryVersion {
  int64_t number = 0;
  std::string created_at;  // ISO 8601, UTC
  std::string source;
  std::string actor;
  std::string note;
  std::vector<std::string> layers;  // the layers this version provides
};

struct StoredTown {
  int64_t version = 0;
  // Names what the version was made from in this database (its number, its
  // time, source and note, and the versions its layers come from): an index
  // built from the version may be reused while its stamp stays the same.
  std::string stamp;
  // Villages, cells and zones as LoadVersion hands them over: packed, as
  // stored (a first start at 300,000 cells spent most of its time unpacking
  // and packing them again). LoadLayers unpacks them into `layers`.
  spatial::LayerTables tables;
  spatial::Layers layers;
  std::vector<spatial::PointFeature> households;
  std::vector<spatial::PointFeature> shopfronts;
};

// An account. `person` links it to people.json (a grid leader's cells, a
// branch member's branch); `scope` is what it may see: a branch code, an
// office code, or "" for the town.
struct User {
  int64_t id = 0;
  std::string username;
  std::string role;  // grid_leader branch office dispatcher leader gis admin
  std::string scope;
  std::string person;
  std::string display_name;
  std::string password_hash;  // Argon2id, libsodium's encoded string
  bool disabled = false;
};

// One report/case as stored. `assignment` is the routing result as JSON.
struct CaseRecord {
  int64_t id = 0;
  std::string number;  // human-friendly, e.g. "TY-20261130-0007"
  std::string status;  // reported, accepted, ...
  std::string category;
  std::string description;
  std::string address;
  double lon = 0;
  double lat = 0;
  double accuracy_m = -1;   // -1: not given
  std::string reported_at;  // ISO 8601 with offset
  std::string received_at;
  int64_t reporter = 0;  // user id
  std::string idempotency_key;
  std::string request_hash;
  std::string cell;
  std::string village;
  std::string branch;
  std::string office;  // the first office of the assignment
  bool outside = false;
  int64_t boundary_version = 0;
  std::string accept_by;
  std::string handle_by;
  std::string level;
  std::string assignment;  // JSON
  // Workflow state, derived from the events (core/workflow.h Project()).
  int64_t version = 1;            // number of events so far
  int64_t assignee = 0;           // user id; 0: nobody yet
  int64_t rework_count = 0;       // failed verifications (返工)
  std::string evaluation;         // "", "satisfied", "unsatisfied"
  std::string co_offices = "[]";  // JSON [{"code", "reported"}] (吹哨报到)
  bool overdue = false;           // marked by the deadline ticker
  double extension_hours = 0;     // a pending extension request; 0: none
  int64_t duplicate_of = 0;       // rejected as a duplicate of this case
};

struct CaseEvent {
  int64_t case_id = 0;
  int64_t seq = 0;
  int64_t actor = 0;
  std::string at;
  std::string from;
  std::string to;
  std::string note;
  std::string action;          // "report", "accept", ... (core/workflow.h)
  std::string details = "{}";  // JSON: what the action changed
  std::string prev_hash;       // the previous event's hash; "" for the first
  std::string hash;            // core::EventHash(): set by the Store
};

struct CaseFilter {
  std::string status, category, village, cell, branch, office;
  std::string text;  // a substring of the description or address
  std::optional<std::array<double, 4>>
      bbox;                   // min lon, min lat, max lon, max lat
  std::string received_from;  // ISO 8601 local (+08:00), inclusive
  std::string received_to;    // exclusive
  std::string overdue_at;     // non-empty: open cases whose handle_by < it
  // Set: only the cases this reach covers (a user's read scope, see
  // core::ScopeTo, or a set of cells). A case is in reach when any holds:
  // `user` (> 0) reported it or is its assignee; its cell is in `cells`;
  // `office` is its first office, an office its routing names (协办) or
  // one added by escalation (吹哨, co_offices).
  struct Reach {
    int64_t user = 0;
    std::vector<std::string> cells;
    std::string office;
  };
  std::optional<Reach> reach;
  int64_t limit = 50;
  int64_t offset = 0;
};

// What the duplicate search at intake reads of a case (core/duplicates.h).
struct CaseBrief {
  int64_t id = 0;
  std::string number;
  std::string status;
  double lon = 0;
  double lat = 0;
  std::string category;     // ListBriefs only
  std::string received_at;  // ListBriefs only
};

// A photo attached to a case. The bytes live outside the database, by
// content hash (see core/attachments.h); the row holds what was read from
// the upload before its metadata was stripped. `orientation` is the EXIF
// Orientation (1..8, 1 = upright or none), which the stored copy loses.
struct Attachment {
  int64_t id = 0;
  int64_t case_id = 0;
  std::string sha256;  // hex SHA-256 of the stored (stripped) bytes
  std::string mime;    // image/jpeg, image/png, image/webp
  int64_t bytes = 0;   // size of the stored copy
  std::optional<int64_t> width, height;  // pixels, if the header says
  int64_t orientation = 1;
  std::optional<double> lon, lat;  // EXIF GPS, WGS84 degrees; none if absent
  int64_t uploaded_by = 0;         // user id
  std::string uploaded_at;         // ISO 8601 UTC
};

// One patrol of a cell (一周三巡、半月全覆盖: a grid leader walks each cell
// three times a week and every cell is walked within half a month).
struct PatrolRecord {
  int64_t id = 0;
  std::string cell;
  int64_t patroller = 0;   // user id
  std::string started_at;  // ISO 8601, China's offset (FormatLocal)
  std::string ended_at;    // "" when not given
  std::string note;
  std::optional<double> lon, lat;  // where the phone was, if it said
  std::string idempotency_key;
  std::string recorded_at;  // ISO 8601 UTC
};

struct PatrolFilter {
  std::vector<std::string> cells;  // empty: every cell
  int64_t patroller = 0;           // 0: anyone
  std::string from, to;            // started_at in [from, to); "": open
  int64_t limit = 100, offset = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates a new database at `path` with the current schema. Fails with
  // kConflict if the file exists (never overwrites).
  static Result<std::unique_ptr<Store>> Create(const std::string& path);
  // Opens an existing database and applies pending migrations. Fails with
  // kNotFound if there is none, kInvalidArgument if it is not a wangge one.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  // Stores a new boundary version; returns its number.
  virtual Result<int64_t> AddVersion(const VersionInput& input) = 0;
  // All versions, oldest first.
  virtual Result<std::vector<BoundaryVersion>> Versions() = 0;
  // The layers at `version` (newest if nullopt), the polygon layers in
  // `tables`. kNotFound for an unknown version number. With `polygons`
  // false, `tables` stay empty: the version's number, stamp and point
  // layers only (a quick read).
  virtual Result<StoredTown> LoadVersion(std::optional<int64_t> version,
                                         bool polygons) = 0;
  // The same with the polygon layers unpacked into `layers` (`tables`
  // empty).
  Result<StoredTown> LoadLayers(std::optional<int64_t> version);
  // The stored configuration file `name`; kNotFound if absent.
  virtual Result<std::string> ConfigFile(const std::string& name) = 0;

  // Accounts. AddUser fails with kConflict if the username is taken.
  virtual Result<int64_t> AddUser(const User& user) = 0;
  virtual Result<User> FindUser(const std::string& username) = 0;
  virtual Result<User> FindUserById(int64_t id) = 0;
  virtual Result<std::vector<User>> Users() = 0;
  // Updates password_hash, disabled, role, scope of `user.id`.
  virtual Result<void> UpdateUser(const User& user) = 0;
  // Bearer tokens, stored hashed. Times are ISO 8601 UTC strings.
  virtual Result<void> AddToken(const std::string& token_hash, int64_t user,
                                const std::string& expires_at) = 0;
  // kNotFound if unknown or expired at `now`.
  virtual Result<User> UserForToken(const std::string& token_hash,
                                    const std::string& now) = 0;
  virtual Result<void> DeleteToken(const std::string& token_hash) = 0;

  // Cases. InsertCase stores the case and its first event in one durable
  // transaction and returns it with id and number; if the reporter already
  // used the idempotency key, it returns that case instead with `existed`
  // set (the caller compares request_hash).
  struct Inserted {
    CaseRecord record;
    bool existed = false;
    // DataVersion() inside the transaction that stored it: the other
    // connections' writes up to then (0: not read).
    int64_t data_version = 0;
  };
  virtual Result<Inserted> InsertCase(const CaseRecord& record,
                                      const CaseEvent& first) = 0;
  // Group commit: stores many cases in ONE durable transaction, each as
  // InsertCase would (a refused one does not stop the others); one result
  // per case, in order. If the commit fails, every result is that error.
  struct NewCase {
    CaseRecord record;
    CaseEvent first;
  };
  virtual std::vector<Result<Inserted>> InsertCases(
      const std::vector<NewCase>& cases) = 0;
  // Write-ahead log checkpoints. A commit on a connection normally copies
  // the log into the database file once the log passes 1,000 pages, while
  // that commit waits. With AutoCheckpoint(false) this connection never
  // does; Checkpoint() (from another connection, e.g. a background thread)
  // copies what it can without blocking readers or writers.
  virtual Result<void> AutoCheckpoint(bool on) = 0;
  // Pages in the write-ahead log after this connection's last commit, with
  // AutoCheckpoint(false) (0 before its first commit or otherwise).
  virtual int64_t LogPages() const = 0;
  // Lets this connection keep up to `mib` (1-4096) MiB of pages in its own
  // cache; SQLite's default is 2. Returns the size then in force, in MiB.
  virtual Result<int64_t> CacheMiB(int64_t mib) = 0;
  // A number that changes when another connection commits (SQLite's
  // data_version): what this connection has read stays true while it holds.
  virtual Result<int64_t> DataVersion() = 0;
  // Copies what it can of the log into the database file (PASSIVE: no
  // waiting); returns the log's length then, in pages (0 when the copy
  // could not start: another checkpoint runs). SQLite syncs the database
  // file only when the copy reaches the log's end, which under steady
  // writes is the copy before the log starts again: that one sync then has
  // every page copied since the last, tens of megabytes.
  virtual Result<int64_t> Checkpoint() = 0;
  // Flushes the database file to disk (what checkpoints copied into it).
  virtual Result<void> SyncDatabaseFile() = 0;
  virtual Result<CaseRecord> GetCase(int64_t id) = 0;
  virtual Result<std::vector<CaseRecord>> ListCases(const CaseFilter& f) = 0;
  // As ListCases, only the brief of each case (with its category and
  // received_at): a week of a county's cases without their texts.
  virtual Result<std::vector<CaseBrief>> ListBriefs(const CaseFilter& f) = 0;
  // The briefs of the cases with these ids, in their order; ids of no case
  // are left out.
  virtual Result<std::vector<CaseBrief>> Briefs(
      const std::vector<int64_t>& ids) = 0;
  virtual Result<std::vector<CaseEvent>> Events(int64_t case_id) = 0;
  virtual Result<std::map<std::string, int64_t>> CountCasesByStatus() = 0;

  // Workflow. Appends `events` (seq expected_version + 1, ...) and writes
  // the workflow columns of `updated` in one transaction, chaining each
  // event's hash to the one before. kConflict (field "version") when the
  // case has moved on from `expected_version` (another user acted first).
  virtual Result<CaseRecord> AppendEvents(const CaseRecord& updated,
                                          int64_t expected_version,
                                          std::vector<CaseEvent> events) = 0;
  // Every event of every case, by case id then seq (for audit verify).
  virtual Result<std::vector<CaseEvent>> AllEvents() = 0;

  // Attachments. AddAttachment stores the row (the file must already be in
  // place) and returns it with its id; the same sha256 on the same case
  // returns the existing row instead, with `existed` set.
  struct AddedAttachment {
    Attachment attachment;
    bool existed = false;
  };
  virtual Result<AddedAttachment> AddAttachment(const Attachment& a) = 0;
  // The case's attachments, oldest first.
  virtual Result<std::vector<Attachment>> Attachments(int64_t case_id) = 0;
  // kNotFound if there is no attachment `id`.
  virtual Result<Attachment> GetAttachment(int64_t id) = 0;

  // Patrols. AddPatrol stores one and returns it with its id; if the
  // patroller already used the idempotency key, it returns that patrol
  // instead with `existed` set.
  struct AddedPatrol {
    PatrolRecord patrol;
    bool existed = false;
  };
  virtual Result<AddedPatrol> AddPatrol(const PatrolRecord& p) = 0;
  // Newest first.
  virtual Result<std::vector<PatrolRecord>> ListPatrols(
      const PatrolFilter& f) = 0;
  // Each patrolled cell's newest started_at before `before`.
  virtual Result<std::map<std::string, std::string>> LastPatrols(
      const std::string& before) = 0;
};

}  // namespace wangge::core
