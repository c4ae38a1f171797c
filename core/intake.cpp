#include "core/intake.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "core/accounts.h"
#include "core/json_in.h"
#include "core/json_out.h"
#include "core/router.h"
#include "core/workflow.h"

namespace wangge::core {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr size_t kMaxDescription = 4000;  // bytes of UTF-8
constexpr size_t kMaxAddress = 500;       // bytes of UTF-8
// How long a phone may have kept a report unsent (its reported_at).
constexpr auto kMaxReportAge = std::chrono::days(30);

// The assignment's members, inside an open object: what a case keeps of
// its routing (with the placement's zones, and nearest cell when outside)
// and shows under "assignment".
void WriteAssignmentMembers(JsonOut& w, const Assignment& a) {
  auto person = [&](const PersonRef& p) {
    w.BeginObject().Key("id").String(p.id).Key("name").String(p.name);
    w.Key("phone").String(p.phone).EndObject();
  };
  auto maybe_person = [&](const char* key, const std::optional<PersonRef>& p) {
    w.Key(key);
    if (p) {
      person(*p);
    } else {
      w.Null();
    }
  };
  w.Key("category_name").String(a.category_name);
  w.Key("kind").String(a.kind == CategoryKind::kEvent ? "event" : "component");
  w.Key("lead").String(a.lead).Key("branch");
  if (a.branch.empty()) {
    w.Null();
  } else {
    w.BeginObject().Key("code").String(a.branch);
    w.Key("name").String(a.branch_name).EndObject();
  }
  maybe_person("committee_member", a.committee_member);
  maybe_person("grid_leader", a.grid_leader);
  w.Key("offices").BeginArray();
  for (const auto& o : a.offices) {
    w.BeginObject().Key("code").String(o.code).Key("name").String(o.name);
    w.Key("role").String(o.lead ? "lead" : "co").EndObject();
  }
  w.EndArray().Key("zone_members").BeginArray();
  for (const auto& m : a.zone_members) person(m);
  w.EndArray();
  for (auto [key, list] :
       {std::pair{"reasons", &a.reasons}, std::pair{"warnings", &a.warnings}}) {
    w.Key(key).BeginArray();
    for (const auto& text : *list) w.String(text);
    w.EndArray();
  }
}

double RoundedDistance(const spatial::Placement& p) {
  return std::round(p.distance_m * 10) / 10;
}

// Writes the case as CaseJson shows it, leaving its object open (the
// intake answer adds `possible_duplicates`). With `routed` (the routing the
// case was just stored with), its assignment is written from that instead
// of being parsed back from the case.
void WriteCase(JsonOut& w, const CaseRecord& c,
               const std::vector<CaseEvent>* events,
               const IntakeResult::Routed* routed = nullptr);

}  // namespace

Result<ReportInput> ParseReport(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "the body must be a JSON object like {\"category\": "
                "\"04001\", \"description\": \"...\", \"lon\": 110.24, "
                "\"lat\": 34.51}",
                "body");
  }
  ReportInput r;
  for (auto [key, out, required] :
       {std::tuple{"category", &r.category, true},
        std::tuple{"description", &r.description, true},
        std::tuple{"address", &r.address, false},
        std::tuple{"reported_at", &r.reported_at, false}}) {
    if (auto ok = ReadText(j, key, *out, required); !ok) {
      return std::unexpected(ok.error());
    }
  }
  for (auto [key, out] : {std::pair{"lon", &r.lon}, std::pair{"lat", &r.lat},
                          std::pair{"accuracy_m", &r.accuracy_m}}) {
    if (auto ok = ReadNumber(j, key, *out); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (!r.lon || !r.lat) {
    return Fail(ErrorCode::kInvalidArgument,
                "`lon` and `lat` are required: the report's position in WGS84 "
                "degrees",
                r.lon ? "lat" : "lon");
  }
  return r;
}

std::string RequestHash(const ReportInput& r) {
  double lon = r.lon.value_or(0), lat = r.lat.value_or(0);
  double accuracy = r.accuracy_m.value_or(-1);
  // JsonOut writes the same text without building a tree when it can: the
  // strings UTF-8 (dump() would throw otherwise) and the numbers finite,
  // written by nlohmann's own number formatting.
  if (IsUtf8(r.category) && IsUtf8(r.description) && IsUtf8(r.address) &&
      IsUtf8(r.reported_at) && std::isfinite(lon) && std::isfinite(lat) &&
      std::isfinite(accuracy)) {
    auto number = [buf = std::array<char, 64>()](double v) mutable {
      char* end =
          nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), v);
      return std::string_view(buf.data(), size_t(end - buf.data()));
    };
    JsonOut w;
    w.BeginObject().Key("accuracy_m").Raw(number(accuracy));
    w.Key("address").String(r.address).Key("category").String(r.category);
    w.Key("description").String(r.description);
    w.Key("lat").Raw(number(lat)).Key("lon").Raw(number(lon));
    w.Key("reported_at").String(r.reported_at).EndObject();
    return Digest(std::move(w).Take());
  }
  json canonical = {{"category", r.category},
                    {"description", r.description},
                    {"address", r.address},
                    {"lon", lon},
                    {"lat", lat},
                    {"accuracy_m", accuracy},
                    {"reported_at", r.reported_at}};
  return Digest(canonical.dump());
}

