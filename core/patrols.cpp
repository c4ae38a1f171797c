#include "core/patrols.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "core/json_in.h"
#include "core/ledger.h"
#include "core/workflow.h"

namespace wangge::core {
namespace {

using nlohmann::json;

constexpr size_t kMaxNote = 2000;  // bytes of UTF-8
// A paper log entered late, or a phone that queued it offline.
constexpr auto kMaxPatrolAge = std::chrono::days(30);
constexpr auto kMaxPatrolLength = std::chrono::hours(24);
// China's offset, for the local week.
constexpr auto kChina = std::chrono::hours(8);

// `text` as a time for `field`: not in the future (10 minutes' grace for a
// phone's clock) and at most kMaxPatrolAge back.
Result<Time> PatrolTime(const std::string& text, const char* field, Time now) {
  auto t = ParseTime(text);
  if (!t) return Fail(ErrorCode::kInvalidArgument, t.error().message, field);
  if (*t > now + std::chrono::minutes(10)) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + field +
                    "` is in the future; check the phone's clock",
                field);
  }
  if (*t < now - kMaxPatrolAge) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("`") + field +
                    "` is more than 30 days ago; a patrol is recorded within "
                    "30 days",
                field);
  }
  return *t;
}

bool InReach(const std::optional<std::vector<std::string>>& reach,
             const std::string& cell) {
  return !reach ||
         std::find(reach->begin(), reach->end(), cell) != reach->end();
}

}  // namespace

Result<PatrolInput> ParsePatrol(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "the body must be a JSON object like {\"cell\": "
                "\"610522102003007\", \"started_at\": "
                "\"2026-11-30T09:00\", \"ended_at\": \"2026-11-30T10:10\", "
                "\"note\": \"...\"}",
                "body");
  }
  PatrolInput in;
  for (auto [key, out, required] :
       {std::tuple{"cell", &in.cell, true},
        std::tuple{"started_at", &in.started_at, true},
        std::tuple{"ended_at", &in.ended_at, false},
        std::tuple{"note", &in.note, false}}) {
    if (auto ok = ReadText(j, key, *out, required); !ok) {
      return std::unexpected(ok.error());
    }
  }
  for (auto [key, out] :
       {std::pair{"lon", &in.lon}, std::pair{"lat", &in.lat}}) {
    if (auto ok = ReadNumber(j, key, *out); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (bool(in.lon) != bool(in.lat)) {
    return Fail(ErrorCode::kInvalidArgument,
                "give both `lon` and `lat` (WGS84 degrees) or neither",
                in.lon ? "lat" : "lon");
  }
  if (in.lon && !(std::abs(*in.lon) <= 180 && std::abs(*in.lat) <= 90)) {
    return Fail(ErrorCode::kInvalidArgument,
                "`lon` must be -180..180 and `lat` -90..90 (WGS84 degrees)",
                std::abs(*in.lon) <= 180 ? "lat" : "lon");
  }
  return in;
}

std::optional<std::vector<std::string>> PatrolReach(const User& user,
                                                    const Town& town) {
  if (user.role != "grid_leader" && user.role != "branch") return std::nullopt;
  return OwnCells(user, town);
}

Result<RecordedPatrol> RecordPatrol(Store& store, const Town& town,
                                    const User& user, const PatrolInput& in,
                                    const std::string& key, Time now) {
  if (auto ok = CheckIdempotencyKey(key, "the patrol was recorded"); !ok) {
    return std::unexpected(ok.error());
  }
  static const std::vector<std::string> kAnyCell = {"dispatcher", "admin"};
  auto reach = PatrolReach(user, town);
  if (!reach && std::find(kAnyCell.begin(), kAnyCell.end(), user.role) ==
                    kAnyCell.end()) {
    return Fail(ErrorCode::kPermissionDenied,
                "巡查由网格长记录 / patrols are recorded by grid leaders (or "
                "their branch, or the 综治中心 from a paper log), not by a " +
                    user.role + " account");
  }
  auto cell = town.config.cells.find(in.cell);
  if (cell == town.config.cells.end()) {
    return Fail(
        ErrorCode::kInvalidArgument,
        "`cell` " + in.cell +
            " is not a cell of the town; give a cell code, e.g. " +
            (town.config.cells.empty() ? std::string("610522102003007")
                                       : town.config.cells.begin()->first),
        "cell");
  }
  if (!InReach(reach, in.cell)) {
    return Fail(ErrorCode::kPermissionDenied,
                "cell " + in.cell + " (" + cell->second.name +
                    ") is not one of yours; record patrols of the cells you "
                    "lead",
                "cell");
  }
  auto started = PatrolTime(in.started_at, "started_at", now);
  if (!started) return std::unexpected(started.error());
  PatrolRecord p{.cell = in.cell,
                 .patroller = user.id,
                 .started_at = FormatLocal(*started),
                 .note = in.note,
                 .lon = in.lon,
                 .lat = in.lat,
                 .idempotency_key = key,
                 .recorded_at = FormatUtc(now)};
  if (!in.ended_at.empty()) {
    auto ended = PatrolTime(in.ended_at, "ended_at", now);
    if (!ended) return std::unexpected(ended.error());
    if (*ended < *started || *ended > *started + kMaxPatrolLength) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`ended_at` must be after `started_at` and within 24 hours "
                  "of it",
                  "ended_at");
    }
    p.ended_at = FormatLocal(*ended);
  }
  if (p.note.size() > kMaxNote || !IsPrintableText(p.note)) {
    return Fail(ErrorCode::kInvalidArgument,
                "`note` must be plain text of at most " +
                    std::to_string(kMaxNote) +
                    " bytes (tabs and line breaks are fine)",
                "note");
  }
  auto added = store.AddPatrol(p);
  if (!added) return std::unexpected(added.error());
  const PatrolRecord& stored = added->patrol;
  if (added->existed &&
      (stored.cell != p.cell || stored.started_at != p.started_at ||
       stored.ended_at != p.ended_at || stored.note != p.note)) {
    return Fail(ErrorCode::kConflict,
                "Idempotency-Key " + key + " was already used for patrol " +
                    std::to_string(stored.id) +
                    " with a different patrol; use a new key for a new patrol",
                "Idempotency-Key");
  }
  return RecordedPatrol{stored, added->existed};
}

