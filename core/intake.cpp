#include "core/intake.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/json_out.h"
#include "core/router.h"
#include "core/workflow.h"

namespace wangge::core {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr size_t kMaxDescription = 4000;  // bytes of UTF-8

ordered_json AssignmentObject(const Assignment& a) {
  auto person = [](const std::optional<PersonRef>& p) {
    return p ? ordered_json{{"id", p->id},
                            {"name", p->name},
                            {"phone", p->phone}}
             : ordered_json();
  };
  ordered_json offices = ordered_json::array();
  for (const auto& o : a.offices) {
    offices.push_back(
        {{"code", o.code}, {"name", o.name}, {"role", o.lead ? "lead" : "co"}});
  }
  ordered_json zone_members = ordered_json::array();
  for (const auto& m : a.zone_members) zone_members.push_back(person(m));
  return {{"category_name", a.category_name},
          {"kind", a.kind == CategoryKind::kEvent ? "event" : "component"},
          {"lead", a.lead},
          {"branch", a.branch.empty() ? ordered_json()
                                      : ordered_json{{"code", a.branch},
                                                     {"name", a.branch_name}}},
          {"committee_member", person(a.committee_member)},
          {"grid_leader", person(a.grid_leader)},
          {"offices", offices},
          {"zone_members", zone_members},
          {"reasons", a.reasons},
          {"warnings", a.warnings}};
}

// Writes the case as CaseJson shows it, leaving its object open (the
// intake answer adds `possible_duplicates`).
void WriteCase(JsonOut& w, const CaseRecord& c,
               const std::vector<CaseEvent>* events);

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
  auto text = [&](const char* key, std::string& out,
                  bool required) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) {
        return Fail(ErrorCode::kInvalidArgument,
                    std::string("`") + key + "` is required", key);
      }
      return {};
    }
    if (!it->is_string()) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("`") + key + "` must be text", key);
    }
    out = it->get<std::string>();
    return {};
  };
  auto number = [&](const char* key,
                    std::optional<double>& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_number()) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("`") + key + "` must be a number", key);
    }
    out = it->get<double>();
    return {};
  };
  for (auto [key, out, required] :
       {std::tuple{"category", &r.category, true},
        std::tuple{"description", &r.description, true},
        std::tuple{"address", &r.address, false},
        std::tuple{"reported_at", &r.reported_at, false}}) {
    if (auto ok = text(key, *out, required); !ok) {
      return std::unexpected(ok.error());
    }
  }
  for (auto [key, out] : {std::pair{"lon", &r.lon}, std::pair{"lat", &r.lat},
                          std::pair{"accuracy_m", &r.accuracy_m}}) {
    if (auto ok = number(key, *out); !ok) return std::unexpected(ok.error());
  }
  if (!r.lon || !r.lat) {
    return Fail(ErrorCode::kInvalidArgument,
                "`lon` and `lat` are required: the report's position in WGS84 "
                "degrees",
                r.lon ? "lat" : "lon");
  }
  return r;
}

Result<IntakeResult> SubmitReport(Store& store, const Town& town,
                                  const User& user, const ReportInput& report,
                                  const std::string& key, Time now,
                                  CaseWriter* writer) {
  if (key.empty() || key.size() > 200) {
    return Fail(ErrorCode::kInvalidArgument,
                "send an Idempotency-Key header (1-200 characters, e.g. a "
                "UUID made when the report was written) so a retry never "
                "makes a second case",
                "Idempotency-Key");
  }
  if (report.description.empty() ||
      report.description.size() > kMaxDescription) {
    return Fail(ErrorCode::kInvalidArgument,
                "`description` must say what happened (1-" +
                    std::to_string(kMaxDescription) + " bytes)",
                "description");
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

  // Fingerprint of what the client sent, to tell a retry from a reuse.
  json canonical = {{"category", report.category},
                    {"description", report.description},
                    {"address", report.address},
                    {"lon", *report.lon},
                    {"lat", *report.lat},
                    {"accuracy_m", report.accuracy_m.value_or(-1)},
                    {"reported_at", report.reported_at}};
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
  c.request_hash = Digest(canonical.dump());
  c.cell = assignment->cell;
  c.village = assignment->village;
  c.branch = assignment->branch;
  c.office = assignment->offices.empty() ? "" : assignment->offices[0].code;
  c.outside = assignment->outside;
  c.boundary_version = placed->boundary_version;
  c.accept_by = FormatLocal(assignment->accept_by);
  c.handle_by = FormatLocal(assignment->handle_by);
  c.level = LevelName(assignment->level);
  ordered_json a = AssignmentObject(*assignment);
  if (!placed->inside) {
    a["nearest_cell"] = placed->nearest_cell;
    a["distance_m"] = std::round(placed->distance_m * 10) / 10;
  }
  a["zones"] = placed->zones;
  c.assignment = a.dump();
  CaseEvent first{.actor = user.id,
                  .at = c.received_at,
                  .from = "",
                  .to = "reported",
                  .note = "上报 reported",
                  .action = "report",
                  .details = json{
                      {"accept_by", c.accept_by},
                      {"handle_by", c.handle_by},
                      {"level",
                       c.level}}.dump()};
  // Possible duplicates: searched on the writer's connection when there is
  // one (its page cache survives the commits; see CaseWriter).
  std::vector<PossibleDuplicate> duplicates;
  auto find_duplicates = [&](Store& s, const Store::Inserted& in) {
    if (in.existed) return;
    if (auto d = FindDuplicates(s, town, in.record, now)) {
      duplicates = std::move(*d);
    }
  };
  auto inserted = writer ? writer->Insert(c, first, find_duplicates)
                         : store.InsertCase(c, first);
  if (!inserted) return std::unexpected(inserted.error());
  if (!writer) find_duplicates(store, *inserted);
  if (inserted->existed && inserted->record.request_hash != c.request_hash) {
    return Fail(ErrorCode::kConflict,
                "Idempotency-Key " + key + " was already used for case " +
                    inserted->record.number +
                    " with a different report; use a new key for a new "
                    "report",
                "Idempotency-Key");
  }
  return IntakeResult{std::move(inserted->record), inserted->existed,
                      std::move(duplicates)};
}

std::string IntakeJson(const IntakeResult& in) {
  JsonOut w;
  WriteCase(w, in.record, nullptr);
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
  return AssignmentObject(assignment).dump();
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
               const std::vector<CaseEvent>* events) {
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
  ordered_json assignment = ordered_json::parse(c.assignment, nullptr, false);
  if (!assignment.is_object()) assignment = ordered_json::object();
  w.Key("placement").BeginObject().Key("inside").Bool(!c.outside);
  w.Key("cell").StringOrNull(c.cell).Key("village").StringOrNull(c.village);
  w.Key("zones");
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