Result<IntakeResult> SubmitReport(Store& store, const Town& town,
                                  const User& user, const ReportInput& report,
                                  const std::string& key, Time now,
                                  CaseWriter* writer) {
  if (auto ok = CheckIdempotencyKey(key, "the report was written"); !ok) {
    return std::unexpected(ok.error());
  }
  if (report.description.empty() ||
      report.description.size() > kMaxDescription) {
    return Fail(ErrorCode::kInvalidArgument,
                "`description` must say what happened (1-" +
                    std::to_string(kMaxDescription) + " bytes)",
                "description");
  }
  if (report.address.size() > kMaxAddress) {
    return Fail(ErrorCode::kInvalidArgument,
                "`address` is " + std::to_string(report.address.size()) +
                    " bytes; at most " + std::to_string(kMaxAddress) +
                    " (what happened goes in `description`)",
                "address");
  }
  for (auto [key, text] : {std::pair{"description", &report.description},
                           std::pair{"address", &report.address}}) {
    if (!IsPrintableText(*text)) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("`") + key +
                      "` holds a control character (or U+FFFE/U+FFFF); "
                      "send plain text — tabs and line breaks are fine",
                  key);
    }
  }
  if (report.accuracy_m && !(*report.accuracy_m >= 0)) {
    return Fail(ErrorCode::kInvalidArgument,
                "`accuracy_m` must be a distance in metres >= 0", "accuracy_m");
  }
  Time reported = now;
  if (!report.reported_at.empty()) {
    auto t = ParseTime(report.reported_at);
    if (!t) {
      return Fail(ErrorCode::kInvalidArgument, t.error().message,
                  "reported_at");
    }
    if (*t > now + std::chrono::minutes(10)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`reported_at` is in the future; check the phone's clock",
                  "reported_at");
    }
    // Deadlines run from the report: a clock reset to 1970 would make the
    // case overdue and escalated at once.
    if (*t < now - kMaxReportAge) {
      return Fail(ErrorCode::kInvalidArgument,
                  "`reported_at` is more than 30 days ago; check the phone's "
                  "clock (a report older than that is entered with today's "
                  "time, its date in the description)",
                  "reported_at");
    }
    reported = *t;
  }
  auto placed = town.locator->Locate({*report.lon, *report.lat});
  if (!placed) return std::unexpected(placed.error());
  auto assignment = Route(*placed, report.category, reported, town.config);
  if (!assignment) {
    // An unknown category is a mistake in the request, not a missing page.
    Error e = assignment.error();
    if (e.code == ErrorCode::kNotFound) e.code = ErrorCode::kInvalidArgument;
    return std::unexpected(e);
  }

  CaseRecord c;
  c.status = "reported";
  c.category = report.category;
  c.description = report.description;
  c.address = report.address;
  c.lon = *report.lon;
  c.lat = *report.lat;
  c.accuracy_m = report.accuracy_m.value_or(-1);
  c.reported_at = FormatLocal(reported);
  c.received_at = FormatLocal(now);
  c.reporter = user.id;
  c.idempotency_key = key;
  c.request_hash = RequestHash(report);
  c.cell = assignment->cell;
  c.village = assignment->village;
  c.branch = assignment->branch;
  c.office = assignment->offices.empty() ? "" : assignment->offices[0].code;
  c.outside = assignment->outside;
  c.boundary_version = placed->boundary_version;
  c.accept_by = FormatLocal(assignment->accept_by);
  c.handle_by = FormatLocal(assignment->handle_by);
  c.level = LevelName(assignment->level);
  {
    JsonOut w;
    w.BeginObject();
    WriteAssignmentMembers(w, *assignment);
    if (!placed->inside) {
      w.Key("nearest_cell").String(placed->nearest_cell);
      w.Key("distance_m").Double(RoundedDistance(*placed));
    }
    w.Key("zones").BeginArray();
    for (const auto& zone : placed->zones) w.String(zone);
    w.EndArray().EndObject();
    c.assignment = std::move(w).Take();
  }
  JsonOut details;
  details.BeginObject().Key("accept_by").String(c.accept_by);
  details.Key("handle_by").String(c.handle_by).Key("level").String(c.level);
  details.EndObject();
  CaseEvent first{.actor = user.id,
                  .at = c.received_at,
                  .from = "",
                  .to = "reported",
                  .note = "上报 reported",
                  .action = "report",
                  .details = std::move(details).Take()};
  // Possible duplicates: with a writer, searched on its thread among the
  // recent cases it keeps (and its connection's page cache, which survives
  // the commits); without, among the recent cases read now.
  std::vector<PossibleDuplicate> duplicates;
  auto find_duplicates = [&](Store& s, RecentCases& recent,
                             const Store::Inserted& in) {
    if (in.existed) return;
    if (auto d = FindDuplicates(s, town, recent, in.record, now)) {
      duplicates = std::move(*d);
    }
  };
  auto inserted = writer ? writer->Insert(c, first, find_duplicates)
                         : store.InsertCase(c, first);
  if (!inserted) return std::unexpected(inserted.error());
  if (!writer) {
    RecentCases recent;
    if (recent.Load(store, now - kDuplicateWindow)) {
      find_duplicates(store, recent, *inserted);
    }
  }
  if (inserted->existed && inserted->record.request_hash != c.request_hash) {
    return Fail(ErrorCode::kConflict,
                "Idempotency-Key " + key + " was already used for case " +
                    inserted->record.number +
                    " with a different report; use a new key for a new "
                    "report",
                "Idempotency-Key");
  }
  IntakeResult out{std::move(inserted->record), inserted->existed,
                   std::move(duplicates)};
  if (!out.existed) {
    out.routed =
        IntakeResult::Routed{std::move(*assignment), std::move(*placed)};
  }
  return out;
}