std::string PatrolsCsv(const std::vector<PatrolRecord>& patrols,
                       const TownConfig& config,
                       const std::map<int64_t, std::string>& names) {
  std::string out =
      "\xEF\xBB\xBF网格编码,网格,村/社区,巡查人,开始,结束,备注,经度,纬度,"
      "记录时间\r\n";
  for (const PatrolRecord& p : patrols) {
    auto cell = config.cells.find(p.cell);
    std::string cell_name, village;
    if (cell != config.cells.end()) {
      cell_name = cell->second.name;
      auto v = config.villages.find(cell->second.village);
      village = v == config.villages.end() ? cell->second.village : v->second;
    }
    auto name = names.find(p.patroller);
    std::string lon, lat;
    if (p.lon && p.lat) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6f", *p.lon);
      lon = buf;
      std::snprintf(buf, sizeof buf, "%.6f", *p.lat);
      lat = buf;
    }
    // Coordinates are numbers (a negative one is no formula).
    for (const std::string& field :
         {CsvField(p.cell), CsvField(cell_name), CsvField(village),
          CsvField(name == names.end() ? "" : name->second),
          CsvField(p.started_at), CsvField(p.ended_at), CsvField(p.note), lon,
          lat}) {
      out += field + ",";
    }
    out += CsvField(p.recorded_at) + "\r\n";
  }
  return out;
}

Result<Coverage> PatrolCoverage(
    Store& store, const Town& town,
    const std::optional<std::vector<std::string>>& reach, Time at) {
  using std::chrono::days;
  auto local_day = std::chrono::floor<days>(at + kChina);
  std::chrono::weekday wd(local_day);
  auto monday = local_day - days(wd.iso_encoding() - 1);
  Coverage out;
  out.week_from = FormatLocal(Time(monday) - kChina);
  out.week_to = FormatLocal(Time(monday + days(7)) - kChina);
  out.window_from = FormatLocal(at - days(kCoverageDays));
  std::map<std::string, CellCoverage> cells;
  for (const auto& [code, cell] : town.config.cells) {
    if (!InReach(reach, code)) continue;
    cells[code] = {.cell = code,
                   .name = cell.name,
                   .village = cell.village,
                   .leader = cell.leader};
  }
  if (!cells.empty()) {
    PatrolFilter f;
    if (reach) f.cells = *reach;
    f.from = std::min(out.week_from, out.window_from);
    f.to = FormatLocal(at + std::chrono::minutes(10));  // a clock's grace
    f.limit = 1000;
    for (;; f.offset += f.limit) {
      auto page = store.ListPatrols(f);
      if (!page) return std::unexpected(page.error());
      for (const PatrolRecord& p : *page) {
        auto it = cells.find(p.cell);
        if (it == cells.end()) continue;  // a cell of an older version
        CellCoverage& c = it->second;
        if (p.started_at >= out.week_from) ++c.this_week;
        if (p.started_at >= out.window_from) c.covered = true;
        c.last_patrol = std::max(c.last_patrol, p.started_at);
      }
      if (page->size() < size_t(f.limit)) break;
    }
    // Cells not patrolled within the window: when they last were.
    auto last = store.LastPatrols(f.to);
    if (!last) return std::unexpected(last.error());
    for (auto& [code, c] : cells) {
      auto it = last->find(code);
      if (c.last_patrol.empty() && it != last->end()) {
        c.last_patrol = it->second;
      }
    }
  }
  for (auto& [code, c] : cells) {
    out.weeks_met += c.this_week >= kPatrolsPerWeek;
    out.covered += c.covered;
    out.cells.push_back(std::move(c));
  }
  return out;
}

}  // namespace wangge::core