std::string IntakeJson(const IntakeResult& in) {
  JsonOut w;
  WriteCase(w, in.record, nullptr, in.routed ? &*in.routed : nullptr);
  w.Key("possible_duplicates").BeginArray();
  for (const auto& d : in.possible_duplicates) {
    w.BeginObject().Key("id").Int(d.id).Key("number").String(d.number);
    w.Key("distance_m").Double(d.distance_m).Key("status").String(d.status);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return std::move(w).Take();
}

std::string AssignmentJson(const Assignment& assignment) {
  JsonOut w;
  w.BeginObject();
  WriteAssignmentMembers(w, assignment);
  w.EndObject();
  return std::move(w).Take();
}

std::string CaseJson(const CaseRecord& c,
                     const std::vector<CaseEvent>* events) {
  JsonOut w;
  WriteCase(w, c, events);
  w.EndObject();
  return std::move(w).Take();
}

namespace {

void Write(JsonOut& w, const ordered_json& v) {
  switch (v.type()) {
    case ordered_json::value_t::object:
      w.BeginObject();
      for (const auto& [key, item] : v.items()) {
        w.Key(key);
        Write(w, item);
      }
      w.EndObject();
      return;
    case ordered_json::value_t::array:
      w.BeginArray();
      for (const auto& item : v) Write(w, item);
      w.EndArray();
      return;
    case ordered_json::value_t::string:
      w.String(v.get_ref<const std::string&>());
      return;
    case ordered_json::value_t::boolean:
      w.Bool(v.get<bool>());
      return;
    case ordered_json::value_t::number_integer:
      w.Int(v.get<int64_t>());
      return;
    case ordered_json::value_t::number_unsigned:
      w.UInt(v.get<uint64_t>());
      return;
    case ordered_json::value_t::number_float:
      w.Double(v.get<double>());
      return;
    default:
      w.Null();
  }
}

// Writes `text` if it is a JSON value of the given kind, else `fallback`.
void WriteParsed(JsonOut& w, const std::string& text, bool object,
                 const char* fallback) {
  if (text == fallback) {
    w.Raw(text);
    return;
  }
  ordered_json v = ordered_json::parse(text, nullptr, false);
  bool ok = object ? v.is_object() : !v.is_discarded();
  if (ok) {
    Write(w, v);
  } else {
    w.Raw(fallback);
  }
}

void WriteCase(JsonOut& w, const CaseRecord& c,
               const std::vector<CaseEvent>* events,
               const IntakeResult::Routed* routed) {
  w.BeginObject();
  w.Key("id").Int(c.id).Key("number").String(c.number);
  w.Key("status").String(c.status).Key("category").String(c.category);
  w.Key("description").String(c.description);
  w.Key("address").String(c.address);
  w.Key("lon").Double(c.lon).Key("lat").Double(c.lat).Key("accuracy_m");
  if (c.accuracy_m < 0) {
    w.Null();
  } else {
    w.Double(c.accuracy_m);
  }
  w.Key("reported_at").String(c.reported_at);
  w.Key("received_at").String(c.received_at);
  w.Key("reporter").Int(c.reporter);
  w.Key("placement").BeginObject().Key("inside").Bool(!c.outside);
  w.Key("cell").StringOrNull(c.cell).Key("village").StringOrNull(c.village);
  w.Key("zones");
  if (routed) {
    const spatial::Placement& p = routed->placement;
    w.BeginArray();
    for (const auto& zone : p.zones) w.String(zone);
    w.EndArray().Key("boundary_version").Int(c.boundary_version);
    if (c.outside) {
      w.Key("nearest_cell").String(p.nearest_cell);
      w.Key("distance_m").Double(RoundedDistance(p));
    }
    w.EndObject().Key("assignment").BeginObject();
    WriteAssignmentMembers(w, routed->assignment);
  } else {
    ordered_json assignment = ordered_json::parse(c.assignment, nullptr, false);
    if (!assignment.is_object()) assignment = ordered_json::object();
    if (auto it = assignment.find("zones"); it != assignment.end()) {
      Write(w, *it);
    } else {
      w.BeginArray().EndArray();
    }
    w.Key("boundary_version").Int(c.boundary_version);
    if (c.outside) {
      w.Key("nearest_cell").String(assignment.value("nearest_cell", ""));
      w.Key("distance_m").Double(assignment.value("distance_m", 0.0));
    }
    w.EndObject();
    w.Key("assignment").BeginObject();
    for (const auto& [key, value] : assignment.items()) {
      if (key == "zones" || key == "nearest_cell" || key == "distance_m" ||
          key == "accept_by" || key == "handle_by" || key == "level") {
        continue;
      }
      w.Key(key);
      Write(w, value);
    }
  }
  w.Key("accept_by").String(c.accept_by).Key("handle_by").String(c.handle_by);
  w.Key("level").String(c.level).EndObject();
  w.Key("version").Int(c.version).Key("assignee");
  if (c.assignee) {
    w.BeginObject().Key("id").Int(c.assignee).EndObject();
  } else {
    w.Null();
  }
  w.Key("level").String(c.level).Key("rework_count").Int(c.rework_count);
  w.Key("evaluation").StringOrNull(c.evaluation);
  w.Key("overdue").Bool(c.overdue).Key("co_offices");
  WriteParsed(w, c.co_offices, false, "[]");
  w.Key("extension_hours").Double(c.extension_hours).Key("duplicate_of");
  if (c.duplicate_of) {
    w.Int(c.duplicate_of);
  } else {
    w.Null();
  }
  if (events) {
    w.Key("events").BeginArray();
    for (const auto& e : *events) {
      w.BeginObject().Key("seq").Int(e.seq).Key("actor").Int(e.actor);
      w.Key("at").String(e.at).Key("from").StringOrNull(e.from);
      w.Key("to").String(e.to).Key("note").String(e.note);
      w.Key("action").String(e.action).Key("details");
      WriteParsed(w, e.details, true, "{}");
      w.Key("hash").String(e.hash).EndObject();
    }
    w.EndArray();
  }
}

}  // namespace

}  // namespace wangge::core
